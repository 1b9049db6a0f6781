"""Rasa replies as Telegram messages: text split at Telegram's limit, buttons as inline keyboards (a link as a URL
button), and the button that shares the citizen's location as a reply keyboard, taken away once it has served."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.gateway.messages import Button, Reply, shown_buttons
from common.button_keys import KEY_PREFIX, button_key

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
# Custom payloads of the actions (domain/reports.yml): {"location_button": "📍 현재 위치 보내기"} offers the button
# that shares the citizen's location; {"remove_keyboard": true} takes it away.
LOCATION_BUTTON = "location_button"
REMOVE_KEYBOARD = "remove_keyboard"


@dataclass(frozen=True)
class InlineButton:
    """One inline keyboard button: it sends its callback data back, or (a link) opens its URL and sends nothing."""

    title: str
    callback_data: str | None = None
    url: str | None = None

    @classmethod
    def of(cls, button: Button) -> InlineButton:
        # A link's address travels whole in `url`: it is never cut to a short key.
        if url := button.url:
            return cls(button.title, url=url)
        return cls(button.title, callback_data=callback_data(button.payload))


@dataclass
class TelegramMessage:
    text: str | None = None
    photo: str | None = None
    keyboard: list[list[InlineButton]] = field(default_factory=list)
    # The title of a one-time reply keyboard button that shares the citizen's location (request_location).
    location_button: str | None = None
    # Takes away a reply keyboard shown earlier: a message carries one keyboard, so only one without the others.
    remove_keyboard: bool = False


def staff_prefixed(text: str | None, message: dict) -> str | None:
    """A staff member's outbox message starts with who writes ("[관광과 상담원] …"): a chat shows no other sign."""
    name = message.get("author_name")
    if message.get("author") != "staff" or not name or not text:
        return text
    return f"[{name}] {text}"


def outbox_reply(message: dict) -> Reply:
    """An outbox message (as the api hands it to the gateway) as a reply to render."""
    buttons = [Button(**button) for button in message.get("buttons") or []]
    return Reply(text=staff_prefixed(message.get("text"), message), buttons=buttons or None)


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


def render(replies: list[Reply], remove_keyboard: bool = False) -> list[TelegramMessage]:
    """The replies as messages; `remove_keyboard` (the answer to a shared location) takes away the location button,
    as a {"remove_keyboard": true} reply does."""
    messages: list[TelegramMessage] = []
    for reply in replies:
        custom = reply.custom or {}
        text = reply.text or custom.get("text")
        if reply.image:
            messages.append(TelegramMessage(photo=reply.image))
        if text:
            messages.extend(TelegramMessage(text=chunk) for chunk in split_text(text))
        buttons = shown_buttons(reply.buttons)
        if buttons:
            if not messages or messages[-1].photo:
                messages.append(TelegramMessage(text="👇"))
            messages[-1].keyboard = [[InlineButton.of(button)] for button in buttons]
        location_button = custom.get(LOCATION_BUTTON)
        if isinstance(location_button, str) and location_button.strip():
            if not messages or messages[-1].photo or messages[-1].keyboard:
                messages.append(TelegramMessage(text="👇"))
            messages[-1].location_button = location_button.strip()
        remove_keyboard = remove_keyboard or custom.get(REMOVE_KEYBOARD) is True
    # A location button offered again replaces the old keyboard by itself; otherwise the first message without inline
    # buttons takes it away. A turn whose every message has inline buttons leaves it (one-time: hidden once pressed).
    if remove_keyboard and not any(message.location_button for message in messages):
        plain = next((message for message in messages if not message.keyboard), None)
        if plain:
            plain.remove_keyboard = True
    return messages
