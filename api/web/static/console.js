// Staff console: canned replies fill the reply box (buttons, or "/" in the box), a report's ready texts its message
// box, the queue updates itself, and the transcript opens at its newest message and follows new ones live through
// server-sent events (the stream ends now and then; the browser reconnects where it left off).
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

  // Typing "/" at the start of the reply box lists the canned replies; the words after it narrow the list, and
  // choosing one (click, or arrows and Enter) puts its text in the box.
  var replyBox = document.getElementById("reply-box");
  var menu = document.getElementById("canned-menu");
  if (replyBox && menu && menu.children.length) {
    var active = -1;
    var shown = function () {
      return Array.prototype.filter.call(menu.children, function (option) { return !option.hidden; });
    };
    var highlight = function (index) {
      var options = shown();
      active = options.length ? (index + options.length) % options.length : -1;
      options.forEach(function (option, i) { option.setAttribute("aria-selected", i === active ? "true" : "false"); });
      if (active >= 0) replyBox.setAttribute("aria-activedescendant", options[active].id);
    };
    var closeMenu = function () {
      menu.hidden = true;
      active = -1;
      replyBox.removeAttribute("aria-activedescendant");
    };
    var choose = function (option) {
      replyBox.value = option.getAttribute("data-canned-text");
      closeMenu();
      replyBox.focus();
    };
    replyBox.addEventListener("input", function () {
      var value = replyBox.value;
      if (value.charAt(0) !== "/" || value.indexOf("\n") >= 0) return closeMenu();
      var words = value.slice(1).trim().toLowerCase();
      Array.prototype.forEach.call(menu.children, function (option) {
        var title = option.getAttribute("data-canned-title").toLowerCase();
        var text = option.getAttribute("data-canned-text").toLowerCase();
        option.hidden = words !== "" && title.indexOf(words) < 0 && text.indexOf(words) < 0;
      });
      menu.hidden = shown().length === 0;
      highlight(0);
    });
    replyBox.addEventListener("keydown", function (event) {
      if (menu.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(shown()[active]);
      } else if (event.key === "Escape") {
        closeMenu();
      }
    });
    Array.prototype.forEach.call(menu.children, function (option) {
      // mousedown, not click: the box keeps its focus, and the menu is not closed by the blur first.
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
        choose(option);
      });
    });
  }

  // The queue redraws itself from a small JSON answer every few seconds: the waiting count goes into the tab's
  // title, and a new request can ring if the staff member asked for a sound.
  var live = document.getElementById("queue-live");
  if (live) {
    var baseTitle = document.title;
    var newest = null;
    var drawn = null;
    var sound = document.getElementById("queue-sound");
    if (sound) {
      sound.checked = window.localStorage && localStorage.getItem("queue-sound") === "on";
      sound.addEventListener("change", function () {
        if (window.localStorage) localStorage.setItem("queue-sound", sound.checked ? "on" : "off");
      });
    }
    var ring = function () {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context || !sound || !sound.checked) return;
      var audio = new Context();
      var tone = audio.createOscillator();
      var volume = audio.createGain();
      tone.frequency.value = 880;
      volume.gain.value = 0.1;
      tone.connect(volume);
      volume.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
    };
    var badge = function (waiting) {
      document.title = (waiting > 0 ? "(" + waiting + ") " : "") + baseTitle;
    };
    var updated = document.getElementById("queue-updated");
    var refresh = function () {
      fetch(live.getAttribute("data-live-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          // Signed out meanwhile: the answer is the sign-in page; reloading shows it.
          if (response.redirected || !response.ok) {
            if (response.redirected) window.location.reload();
            return null;
          }
          return response.json();
        })
        .then(function (state) {
          if (!state) return;
          badge(state.waiting);
          if (newest !== null && state.newest > newest) ring();
          newest = state.newest;
          // Leave the tables alone while someone types in or clicks inside them.
          if (!live.contains(document.activeElement) && state.html !== drawn) {
            live.innerHTML = state.html;
            drawn = state.html;
          }
          if (updated) updated.textContent = "마지막 확인 " + new Date().toLocaleTimeString("ko-KR");
        })
        .catch(function () {
          if (updated) updated.textContent = "서버에 연결하지 못했어요. 잠시 뒤 다시 확인해요.";
        });
    };
    badge(live.querySelectorAll('[data-testid="queue-row"]').length);
    refresh();
    window.setInterval(refresh, Number(live.getAttribute("data-poll-ms")) || 4000);
  }

  var transcript = document.getElementById("transcript");
  // The conversation opens at its newest message.
  if (transcript) {
    transcript.scrollTop = transcript.scrollHeight;
    if (!window.location.hash && transcript.lastElementChild) transcript.lastElementChild.scrollIntoView({ block: "nearest" });
  }
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
