"""What the conversations domain says to citizens on its own, in Korean and English."""

# Enough of the message for the citizen to tell which one it was.
EXCERPT_CHARS = 40


def _excerpt(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    if not text:
        return None
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def unanswered(text: str | None, language: str) -> str:
    """To a citizen whose message the assistant never answered: it failed, and they should send it again."""
    excerpt = _excerpt(text)
    if language == "en":
        which = f' ("{excerpt}")' if excerpt else ""
        return f"Sorry, the assistant could not answer your message{which}. Please send it again."
    which = f"(“{excerpt}”)" if excerpt else ""
    return f"죄송해요, 보내신 메시지{which}에 상담봇이 답하지 못했어요. 다시 한번 보내 주세요."
