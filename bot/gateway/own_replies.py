"""Replies the gateway gives itself, when a message never reaches the assistant, in both languages."""

from bot.gateway.messages import Reply

_TEXTS = {
    "empty": {
        "ko": "메시지가 비어 있어요. 궁금한 것을 글로 적어 주세요.",
        "en": "Your message was empty. Please type what you would like to know.",
    },
    "too_long": {
        "ko": "메시지가 너무 길어요. {limit:,}자 이내로 나누어 보내 주세요.",
        "en": "Your message is too long. Please send it in parts of up to {limit:,} characters.",
    },
    "unknown_button": {
        "ko": "이 버튼은 더 이상 사용할 수 없어요. '도움말'이라고 보내시면 메뉴를 다시 보여 드릴게요.",
        "en": "That button no longer works. Send 'help' to see the menu again.",
    },
    "assistant_down": {
        "ko": "죄송해요, 지금 상담봇이 잠시 응답하지 못하고 있어요. 메시지는 저장되었으니 잠시 후 다시 보내 주세요.",
        "en": "Sorry, the assistant cannot answer right now. Your message was saved; please try again in a moment.",
    },
}


def own_reply(kind: str, language: str | None, **values: object) -> Reply:
    text = _TEXTS[kind]["en" if language == "en" else "ko"]
    return Reply(text=text.format(**values))
