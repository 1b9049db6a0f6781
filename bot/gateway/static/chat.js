// Web chat: shows the transcript, sends text, button presses, photos and the citizen's location. Who the citizen is
// lives in an HttpOnly cookie the gateway sets; this script never sees it.
(() => {
  "use strict";
  const chat = document.querySelector("main.chat");
  const list = document.getElementById("messages");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const photoButton = document.getElementById("photo");
  const photoFile = document.getElementById("photo-file");
  const locateButton = document.getElementById("locate");
  const typing = document.getElementById("typing");
  const language = (navigator.language || "ko").toLowerCase().startsWith("ko") ? "ko" : "en";
  // The gateway writes its limit into the page; a larger photo is refused here, before it is uploaded.
  const photoMaxBytes = Number(chat.dataset.photoMaxBytes) || 10 * 1024 * 1024;
  const [unit, unitKo, unitEn] = photoMaxBytes >= 1024 * 1024
    ? [1024 * 1024, "메가바이트", " MB"]
    : photoMaxBytes >= 1024 ? [1024, "킬로바이트", " KB"] : [1, "바이트", " bytes"];
  const amount = (photoMaxBytes / unit).toFixed(1).replace(/\.0$/, "");
  const WORDS = {
    ko: {
      photo: "사진 보내기",
      locate: "현재 위치 보내기",
      myLocation: "현재 위치를 보냈어요",
      yourPhoto: "보낸 사진",
      failed: "메시지를 보내지 못했어요. 잠시 후 다시 시도해 주세요.",
      photoTooLarge: `사진이 너무 커요. ${amount}${unitKo}까지의 사진만 보낼 수 있어요.`,
      locationDenied: "위치 사용이 허용되지 않았어요. 장소 이름이나 주소를 글로 적어 주세요. (예: 금촌역 2번 출구)",
      locationUnavailable: "현재 위치를 알 수 없어요. 장소 이름이나 주소를 글로 적어 주세요. (예: 금촌역 2번 출구)",
    },
    en: {
      photo: "Send a photo",
      locate: "Send my location",
      myLocation: "My location",
      yourPhoto: "Your photo",
      failed: "Your message could not be sent. Please try again shortly.",
      photoTooLarge: `That photo is too large. Photos of up to ${amount}${unitEn} can be sent.`,
      locationDenied: "Location access was not allowed. Please type the place or address instead (e.g. Geumchon Station exit 2).",
      locationUnavailable: "Your location could not be found. Please type the place or address instead (e.g. Geumchon Station exit 2).",
    },
  }[language];
  for (const [button, label] of [[photoButton, WORDS.photo], [locateButton, WORDS.locate]]) {
    button.setAttribute("aria-label", label);
    button.title = label;
  }
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
    const locationButton = reply.custom && typeof reply.custom.location_button === "string"
      ? reply.custom.location_button.trim() : "";
    // A reply meant for another channel (Telegram taking its keyboard away) has nothing to show here.
    if (!reply.text && !reply.image && !(reply.buttons && reply.buttons.length) && !locationButton) return;
    // Rasa sends a reply's location button apart from its text: it goes under the text just shown.
    const last = list.lastElementChild;
    const item = !reply.text && !reply.image && locationButton && last && last.classList.contains("out")
      ? last : bubble("out", reply.text || "");
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
    if (locationButton) {
      const row = document.createElement("div");
      row.className = "choices";
      const share = document.createElement("button");
      share.type = "button";
      share.className = "choice";
      share.textContent = locationButton;
      share.disabled = !active;
      share.addEventListener("click", () => shareLocation());
      row.appendChild(share);
      item.appendChild(row);
      list.scrollTop = list.scrollHeight;
    }
  }

  // The gateway said no for a reason the citizen should read (too many messages, a message too long).
  class Refusal extends Error {}

  // A send that failed (the connection dropped, the service restarted or was busy with it) is sent again with the
  // same message id: the gateway answers each message once, so a retry never gets a second answer.
  const RETRIES = 6;
  async function post(url, body, attempt) {
    // A photo goes as a form (the browser writes its multipart header); everything else as JSON.
    const request = body instanceof FormData
      ? { method: "POST", body }
      : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    let response;
    try {
      response = await fetch(url, request);
    } catch (offline) {
      response = null;
    }
    if ((response === null || response.status === 503) && attempt < RETRIES) {
      await new Promise((resolve) => setTimeout(resolve, 1000 * Math.min(2 ** attempt, 15)));
      return post(url, body, attempt + 1);
    }
    if (response === null) throw new Error("offline");
    if (response.status === 429 || response.status === 413) {
      const refusal = await response.json().catch(() => ({}));
      throw new Refusal(typeof refusal.detail === "string" ? refusal.detail : "");
    }
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }

  function busy(waiting) {
    typing.hidden = !waiting;
    for (const button of [send, photoButton, locateButton]) button.disabled = waiting;
  }

  async function exchange(url, body) {
    busy(true);
    try {
      const answer = await post(url, body, 0);
      answer.replies.forEach((reply) => showReply(reply, true));
    } catch (error) {
      bubble("error", error instanceof Refusal && error.message ? error.message : WORDS.failed);
    } finally {
      busy(false);
      input.focus();
    }
  }

  function deliver({ text, payload, location }) {
    bubble("in", text);
    const body = { message_id: newMessageId(), text, payload: payload || null, location: location || null, language };
    return exchange("/web/messages", body);
  }

  // The citizen sees their own photo from their device: the gateway keeps no address of it to show.
  function sendPhoto(file) {
    if (file.size > photoMaxBytes) {
      bubble("error", WORDS.photoTooLarge);
      return;
    }
    const item = bubble("in", "");
    const thumbnail = document.createElement("img");
    thumbnail.className = "photo";
    thumbnail.alt = WORDS.yourPhoto;
    thumbnail.addEventListener("load", () => (list.scrollTop = list.scrollHeight));
    thumbnail.src = URL.createObjectURL(file);
    item.appendChild(thumbnail);
    const body = new FormData();
    body.append("message_id", newMessageId());
    body.append("language", language);
    body.append("file", file, file.name || "photo");
    exchange("/web/photos", body);
  }

  photoButton.addEventListener("click", () => photoFile.click());
  photoFile.addEventListener("change", () => {
    const file = photoFile.files && photoFile.files[0];
    photoFile.value = ""; // the same photo chosen again is sent again
    if (file) sendPhoto(file);
  });

  // The location button below the chat, and the one a reply offers when the citizen answers "here".
  function shareLocation() {
    if (locateButton.disabled) return; // a message is on its way, or the location is being found
    if (!("geolocation" in navigator)) {
      bubble("error", WORDS.locationUnavailable);
      return;
    }
    locateButton.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (position) => {
        locateButton.disabled = false;
        const { latitude, longitude } = position.coords;
        deliver({ text: WORDS.myLocation, location: { latitude, longitude } });
      },
      (error) => {
        locateButton.disabled = false;
        bubble("error", error.code === error.PERMISSION_DENIED ? WORDS.locationDenied : WORDS.locationUnavailable);
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  }

  locateButton.addEventListener("click", shareLocation);

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
