"""Rasa replies as Telegram messages: text split at Telegram's limit, buttons as inline keyboards."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.gateway.messages import Reply
from common.button_keys import KEY_PREFIX, button_key

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64


@dataclass
class TelegramMessage:
    text: str | None = None
    photo: str | None = None
    # Rows of (title, callback data).
    keyboard: list[list[tuple[str, str]]] = field(default_factory=list)


def callback_data(payload: str) -> str:
    """The payload itself when it fits Telegram's 64 bytes, else its short key (the api resolves it)."""
    if len(payload.encode()) <= MAX_CALLBACK_BYTES and not payload.startswith(KEY_PREFIX):
        return payload
    return button_key(payload)


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


def render(replies: list[Reply]) -> list[TelegramMessage]:
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
            messages[-1].keyboard = [[(button.title, callback_data(button.payload))] for button in reply.buttons]
    return messages
