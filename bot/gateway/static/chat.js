// Web chat: keeps a browser-local user id, shows the transcript, sends text and button presses.
(() => {
  "use strict";
  const list = document.getElementById("messages");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const typing = document.getElementById("typing");
  const language = (navigator.language || "ko").toLowerCase().startsWith("ko") ? "ko" : "en";
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`);

  let userId = localStorage.getItem("paju-chat-user");
  if (!userId) {
    userId = newId();
    localStorage.setItem("paju-chat-user", userId);
  }

  function bubble(direction, text) {
    const item = document.createElement("li");
    item.className = `bubble ${direction}`;
    if (text) item.textContent = text;
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
    return item;
  }

  function showReply(reply, active) {
    const item = bubble("out", reply.text || "");
    if (reply.image) {
      const image = document.createElement("img");
      image.src = reply.image;
      image.alt = "";
      item.appendChild(image);
    }
    if (reply.buttons && reply.buttons.length) {
      const row = document.createElement("div");
      row.className = "choices";
      for (const button of reply.buttons) {
        const choice = document.createElement("button");
        choice.type = "button";
        choice.className = "choice";
        choice.textContent = button.title;
        choice.disabled = !active;
        choice.addEventListener("click", () => {
          row.querySelectorAll("button").forEach((b) => (b.disabled = true));
          deliver({ text: button.title, payload: button.payload });
        });
        row.appendChild(choice);
      }
      item.appendChild(row);
    }
  }

  async function post(body, attempt) {
    const response = await fetch("/web/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.status === 503 && attempt < 3) {
      await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** attempt));
      return post(body, attempt + 1);
    }
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }

  async function deliver({ text, payload }) {
    bubble("in", text);
    const body = { user_id: userId, message_id: newId(), text, payload: payload || null, language };
    typing.hidden = false;
    send.disabled = true;
    try {
      const answer = await post(body, 0);
      answer.replies.forEach((reply) => showReply(reply, true));
    } catch (error) {
      bubble("error", language === "ko"
        ? "메시지를 보내지 못했어요. 잠시 후 다시 시도해 주세요."
        : "Your message could not be sent. Please try again shortly.");
    } finally {
      typing.hidden = true;
      send.disabled = false;
      input.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    deliver({ text });
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // Messages the city sends outside a reply (a staff member's answer, a reminder) arrive by polling.
  const shown = new Set();
  async function pollUpdates() {
    if (!document.hidden) {
      try {
        const response = await fetch(`/web/updates?user_id=${encodeURIComponent(userId)}`);
        const items = response.ok ? await response.json() : [];
        items.filter((m) => !shown.has(m.id)).forEach((m) => {
          shown.add(m.id);
          showReply(m, true);
        });
      } catch (error) {
        // Offline for a moment: the messages wait in the outbox until the next poll.
      }
    }
    setTimeout(pollUpdates, 3000);
  }

  fetch(`/web/history?user_id=${encodeURIComponent(userId)}`)
    .then((response) => (response.ok ? response.json() : []))
    .then((items) => items.forEach((m) => {
      shown.add(m.id);
      if (m.direction === "in") bubble("in", m.text);
      else showReply(m, false);
    }))
    .catch(() => {})
    .finally(pollUpdates);
})();
