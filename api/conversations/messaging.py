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


_WAITING_ACK = {
    "ko": "접수됐어요, 담당자에게 전달했어요. 상담원이 연결되면 여기에서 알려 드릴게요.",
    "en": "Received — I've passed it to the staff. You'll see it here when someone joins.",
}
_BUTTON_WHILE_HUMAN = {
    "ko": "지금은 상담원과 대화 중이에요. 상담이 끝나면 다시 쓸 수 있어요.",
    "en": "You're talking with our staff right now. The buttons work again once the conversation ends.",
}
_CLAIMED = {
    "ko": "{title}이 연결됐어요. 궁금한 점을 여기에 적어 주세요.",
    "en": "{title} have joined the conversation. Write your question here.",
}
_SATISFACTION_QUESTION = {
    "ko": "상담은 만족스러우셨나요? 1점(아쉬워요)부터 5점(아주 만족해요)까지 골라 주세요.",
    "en": "Were you satisfied with the conversation? Choose from 1 (poor) to 5 (excellent).",
}
_SATISFACTION_THANKS = {
    "ko": "{score}점, 소중한 의견 고마워요. 더 나은 상담을 위해 쓸게요.",
    "en": "{score} out of 5 — thank you. It helps us answer better.",
}
_SATISFACTION_ALREADY = {
    "ko": "이미 {score}점으로 답해 주셨어요. 고마워요.",
    "en": "You already gave this conversation {score} out of 5. Thank you.",
}


def _in(texts: dict[str, str], language: str | None) -> str:
    return texts["en" if language == "en" else "ko"]


def waiting_ack(language: str | None) -> str:
    """To a citizen writing while they wait for a person: the message is not lost, staff will read it."""
    return _in(_WAITING_ACK, language)


def button_while_human(language: str | None) -> str:
    """A button from before the handoff pressed while a person has the conversation: why it does nothing now."""
    return _in(_BUTTON_WHILE_HUMAN, language)


def claimed(staff_title: str, language: str | None) -> str:
    """A staff member took the conversation: who the citizen is talking to now."""
    return _in(_CLAIMED, language).format(title=staff_title)


def satisfaction_question(language: str | None) -> str:
    return _in(_SATISFACTION_QUESTION, language)


def satisfaction_choice(score: int, language: str | None) -> str:
    """A button's title: 5점, or just 5 in English."""
    return str(score) if language == "en" else f"{score}점"


def satisfaction_thanks(score: int, language: str | None) -> str:
    return _in(_SATISFACTION_THANKS, language).format(score=score)


def satisfaction_already(score: int, language: str | None) -> str:
    return _in(_SATISFACTION_ALREADY, language).format(score=score)


_BUTTON_EXPIRED = {
    "ko": "이 버튼은 더 이상 사용할 수 없어요. 궁금한 점을 글로 적어 주세요.",
    "en": "That button no longer works. Please type what you would like to know.",
}


def button_expired(language: str | None) -> str:
    return _in(_BUTTON_EXPIRED, language)
