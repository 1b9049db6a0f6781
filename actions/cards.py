"""What a reply carries besides its words: a card's structure for the pages that draw one, and named link buttons.

The text of a reply stays complete (Telegram, KakaoTalk and the transcript show only it); a card repeats it as
fields under `custom`: `{"card": {"kind", "title", "fields": [[label, value], ...], "body"}}`. A link is never in
the text: it is a button whose payload is the address, which every channel opens as a link.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import urlsplit

CardKind = Literal["notice", "booking"]
# A booking card's fields in the order they are shown, each with its label in Korean and English.
BOOKING_LABELS = {
    "code": ("예약번호", "Booking number"),
    "status": ("상태", "Status"),
    "when": ("날짜", "When"),
    "course": ("코스", "Course"),
    "party": ("인원", "Party"),
    "booker": ("예약자", "Booker"),
    "fee": ("요금", "Fee"),
    "meet": ("집결", "Meet"),
}
# Addresses a citizen can open: a machine's own or the city's internal ones would lead nowhere, or somewhere private.
PRIVATE_HOSTS = ("localhost", "127.", "10.", "192.168.", "0.0.0.0", "[::1]", "::1")


def card(kind: CardKind, title: str, fields: Iterable[tuple[str, str]], body: str | None = None) -> dict[str, Any]:
    """The `custom` of a reply that shows a notice or a booking; fields without a value are left out."""
    shown = [[label, str(value)] for label, value in fields if value not in (None, "")]
    return {"card": {"kind": kind, "title": title, "fields": shown, "body": body or None}}


def booking_card(title: str, language: str, body: str | None = None, **values: str) -> dict[str, Any]:
    """A booking's `custom` card from the values its text shows (keys of BOOKING_LABELS), in their usual order."""
    english = language == "en"
    fields = [(labels[1] if english else labels[0], values.get(key)) for key, labels in BOOKING_LABELS.items()]
    return card("booking", title, fields, body)


def public_link(url: str | None) -> str | None:
    """The address when a citizen can open it: https, with a host that is not this machine or a private network."""
    if not url or not url.startswith("https://"):
        return None
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    if not host or host == "localhost" or host.endswith(".internal") or host.startswith(PRIVATE_HOSTS):
        return None
    return url


def link_button(title: str, url: str | None) -> dict[str, str] | None:
    """A button that opens `url` under a name, or None when the address is not one a citizen can open."""
    address = public_link(url)
    return {"title": title, "payload": address} if address else None
