"""Simulated citizens for load and kill tests: each holds one conversation to its end, on the web chat or Telegram,
and keeps what it saw so a test can check every message got one answer, in order.

A citizen does what a person does when the service stumbles: a web page sends a message again with the same id
when the request failed (the page does it by itself), and a person sends their words again when the assistant
says it could not answer right now. Anything else than the next step or such an apology fails the conversation:
the assistant lost its place.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import httpx

from tests.support.fake_telegram import FakeTelegram
from tests.support.web_chat import WebChat

# What the assistant says when it cannot answer now and asks to be written again (gateway, actions, Telegram).
TRY_AGAIN = ("잠시 후 다시", "try again", "again in a moment")
# A reply this long in coming means the conversation is stuck, not slow.
ANSWER_TIMEOUT_SECONDS = 120
PAGE_RETRY_SECONDS = 1.0


class ConversationBroken(AssertionError):
    pass


@dataclass
class Citizen:
    name: str
    # (what the citizen sent, the answer's text), in order; an apology and the words sent again are both kept.
    exchanges: list[tuple[str, str]] = field(default_factory=list)
    apologies: int = 0
    booking_code: str | None = None

    def say(self, words: str) -> str:
        raise NotImplementedError

    def press(self, index: int = 0) -> str:
        raise NotImplementedError

    def step(self, send: Callable[[], str], expected: str) -> str:
        """One step of the conversation: the answer must be the next one, or an apology, then the step again."""
        for _attempt in range(6):
            answer = send()
            if expected in answer:
                return answer
            if not any(words in answer for words in TRY_AGAIN):
                raise ConversationBroken(f"{self.name}: expected {expected!r}, got {answer[:200]!r}")
            self.apologies += 1
            time.sleep(1)
        raise ConversationBroken(f"{self.name}: still apologising after six tries at {expected!r}")

    def book(self, day: date, phone: str, departure: int = 0) -> str:
        """`departure`: which of the day's departure buttons to press (a load spreads its bookers over them)."""
        self.step(lambda: self.say("예약하고 싶어요"), "언제 방문하실")
        self.step(lambda: self.say(f"{day.month}월 {day.day}일"), "출발 시간을 골라")
        self.step(lambda: self.press(departure), "어른")
        self.step(lambda: self.say("어른 1명"), "개인정보 수집·이용 동의")
        self.step(lambda: self.press(0), "성함")
        self.step(lambda: self.say("이서연"), "휴대전화")
        self.step(lambda: self.say(phone), phone[-4:])
        done = self.step(lambda: self.press(0), "예약이 확정됐어요")
        self.booking_code = re.search(r"예약번호: ([A-Z0-9]{6})", done).group(1)
        return self.booking_code

    def subscribe_to_traffic_notices(self) -> None:
        self.step(lambda: self.say("교통 공지 알림 받을래"), "동의")
        self.step(lambda: self.press(0), "교통·도로")


class WebCitizen(Citizen):
    def __init__(self, name: str, gateway_url: str) -> None:
        super().__init__(name)
        self.chat = WebChat(gateway_url, timeout=ANSWER_TIMEOUT_SECONDS)
        self.buttons: list[dict] = []  # of the last answer that had any: an apology has none
        self.updates: list[dict] = []
        # Seconds from sending each message to its answer, page retries included: what the person waited.
        self.turn_seconds: list[float] = []
        # Requests that failed on the way (no connection, 502/503/504) and that the page sent again.
        self.failed_requests = 0

    def _send(self, shown: str, text: str = "", payload: str | None = None) -> str:
        message_id = uuid.uuid4().hex
        sent = time.monotonic()
        deadline = sent + ANSWER_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                response = self.chat.post(text, payload, message_id)
            except httpx.TransportError:
                response = None
            # 502/503: a replica died on the way, or the message is still being answered; the page sends it again.
            if response is not None and response.status_code not in (502, 503, 504):
                assert response.status_code == 200, f"{self.name}: {response.status_code} {response.text[:200]}"
                replies = response.json()["replies"]
                self.buttons = [button for reply in replies for button in reply.get("buttons") or []] or self.buttons
                answer = " ".join(reply.get("text") or "" for reply in replies)
                self.exchanges.append((shown, answer))
                self.turn_seconds.append(time.monotonic() - sent)
                return answer
            self.failed_requests += 1
            time.sleep(PAGE_RETRY_SECONDS)
        raise ConversationBroken(f"{self.name}: no answer to {shown!r} in {ANSWER_TIMEOUT_SECONDS}s")

    def say(self, words: str) -> str:
        return self._send(words, text=words)

    def press(self, index: int = 0) -> str:
        button = self.buttons[index]
        return self._send(button["title"], text=button["title"], payload=button["payload"])

    def poll_updates(self) -> list[dict]:
        """Messages the city sent, as the page polls for them: after the newest it has shown, so one whose response
        was lost (a gateway killed on the way) comes again at the next poll, and is kept once by its id."""
        after = max((update["id"] for update in self.updates), default=0)
        try:
            response = self.chat.client.get("/web/updates", params={"after": after})
        except httpx.TransportError:
            return []
        if response.status_code == 200:
            shown = {update["id"] for update in self.updates}
            self.updates += [update for update in response.json() if update["id"] not in shown]
        return self.updates


class TelegramCitizen(Citizen):
    def __init__(self, name: str, fake: FakeTelegram, chat_id: int) -> None:
        super().__init__(name)
        self.fake, self.chat_id = fake, chat_id
        self.replies: list[dict] = []

    def _wait_new(self, before: int) -> list[dict]:
        self.fake.wait_for(lambda f: len(f.sent(self.chat_id)) > before, timeout=ANSWER_TIMEOUT_SECONDS)
        # The replies of one turn are sent one after another: wait until no more arrive.
        seen = -1
        while seen != len(self.fake.sent(self.chat_id)):
            seen = len(self.fake.sent(self.chat_id))
            time.sleep(0.6)
        return self.fake.sent(self.chat_id)[before:]

    def _answer(self, shown: str, before: int) -> str:
        self.replies = self._wait_new(before)
        answer = " ".join(message.get("text") or "" for message in self.replies)
        self.exchanges.append((shown, answer))
        return answer

    def say(self, words: str) -> str:
        before = len(self.fake.sent(self.chat_id))
        self.fake.send_text(self.chat_id, words)
        return self._answer(words, before)

    def press(self, index: int = 0) -> str:
        message = [m for m in self.fake.sent(self.chat_id) if m.get("reply_markup")][-1]
        button = [b for row in message["reply_markup"]["inline_keyboard"] for b in row][index]
        before = len(self.fake.sent(self.chat_id))
        self.fake.press_button(self.chat_id, message["message_id"], button["callback_data"])
        return self._answer(button["text"], before)
