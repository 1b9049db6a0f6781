"""Replies shown to the citizen and recorded nowhere: a certified notice's content travels in a marked custom
payload, and transcripts keep a placeholder instead.

The action server marks the reply; the gateway shows its text and records the placeholder; the api stores
the placeholder whatever it is sent, so a transcript never holds the content.
"""

from typing import Any

MARKER = "confidential"
PLACEHOLDER = "[공인알림 본문 — 기록하지 않음]"


def payload(text: str) -> dict[str, Any]:
    """The custom payload of a reply whose text must stay out of every record."""
    return {MARKER: True, "text": text}


def is_confidential(custom: dict[str, Any] | None) -> bool:
    return bool(custom) and custom.get(MARKER) is True
