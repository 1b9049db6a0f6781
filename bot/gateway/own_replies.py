"""Replies the gateway gives itself, when a message never reaches the assistant, in both languages."""

from bot.gateway.messages import Button, Reply
from common.payloads import payload

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
    "handoff_taken": {
        "ko": "담당 직원이 이미 대화를 맡았어요. 여기에 메시지를 남기시면 직원이 답해 드려요.",
        "en": "A staff member has already taken your conversation. Write here and they will answer.",
    },
    "language_menu": {
        "ko": "어떤 언어로 대화할까요? '자동'을 고르면 보내시는 글의 언어로 답해요.",
        "en": "Which language shall I use? 'Automatic' answers in the language you write in.",
    },
    "language_set": {
        "ko": "이제 한국어로 답할게요. 바꾸려면 /language 를 보내 주세요.",
        "en": "I'll answer in English from now on. Send /language to change it.",
    },
    "photo_too_large": {
        "ko": "사진이 너무 커요. {size_ko}까지의 사진만 받을 수 있어요.",
        "en": "That photo is too large. Photos of up to {size_en} are accepted.",
    },
    "photo_not_received": {
        "ko": "사진을 받지 못했어요. 잠시 후 다시 보내 주세요.",
        "en": "Your photo did not come through. Please send it again in a moment.",
    },
    "language_auto": {
        "ko": "이제 보내시는 글의 언어(한국어 또는 영어)로 답할게요.",
        "en": "I'll answer in the language you write in (Korean or English).",
    },
}


def language_menu(language: str | None) -> Reply:
    automatic = "자동" if language != "en" else "Automatic"
    choices = [("한국어", "ko"), ("English", "en"), (automatic, "auto")]
    buttons = [Button(title=title, payload=payload("choose_language", language=code)) for title, code in choices]
    return own_reply("language_menu", language).model_copy(update={"buttons": buttons})


def photo_too_large(max_bytes: int, language: str | None) -> Reply:
    return own_reply("photo_too_large", language, size_ko=_size(max_bytes, "ko"), size_en=_size(max_bytes, "en"))


def _size(count: int, language: str) -> str:
    """A size in the words a citizen reads: 10메가바이트, 10 MB."""
    units = [(1024 * 1024, "메가바이트", " MB"), (1024, "킬로바이트", " KB"), (1, "바이트", " bytes")]
    unit, korean, english = next(unit for unit in units if count >= unit[0])
    amount = f"{count / unit:.1f}".removesuffix(".0")
    return amount + (korean if language == "ko" else english)


def own_reply(kind: str, language: str | None, **values: object) -> Reply:
    text = _TEXTS[kind]["en" if language == "en" else "ko"]
    return Reply(text=text.format(**values))
