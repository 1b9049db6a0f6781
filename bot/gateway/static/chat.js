// Web chat: shows the transcript, sends text, button presses, photos and the citizen's location, and receives what
// the city sends. Who the citizen is lives in an HttpOnly cookie the gateway sets; this script never sees it.
(() => {
  "use strict";
  const chat = document.querySelector("main.chat");
  const conversation = document.getElementById("conversation");
  const list = document.getElementById("messages");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const photoButton = document.getElementById("photo");
  const photoFile = document.getElementById("photo-file");
  const locateButton = document.getElementById("locate");
  const typing = document.getElementById("typing");
  const consent = document.getElementById("consent");
  const viewer = document.getElementById("viewer");
  const browserLanguage = (navigator.language || "ko").toLowerCase().startsWith("ko") ? "ko" : "en";
  // The page starts in the browser's language and then follows the conversation's: the language of the latest
  // answer, so that a visitor with an English browser who writes Korean gets a Korean page.
  let language = browserLanguage;
  // The gateway writes its limit into the page; a larger photo is refused here, before it is uploaded.
  const photoMaxBytes = Number(chat.dataset.photoMaxBytes) || 10 * 1024 * 1024;
  const [unit, unitKo, unitEn] = photoMaxBytes >= 1024 * 1024
    ? [1024 * 1024, "메가바이트", " MB"]
    : photoMaxBytes >= 1024 ? [1024, "킬로바이트", " KB"] : [1, "바이트", " bytes"];
  const amount = (photoMaxBytes / unit).toFixed(1).replace(/\.0$/, "");
  const ALL_WORDS = {
    ko: {
      title: "파주시 시민 도우미",
      intro: "DMZ 평화관광 예약, 생활불편 신고, 시 소식, 공공데이터를 물어보세요.",
      conversation: "대화",
      message: "메시지",
      placeholder: "무엇이든 물어보세요",
      placePlaceholder: "예: 금촌역 근처 주차장",
      send: "보내기",
      typing: "답변을 준비하고 있어요…",
      photo: "사진 보내기",
      locate: "현재 위치 보내기",
      myLocation: "현재 위치를 보냈어요",
      yourPhoto: "보낸 사진",
      failed: "메시지를 보내지 못했어요. 잠시 후 다시 시도해 주세요.",
      photoTooLarge: `사진이 너무 커요. ${amount}${unitKo}까지의 사진만 보낼 수 있어요.`,
      locationDenied: "위치 사용이 허용되지 않았어요. 장소 이름이나 주소를 글로 적어 주세요. 예: 금촌역 근처 주차장",
      locationUnavailable: "현재 위치를 알 수 없어요. 장소 이름이나 주소를 글로 적어 주세요. 예: 금촌역 근처 주차장",
      consentTitle: "현재 위치를 보낼까요?",
      consentText: "가까운 주차장·화장실을 찾거나 신고할 곳을 알리는 데만 써요. 다음 화면에서 브라우저가 위치 사용을 물어보면 허용해 주세요.",
      consentConfirm: "위치 보내기",
      consentCancel: "취소",
      newTab: "(새 탭에서 열림)",
      openLink: "링크 열기",
      openMap: "지도 보기",
      readMore: "자세히 보기",
      enlarge: "크게 보기",
      close: "닫기",
      chart: "차트",
      staff: "상담원",
      welcomeTitle: "안녕하세요! 파주시 시민 도우미예요.",
      welcomeText: "궁금한 것을 적거나 아래에서 골라 주세요.",
      example: "예: 4월에 DMZ에 온 외국인 관광객은 몇 명이야?",
      chips: [
        ["투어 예약", "DMZ 투어 예약하고 싶어요"],
        ["공지", "최근 공지 보여줘"],
        ["내 알림", "내 알림 보여줘"],
        ["데이터 질문", "4월에 DMZ에 온 외국인 관광객은 몇 명이야?"],
        ["주차장·화장실", "근처 주차장 찾아줘"],
        ["상담원", "상담원 연결해 주세요"],
      ],
    },
    en: {
      title: "Paju Citizen Assistant",
      intro: "Book DMZ peace tours, report problems, read city news and ask about open data.",
      conversation: "Conversation",
      message: "Message",
      placeholder: "Ask me anything",
      placePlaceholder: "e.g. parking near Geumchon Station",
      send: "Send",
      typing: "Preparing an answer…",
      photo: "Send a photo",
      locate: "Send my location",
      myLocation: "My location",
      yourPhoto: "Your photo",
      failed: "Your message could not be sent. Please try again shortly.",
      photoTooLarge: `That photo is too large. Photos of up to ${amount}${unitEn} can be sent.`,
      locationDenied: "Location access was not allowed. Please type the place or address instead, e.g. parking near Geumchon Station.",
      locationUnavailable: "Your location could not be found. Please type the place or address instead, e.g. parking near Geumchon Station.",
      consentTitle: "Send your current location?",
      consentText: "It is used only to find parking or toilets near you, or to say where a problem is. If your browser asks next, please allow it.",
      consentConfirm: "Send location",
      consentCancel: "Cancel",
      newTab: "(opens in a new tab)",
      openLink: "Open link",
      openMap: "View map",
      readMore: "Read more",
      enlarge: "View larger",
      close: "Close",
      chart: "Chart",
      staff: "City staff",
      welcomeTitle: "Hello! I am Paju's citizen assistant.",
      welcomeText: "Type your question or pick one below.",
      example: "e.g. How many foreign visitors came to the DMZ in April?",
      chips: [
        ["Book a tour", "I want to book a DMZ tour"],
        ["Notices", "Show me the latest notices"],
        ["My notices", "Show my notices"],
        ["Data question", "How many foreign visitors came to the DMZ in April?"],
        ["Parking & toilets", "Find parking near me"],
        ["Talk to a person", "I want to talk to a person"],
      ],
    },
  };
  let WORDS = ALL_WORDS[language];

  // Everything the page says itself, in the conversation's language.
  function applyLanguage(next) {
    language = next;
    WORDS = ALL_WORDS[language];
    document.documentElement.lang = language;
    document.title = WORDS.title;
    document.getElementById("chat-title").textContent = WORDS.title;
    document.getElementById("chat-intro").textContent = WORDS.intro;
    list.setAttribute("aria-label", WORDS.conversation);
    document.getElementById("message-label").textContent = WORDS.message;
    if (!input.dataset.hint) input.placeholder = WORDS.placeholder;
    send.textContent = WORDS.send;
    typing.textContent = WORDS.typing;
    for (const [button, label] of [[photoButton, WORDS.photo], [locateButton, WORDS.locate]]) {
      button.setAttribute("aria-label", label);
      button.title = label;
    }
    document.getElementById("consent-title").textContent = WORDS.consentTitle;
    document.getElementById("consent-text").textContent = WORDS.consentText;
    document.getElementById("consent-confirm").textContent = WORDS.consentConfirm;
    document.getElementById("consent-cancel").textContent = WORDS.consentCancel;
    document.getElementById("viewer-close").textContent = WORDS.close;
  }
  applyLanguage(browserLanguage);

  // The language an answer is in: Korean when it has Hangul, English when it has Latin letters and no Hangul.
  function languageOf(text) {
    if (!text) return null;
    if (/[\uac00-\ud7a3]/.test(text)) return "ko";
    return /[A-Za-z]{2,}/.test(text) ? "en" : null;
  }

  // A message's id makes a retry of it count once; getRandomValues works without https too, unlike randomUUID.
  const newMessageId = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  // Earlier versions kept the id, readable by any script, here.
  localStorage.removeItem("paju-chat-user");

  function scrollToNewest() {
    conversation.scrollTop = conversation.scrollHeight;
  }

  function bubble(direction, text) {
    const item = document.createElement("li");
    item.className = `bubble ${direction}`;
    if (text) item.append(...linked(text));
    list.appendChild(item);
    scrollToNewest();
    return item;
  }

  // Only an https address the gateway marked as a link becomes one; anything else (javascript:, data:) never an href.
  function httpsUrl(url) {
    if (typeof url !== "string" || !url.startsWith("https://")) return null;
    try {
      return new URL(url).protocol === "https:" ? url : null;
    } catch (malformed) {
      return null;
    }
  }

  // An address no citizen can open (this machine, a private network, an internal name): it is never shown.
  function internalHost(host) {
    return /^(localhost|127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|0\.0\.0\.0|\[::1\]|\[f[cd])/i.test(host)
      || /\.(internal|local|localdomain|lan|svc|cluster\.local)$/i.test(host)
      || !host.includes(".");
  }

  // An address in a text, as the page may link it: https to a public host, or this chat's own site.
  function publicUrl(raw) {
    let url;
    try {
      url = new URL(raw);
    } catch (malformed) {
      return null;
    }
    if (url.origin === window.location.origin) return url.href;
    if (url.protocol !== "https:" || internalHost(url.hostname)) return null;
    return url.href;
  }

  const MAP_HOSTS = /(^|\.)(map\.naver\.com|map\.kakao\.com|place\.map\.kakao\.com|maps\.google\.[a-z.]+|google\.[a-z.]+\/maps|openstreetmap\.org)$/i;

  // What a link is called instead of its (often long, encoded) address: a map, or the site it opens.
  function linkName(href) {
    const url = new URL(href);
    if (MAP_HOSTS.test(url.hostname) || /\/maps?\b/i.test(url.pathname)) return WORDS.openMap;
    return `${WORDS.openLink} (${url.hostname.replace(/^www\./, "")})`;
  }

  // The arrow out of a box, drawn like the composer's icons: the link leaves the chat.
  function externalIcon() {
    const svgNs = "http://www.w3.org/2000/svg";
    const icon = document.createElementNS(svgNs, "svg");
    icon.setAttribute("class", "icon");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("focusable", "false");
    for (const d of ["M14 4h6v6", "M20 4l-9 9", "M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"]) {
      const path = document.createElementNS(svgNs, "path");
      path.setAttribute("d", d);
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", "2");
      path.setAttribute("stroke-linecap", "round");
      path.setAttribute("stroke-linejoin", "round");
      icon.appendChild(path);
    }
    return icon;
  }

  function newTabHint() {
    const hint = document.createElement("span");
    hint.className = "visually-hidden";
    hint.textContent = ` ${WORDS.newTab}`;
    return hint;
  }

  // A text as nodes: each address in it a named link (public ones) or left out (internal ones), the rest as text.
  const ADDRESS = /\(?\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]\)?/g;
  function linked(text) {
    const nodes = [];
    let from = 0;
    for (const match of text.matchAll(ADDRESS)) {
      // "(https://…)" loses its brackets with the address; a lone bracket on either side stays text.
      const found = match[0];
      const wrapped = found.startsWith("(") && found.endsWith(")");
      const lead = found.startsWith("(") && !wrapped ? "(" : "";
      const trail = found.endsWith(")") && !wrapped ? ")" : "";
      const raw = wrapped ? found.slice(1, -1) : found.slice(lead.length, found.length - trail.length);
      nodes.push(text.slice(from, match.index) + lead);
      from = match.index + found.length - trail.length;
      const href = publicUrl(raw);
      if (!href) {
        // Left out, and the colon or space that led to it ("자료: ").
        nodes[nodes.length - 1] = nodes[nodes.length - 1].replace(/[ \t]*[:：]?[ \t]*$/, "");
        continue;
      }
      const link = document.createElement("a");
      link.className = "inline-link";
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.append(linkName(href), newTabHint());
      nodes.push(link);
    }
    nodes.push(text.slice(from));
    return nodes.filter((node) => node !== "");
  }

  // A link button opens its page in a new tab and says nothing to the assistant, so it stays usable in old messages.
  function linkChoice(title, url) {
    const link = document.createElement("a");
    link.className = "choice link";
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.append(title, newTabHint(), externalIcon());
    return link;
  }

  // A notice card, as the assistant writes one: "[category] title", "date · department", then the summary.
  const NOTICE_HEAD = /^\[([^\]\n]{1,40})\]\s*(.+)$/;
  function noticeCard(item, text) {
    const [head, meta, ...summary] = text.split("\n");
    const [, category, title] = head.match(NOTICE_HEAD);
    item.classList.add("card", "notice-card");
    const tag = document.createElement("span");
    tag.className = "card-tag";
    tag.textContent = category;
    const heading = document.createElement("p");
    heading.className = "card-title";
    heading.textContent = title;
    item.append(tag, heading);
    if (meta) {
      const line = document.createElement("p");
      line.className = "card-meta";
      line.textContent = meta;
      item.append(line);
    }
    if (summary.length) {
      const body = document.createElement("p");
      body.className = "card-body";
      body.append(...linked(summary.join("\n")));
      item.append(body);
    }
    return title;
  }

  // A confirmation with its facts as "• " lines (a booking, a receipt): a card with a heading and lists, in the
  // order the assistant wrote them.
  function factsCard(item, text) {
    item.classList.add("card", "facts-card");
    let facts = null;
    for (const [index, line] of text.split("\n").entries()) {
      if (line.startsWith("• ")) {
        if (!facts) {
          facts = document.createElement("ul");
          facts.className = "card-facts";
          item.append(facts);
        }
        const entry = document.createElement("li");
        entry.append(...linked(line.slice(2)));
        facts.append(entry);
        continue;
      }
      facts = null;
      if (!line.trim()) continue;
      const paragraph = document.createElement("p");
      paragraph.className = index === 0 ? "card-title" : "card-body";
      paragraph.append(...linked(line));
      item.append(paragraph);
    }
  }

  function isNoticeCard(reply) {
    return Boolean(reply.text && NOTICE_HEAD.test(reply.text.split("\n")[0])
      && (reply.buttons || []).some((b) => typeof b.payload === "string" && b.payload.startsWith("/notice_read")));
  }

  function isFactsCard(text) {
    const lines = (text || "").split("\n");
    return lines.length >= 3 && !lines[0].startsWith("• ") && lines.filter((l) => l.startsWith("• ")).length >= 2;
  }

  // A chart or picture the assistant sent: a thumbnail that opens large, described by the answer it illustrates.
  function picture(item, src, description) {
    const open = document.createElement("button");
    open.type = "button";
    open.className = "picture";
    const image = document.createElement("img");
    image.src = src;
    image.alt = description;
    image.addEventListener("load", scrollToNewest);
    const label = document.createElement("span");
    label.className = "picture-label";
    label.textContent = WORDS.enlarge;
    open.append(image, label);
    open.addEventListener("click", () => {
      const large = document.getElementById("viewer-image");
      large.src = src;
      large.alt = description;
      document.getElementById("viewer-caption").textContent = description;
      viewer.showModal();
    });
    item.appendChild(open);
  }

  function lastBotText() {
    const bubbles = list.querySelectorAll(".bubble.out");
    const last = bubbles[bubbles.length - 1];
    return last ? last.dataset.text || "" : "";
  }

  function showReply(reply, active) {
    const locationButton = reply.custom && typeof reply.custom.location_button === "string"
      ? reply.custom.location_button.trim() : "";
    const card = reply.custom && reply.custom.card && typeof reply.custom.card === "object" ? reply.custom.card : null;
    // A reply meant for another channel (Telegram taking its keyboard away) has nothing to show here.
    if (!reply.text && !reply.image && !(reply.buttons && reply.buttons.length) && !locationButton && !card) return null;
    // Rasa sends a reply's location button apart from its text: it goes under the text just shown.
    const last = list.lastElementChild;
    if (!reply.text && !reply.image && !card && locationButton && last && last.classList.contains("out")) {
      locationChoice(last, locationButton, active);
      return last;
    }
    const illustrated = lastBotText();
    const item = bubble("out", "");
    item.dataset.text = reply.text || "";
    if (reply.author === "staff") {
      item.classList.add("staff");
      const who = document.createElement("p");
      who.className = "author";
      who.textContent = reply.author_name || WORDS.staff;
      item.appendChild(who);
    }
    let subject = "";
    if (isNoticeCard(reply)) subject = noticeCard(item, reply.text);
    else if (isFactsCard(reply.text)) factsCard(item, reply.text);
    else if (reply.text) item.append(...linked(reply.text));
    if (card) customCard(item, card);
    if (reply.image) {
      // A chart comes after the answer it shows: that answer is its text alternative.
      const description = reply.text || illustrated || WORDS.chart;
      picture(item, reply.image, description.trim());
    }
    if (reply.buttons && reply.buttons.length) {
      const row = choices(reply.buttons, active, subject);
      if (row.classList.contains("grid")) item.classList.add("wide");
      item.appendChild(row);
    }
    if (locationButton) locationChoice(item, locationButton, active);
    const spoken = languageOf(reply.text);
    if (spoken && spoken !== language) applyLanguage(spoken);
    scrollToNewest();
    return item;
  }

  // A card an action may send as a custom payload: {"card": {"title", "subtitle", "lines": [...], "image"}}.
  function customCard(item, card) {
    item.classList.add("card");
    if (typeof card.title === "string") {
      const heading = document.createElement("p");
      heading.className = "card-title";
      heading.textContent = card.title;
      item.append(heading);
    }
    if (typeof card.subtitle === "string") {
      const meta = document.createElement("p");
      meta.className = "card-meta";
      meta.textContent = card.subtitle;
      item.append(meta);
    }
    if (Array.isArray(card.lines)) {
      const facts = document.createElement("ul");
      facts.className = "card-facts";
      for (const line of card.lines.filter((l) => typeof l === "string")) {
        const entry = document.createElement("li");
        entry.append(...linked(line));
        facts.append(entry);
      }
      item.append(facts);
    }
    const image = httpsUrl(card.image);
    if (image) picture(item, image, card.title || WORDS.chart);
  }

  function choices(buttons, active, subject) {
    const row = document.createElement("div");
    // Many choices (departures, dates) line up as a grid; a few stay a row of chips.
    row.className = buttons.length > 3 ? "choices grid" : "choices";
    for (const button of buttons) {
      if (button.url !== undefined && button.url !== null) {
        const url = httpsUrl(button.url);
        if (url) row.appendChild(linkChoice(button.title, url));
        continue;
      }
      const choice = document.createElement("button");
      choice.type = "button";
      choice.className = "choice";
      choice.textContent = button.title;
      // "자세히 보기" alone says nothing to a screen reader among five cards: it names its notice.
      if (subject) choice.setAttribute("aria-label", `${subject} ${button.title}`);
      choice.disabled = !active;
      choice.addEventListener("click", () => {
        row.querySelectorAll("button").forEach((b) => (b.disabled = true));
        deliver({ text: button.title, payload: button.payload });
      });
      row.appendChild(choice);
    }
    return row;
  }

  function locationChoice(item, title, active) {
    const row = document.createElement("div");
    row.className = "choices";
    const share = document.createElement("button");
    share.type = "button";
    share.className = "choice";
    share.textContent = title;
    share.disabled = !active;
    share.addEventListener("click", () => shareLocation());
    row.appendChild(share);
    item.appendChild(row);
    scrollToNewest();
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

  // After an answer, focus goes to it, so that a screen reader reads it and a keyboard reaches its buttons next;
  // typing there goes on in the message box.
  function focusAnswer(item) {
    if (!item) {
      input.focus();
      return;
    }
    item.tabIndex = -1;
    item.focus({ preventScroll: true });
    scrollToNewest();
  }

  async function exchange(url, body) {
    busy(true);
    let first = null;
    try {
      const answer = await post(url, body, 0);
      for (const reply of answer.replies) {
        const shown = showReply(reply, true);
        first = first || shown;
      }
    } catch (error) {
      first = bubble("error", error instanceof Refusal && error.message ? error.message : WORDS.failed);
    } finally {
      busy(false);
      focusAnswer(first);
    }
  }

  function deliver({ text, payload, location }) {
    bubble("in", text);
    const body = { message_id: newMessageId(), text, payload: payload || null, location: location || null, language };
    return exchange("/web/messages", body);
  }

  const READING_KEYS = new Set([
    "Tab", "Shift", "Control", "Alt", "Meta", "CapsLock", "Enter", " ", "ArrowUp", "ArrowDown", "ArrowLeft",
    "ArrowRight", "PageUp", "PageDown", "Home", "End", "ContextMenu",
  ]);
  list.addEventListener("keydown", (event) => {
    if (event.target.tagName !== "LI") return;
    // Any key but one that moves, scrolls or modifies starts a message: an input method's keys ("Process") too.
    const moving = READING_KEYS.has(event.key) || /^F\d+$/.test(event.key);
    if (event.key === "Escape" || (!moving && !event.ctrlKey && !event.metaKey && !event.altKey)) {
      input.focus(); // the key typed lands in the message box
    }
  });

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
    thumbnail.addEventListener("load", scrollToNewest);
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

  // Where the location cannot be had, the citizen is asked for a place name instead, with an example in the box.
  function askForPlace(words) {
    const item = bubble("error", words);
    input.dataset.hint = "place";
    input.placeholder = WORDS.placePlaceholder;
    input.focus();
    return item;
  }

  function locate() {
    locateButton.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (position) => {
        locateButton.disabled = false;
        const { latitude, longitude } = position.coords;
        deliver({ text: WORDS.myLocation, location: { latitude, longitude } });
      },
      (error) => {
        locateButton.disabled = false;
        askForPlace(error.code === error.PERMISSION_DENIED ? WORDS.locationDenied : WORDS.locationUnavailable);
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  }

  // The location button below the chat, and the one a reply offers when the citizen answers "here". The page says
  // what the location is for and asks first, unless the citizen has already allowed it for this site.
  async function shareLocation() {
    if (locateButton.disabled) return; // a message is on its way, or the location is being found
    if (!("geolocation" in navigator)) {
      askForPlace(WORDS.locationUnavailable);
      return;
    }
    let state = "prompt";
    try {
      state = (await navigator.permissions.query({ name: "geolocation" })).state;
    } catch (unsupported) {
      // Browsers without the Permissions API: ask as for a first time.
    }
    if (state === "granted") locate();
    else if (state === "denied") askForPlace(WORDS.locationDenied);
    else consent.showModal();
  }

  document.getElementById("consent-confirm").addEventListener("click", () => {
    consent.close();
    locate();
  });
  document.getElementById("consent-cancel").addEventListener("click", () => {
    consent.close();
    askForPlace(WORDS.locationDenied.replace(/^[^.]+\.\s*/, ""));
  });
  document.getElementById("viewer-close").addEventListener("click", () => viewer.close());
  viewer.addEventListener("click", (event) => {
    if (event.target === viewer) viewer.close(); // a tap beside the picture closes it
  });

  locateButton.addEventListener("click", shareLocation);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    delete input.dataset.hint;
    input.placeholder = WORDS.placeholder;
    deliver({ text });
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // A first visit opens with a welcome, quick choices that send a message, and an example question.
  function welcome() {
    const section = document.getElementById("welcome");
    document.getElementById("welcome-title").textContent = WORDS.welcomeTitle;
    document.getElementById("welcome-text").textContent = WORDS.welcomeText;
    document.getElementById("welcome-example").textContent = WORDS.example;
    const chips = document.getElementById("quick-replies");
    chips.replaceChildren();
    for (const [title, message] of WORDS.chips) {
      const entry = document.createElement("li");
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "choice";
      chip.textContent = title;
      chip.addEventListener("click", () => {
        if (!send.disabled) deliver({ text: message });
      });
      entry.appendChild(chip);
      chips.appendChild(entry);
    }
    section.hidden = false;
  }

  // Messages the city sends outside a reply (a staff member's answer, a reminder) are pushed over server-sent
  // events; where the stream cannot be had (an old browser, a refusal, a proxy that cuts it) the page polls.
  const shown = new Set();
  // The id of the newest city message shown: the gateway hands over again what came after it, so one whose delivery
  // was cut off comes again. Null until the history or an update gave one: then only what is waiting.
  let after = null;

  function showUpdate(m) {
    after = Math.max(after ?? 0, m.id);
    if (shown.has(m.id)) return;
    shown.add(m.id);
    showReply(m, true);
  }

  async function pollUpdates() {
    if (!document.hidden) {
      try {
        const response = await fetch(after === null ? "/web/updates" : `/web/updates?after=${after}`);
        const items = response.ok ? await response.json() : [];
        items.forEach(showUpdate);
      } catch (error) {
        // Offline for a moment: the messages wait in the outbox until the next poll.
      }
    }
    setTimeout(pollUpdates, 3000);
  }

  function listen() {
    if (typeof window.EventSource !== "function") {
      chat.dataset.updates = "poll";
      pollUpdates();
      return;
    }
    const stream = new EventSource(after === null ? "/web/events" : `/web/events?after=${after}`);
    let failures = 0;
    chat.dataset.updates = "push";
    stream.addEventListener("open", () => (failures = 0));
    stream.addEventListener("message", (event) => {
      try {
        showUpdate(JSON.parse(event.data));
      } catch (malformed) {
        // Not a message of ours: nothing to show.
      }
    });
    // The stream ends every minute and the browser reconnects on its own; refused, or failing again and again, the
    // page polls instead.
    stream.addEventListener("error", () => {
      failures += 1;
      if (stream.readyState === EventSource.CLOSED || failures >= 3) {
        stream.close();
        chat.dataset.updates = "poll";
        pollUpdates();
      }
    });
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
      if (!items.length) welcome();
    })
    .catch(() => welcome())
    .finally(listen);
})();
