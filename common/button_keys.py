"""Short stand-ins for button payloads too long for a messenger's callback data (Telegram: 64 bytes)."""

import hashlib

KEY_PREFIX = "k:"


def button_key(payload: str) -> str:
    """The same payload always gets the same key, so any gateway replica can resolve it from the transcript."""
    return KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:24]
