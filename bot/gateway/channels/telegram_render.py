"""Rasa replies as Telegram messages: text split at Telegram's limit, buttons as inline keyboards."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

from bot.gateway.messages import Reply

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64


@dataclass
class TelegramMessage:
    text: str | None = None
    photo: str | None = None
    # Rows of (title, callback data).
    keyboard: list[list[tuple[str, str]]] = field(default_factory=list)


class CallbackKeys:
    """Maps payloads longer than Telegram's 64-byte callback data to short keys and back."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._payloads: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    def key_for(self, payload: str) -> str:
        if len(payload.encode()) <= MAX_CALLBACK_BYTES and not payload.startswith("k:"):
            return payload
        key = "k:" + hashlib.sha256(payload.encode()).hexdigest()[:24]
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self._capacity:
            self._payloads.popitem(last=False)
        return key

    def payload_for(self, data: str) -> str | None:
        """The payload behind callback data; None for a key this process no longer knows."""
        return self._payloads.get(data) if data.startswith("k:") else data


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Splits on line boundaries; a single line longer than the limit is cut."""
    chunks, current = [], ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


def render(replies: list[Reply], keys: CallbackKeys) -> list[TelegramMessage]:
    messages: list[TelegramMessage] = []
    for reply in replies:
        text = reply.text or (reply.custom or {}).get("text")
        if reply.image:
            messages.append(TelegramMessage(photo=reply.image))
        if text:
            messages.extend(TelegramMessage(text=chunk) for chunk in split_text(text))
        if reply.buttons:
            if not messages or messages[-1].photo:
                messages.append(TelegramMessage(text="👇"))
            messages[-1].keyboard = [[(button.title, keys.key_for(button.payload))] for button in reply.buttons]
    return messages
