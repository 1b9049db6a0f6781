// Web chat: shows the transcript, sends text and button presses. Who the citizen is lives in an HttpOnly cookie
// the gateway sets; this script never sees it.
(() => {
  "use strict";
  const list = document.getElementById("messages");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const typing = document.getElementById("typing");
  const language = (navigator.language || "ko").toLowerCase().startsWith("ko") ? "ko" : "en";
  // A message's id makes a retry of it count once; getRandomValues works without https too, unlike randomUUID.
  const newMessageId = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  // Earlier versions kept the id, readable by any script, here.
  localStorage.removeItem("paju-chat-user");

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

  // The gateway said no for a reason the citizen should read (too many messages, a message too long).
  class Refusal extends Error {}

  // A send that failed (the connection dropped, the service restarted or was busy with it) is sent again with the
  // same message id: the gateway answers each message once, so a retry never gets a second answer.
  const RETRIES = 6;
  async function post(body, attempt) {
    let response;
    try {
      response = await fetch("/web/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (offline) {
      response = null;
    }
    if ((response === null || response.status === 503) && attempt < RETRIES) {
      await new Promise((resolve) => setTimeout(resolve, 1000 * Math.min(2 ** attempt, 15)));
      return post(body, attempt + 1);
    }
    if (response === null) throw new Error("offline");
    if (response.status === 429 || response.status === 413) {
      const refusal = await response.json().catch(() => ({}));
      throw new Refusal(typeof refusal.detail === "string" ? refusal.detail : "");
    }
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }

  async function deliver({ text, payload }) {
    bubble("in", text);
    const body = { message_id: newMessageId(), text, payload: payload || null, language };
    typing.hidden = false;
    send.disabled = true;
    try {
      const answer = await post(body, 0);
      answer.replies.forEach((reply) => showReply(reply, true));
    } catch (error) {
      bubble("error", error instanceof Refusal && error.message ? error.message : language === "ko"
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
  // The id of the newest message shown from the history or a poll: the gateway hands over again what came after
  // it, so a poll whose answer was lost (a gateway that died on the way) is answered at the next one. Null until the
  // history or a poll gave one: then only what is waiting.
  let after = null;
  async function pollUpdates() {
    if (!document.hidden) {
      try {
        const response = await fetch(after === null ? "/web/updates" : `/web/updates?after=${after}`);
        const items = response.ok ? await response.json() : [];
        items.forEach((m) => {
          after = Math.max(after ?? 0, m.id);
          if (shown.has(m.id)) return;
          shown.add(m.id);
          showReply(m, true);
        });
      } catch (error) {
        // Offline for a moment: the messages wait in the outbox until the next poll.
      }
    }
    setTimeout(pollUpdates, 3000);
  }

  fetch("/web/history")
    .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
    .then((items) => {
      items.forEach((m) => {
        shown.add(m.id);
        if (m.direction === "in") bubble("in", m.text);
        else showReply(m, false);
      });
      after = Math.max(0, ...items.map((m) => m.id));
    })
    .catch(() => {})
    .finally(pollUpdates);
})();
