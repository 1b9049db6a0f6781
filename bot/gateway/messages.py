"""The gateway's one internal message type, the reply type and its buttons (postbacks and links), and input clean-up."""

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from common import confidential

# Control characters other than tab and newline: binary junk, and PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# A link button's payload: an https address and nothing else (no space or control character a browser would drop).
LINK_PREFIX = "https://"
_UNSAFE_IN_LINK = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
# A payload that is an address: any "scheme://…", or a scheme that needs no slashes ("javascript:…", "data:…"). A
# postback is "/intent{…}" or words; a short key ("k:…") is no address.
_ADDRESS = re.compile(
    r"^\s*(?:[a-z][a-z0-9+.\-]*://|(?:javascript|vbscript|data|blob|filesystem|file|about|mailto|tel|sms|intent):)",
    re.IGNORECASE,
)


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


def link_url(payload: str) -> str | None:
    """The address a button with this payload opens: an https URL with a host; None for any other payload."""
    if not payload.startswith(LINK_PREFIX) or _UNSAFE_IN_LINK.search(payload):
        return None
    try:
        host = urlsplit(payload).hostname
    except ValueError:  # a malformed address ("https://[::1")
        return None
    return payload if host else None


class Button(BaseModel):
    """A reply's button: pressed, it sends its payload back to the assistant; a link (an https payload) instead opens
    the address and sends nothing."""

    title: str
    payload: str

    @property
    def url(self) -> str | None:
        return link_url(self.payload)


def recorded_buttons(recorded: list[dict[str, Any]] | None) -> list[Button]:
    """Buttons as the transcript and the outbox keep them, {"title", "payload"}; one without a title is skipped."""
    return [
        Button(title=button["title"], payload=button.get("payload") if isinstance(button.get("payload"), str) else "")
        for button in recorded or []
        if isinstance(button, dict) and isinstance(button.get("title"), str)
    ]


def shown_buttons(buttons: list[Button] | None) -> list[Button]:
    """The buttons a channel shows, in order: all but one whose payload is an address that is not an https link
    (http:, javascript:, data:): never a link, and nothing the assistant understands as a postback."""
    return [button for button in buttons or [] if button.url or not _ADDRESS.match(button.payload)]


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
