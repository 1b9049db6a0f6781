// Staff console: canned replies fill the reply box, a report's ready texts its message box, and the transcript
// follows new messages live through server-sent events (the stream ends now and then; the browser reconnects
// where it left off).
(function () {
  "use strict";

  document.querySelectorAll("[data-canned-text]").forEach(function (button) {
    button.addEventListener("click", function () {
      var box = document.getElementById("reply-box");
      if (!box) return;
      box.value = button.getAttribute("data-canned-text");
      box.focus();
    });
  });

  // A report's status form: choosing another status puts its ready text in the message box, unless staff
  // already changed the text that was there.
  document.querySelectorAll("select[data-canned-target]").forEach(function (select) {
    var box = document.getElementById(select.getAttribute("data-canned-target"));
    if (!box) return;
    var shown = select.options[select.selectedIndex].getAttribute("data-canned") || "";
    select.addEventListener("change", function () {
      var ready = select.options[select.selectedIndex].getAttribute("data-canned") || "";
      if (box.value.trim() === "" || box.value === shown) box.value = ready;
      shown = ready;
    });
  });

  var transcript = document.getElementById("transcript");
  if (!transcript || !window.EventSource) return;

  function messageItem(message) {
    var item = document.createElement("li");
    item.className = "msg msg-" + message.direction;
    item.setAttribute("data-testid", "transcript-message");
    item.setAttribute("data-message-id", message.id);
    item.setAttribute("data-direction", message.direction);
    var meta = document.createElement("div");
    meta.className = "meta";
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = message.who;
    var time = document.createElement("time");
    time.textContent = message.time;
    meta.append(who, " ", time);
    var text = document.createElement("div");
    text.className = "text";
    text.textContent = message.text;
    item.append(meta, text);
    if (message.buttons && message.buttons.length) {
      var buttons = document.createElement("div");
      buttons.className = "buttons";
      message.buttons.forEach(function (title) {
        var chip = document.createElement("span");
        chip.className = "chip";
        chip.textContent = title;
        buttons.append(chip);
      });
      item.append(buttons);
    }
    return item;
  }

  var url = transcript.getAttribute("data-events-url") + "?after=" + (transcript.getAttribute("data-last-id") || "0");
  var source = new EventSource(url);
  source.addEventListener("message", function (event) {
    var message = JSON.parse(event.data);
    if (transcript.querySelector('[data-message-id="' + message.id + '"]')) return;
    var item = messageItem(message);
    transcript.append(item);
    transcript.setAttribute("data-last-id", message.id);
    item.scrollIntoView({ block: "end" });
  });

  var status = document.getElementById("handoff-status");
  source.addEventListener("handoff", function (event) {
    var state = JSON.parse(event.data);
    if (!status || (state.status || "") === status.getAttribute("data-status")) return;
    status.textContent = state.label;
    status.setAttribute("data-status", state.status || "");
    var changed = document.getElementById("status-changed");
    if (changed) changed.classList.remove("hidden");
  });
})();
