"""Replies shown to the citizen and recorded nowhere: a certified notice's content never passes through Rasa, and
transcripts keep a placeholder instead.

The action server sends only a marked reference (which notice, unlocked in which conversation, in which language):
Rasa's tracker store keeps every reply it passes on, so the content must not be one. The gateway fetches the
content from the api for that same conversation, shows it and records the placeholder; the api stores the
placeholder whatever it is sent, so a transcript never holds the content either.
"""

from typing import Any

MARKER = "confidential"
NOTICE = "personal_notice_id"
SENDER = "sender_id"
LANGUAGE = "language"
PLACEHOLDER = "[공인알림 본문 — 기록하지 않음]"


def notice_reference(notice_id: str | int, sender_id: str, language: str) -> dict[str, Any]:
    """The custom payload standing for a certified notice's content: the gateway opens it for `sender_id` alone."""
    return {MARKER: True, NOTICE: str(notice_id), SENDER: sender_id, LANGUAGE: language}


def is_confidential(custom: dict[str, Any] | None) -> bool:
    return bool(custom) and custom.get(MARKER) is True


def referenced_notice(custom: dict[str, Any] | None, sender_id: str) -> int | None:
    """The notice a marked reference names, when it was unlocked in this conversation (`sender_id`); else None."""
    if not is_confidential(custom) or custom.get(SENDER) != sender_id:
        return None
    notice_id = str(custom.get(NOTICE) or "")
    return int(notice_id) if notice_id.isascii() and notice_id.isdigit() else None
