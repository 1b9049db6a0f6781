"""The gateway's one internal message type, the reply type, and input clean-up."""

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from common import confidential

# Control characters other than tab and newline: binary junk, and PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def clean_text(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    return _CONTROL.sub("", text).strip()


@dataclass(frozen=True)
class Photo:
    """A photo the citizen sent, as their messenger delivered it: the bytes, and the type and name it declared (the
    api decides what the bytes really are)."""

    data: bytes = field(repr=False)  # a photo's bytes have no place in a log line
    content_type: str
    filename: str

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class IncomingMessage:
    channel: str
    channel_user_id: str
    channel_message_id: str | None
    text: str = ""
    payload: str | None = None  # a button's payload, when a button was pressed
    # A pressed button's short key, when the channel could not carry its whole payload.
    payload_key: str | None = None
    location: tuple[float, float] | None = None  # (latitude, longitude) the citizen shared
    photo: Photo | None = None  # a photo for a report; `text` is then its caption, if any
    # A messenger command ("/start"): the channel vouches for it, unlike a button payload.
    command: str | None = None
    language_hint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sender_id(self) -> str:
        return f"{self.channel}:{self.channel_user_id}"

    @property
    def pressed_button(self) -> bool:
        return self.payload is not None or self.payload_key is not None


class Button(BaseModel):
    title: str
    payload: str


class Reply(BaseModel):
    """One assistant turn, channel-neutral: what Rasa returns, minus its recipient id."""

    text: str | None = None
    buttons: list[Button] | None = None
    image: str | None = None
    custom: dict[str, Any] | None = None


def for_transcript(reply: Reply) -> Reply:
    """What may be recorded of a reply: a confidential one's placeholder instead of its text (a certified notice
    the gateway showed, or a reference to one)."""
    if confidential.is_confidential(reply.custom):
        return Reply(text=confidential.PLACEHOLDER, custom={confidential.MARKER: True})
    return reply
