"""Certified personal notices in chat: the action's marked reference opened here, for the conversation it was
unlocked in, and laid out in the citizen's language.

The content never passes through Rasa (its tracker store would keep it): the gateway asks the api for it, which
hands it over only to the conversation where the identity code was just entered. The reply stays marked, so
the transcript records the placeholder (messages.for_transcript).
"""

import logging
from datetime import datetime
from typing import Any

from bot.gateway.api_client import ApiClient, ApiRefused, ApiUnavailable
from bot.gateway.messages import Button, IncomingMessage, Reply
from common import confidential
from common.clock import local
from common.payloads import payload

logger = logging.getLogger(__name__)

_TEXTS = {
    "content": {
        "ko": "📨 {department}에서 보낸 공인알림 ({date})\n{title}\n\n{body}",
        "en": "📨 Certified notice from {department} ({date})\n{title}\n\n{body}",
    },
    "refused": {
        "ko": "죄송해요, 이 공인알림은 지금 보여 드릴 수 없어요. 본인 확인을 다시 하고 열어 주세요.",
        "en": "Sorry, I can't show this certified notice now. Please confirm it is you again to open it.",
    },
    "unavailable": {
        "ko": "죄송해요, 지금 공인알림을 불러오지 못했어요. 잠시 후 다시 열어 주세요.",
        "en": "Sorry, I couldn't fetch your certified notice just now. Please open it again in a moment.",
    },
    "open": {"ko": "본인 확인하고 열기", "en": "Confirm and open"},
}


async def opened(api: ApiClient, message: IncomingMessage, replies: list[Reply], language: str | None) -> list[Reply]:
    """The assistant's replies with each certified-notice reference replaced by the notice, or by a polite refusal."""
    return [
        await _opened(api, message, reply, language) if confidential.is_confidential(reply.custom) else reply
        for reply in replies
    ]


async def _opened(api: ApiClient, message: IncomingMessage, reply: Reply, language: str | None) -> Reply:
    custom = reply.custom or {}
    # The action knew the conversation's language (its slot); the gateway only guesses it from this message.
    language = "en" if custom.get(confidential.LANGUAGE, language) == "en" else "ko"
    notice_id = confidential.referenced_notice(custom, message.sender_id)
    if notice_id is None:
        # Not a reference for this conversation (or content the action should never have sent): shown to nobody.
        logger.warning("a confidential reply named no notice of this conversation; not shown")
        return refusal("refused", None, language)
    try:
        notice = await api.personal_notice(message.channel, message.channel_user_id, notice_id)
    except ApiRefused as error:
        logger.warning("certified notice refused", extra={"personal_notice_id": notice_id, "status": error.status})
        return refusal("refused", notice_id, language)
    except ApiUnavailable as error:
        logger.warning("certified notice not fetched", extra={"personal_notice_id": notice_id, "error": str(error)})
        return refusal("unavailable", notice_id, language)
    return content(notice, language)


def content(notice: dict[str, Any], language: str) -> Reply:
    """The notice as the citizen reads it: sender and date, title, body; marked, so that nothing records it."""
    sent = local(datetime.fromisoformat(notice["sent_at"]))
    date = f"{sent:%b} {sent.day}" if language == "en" else f"{sent.month}월 {sent.day}일"
    text = _TEXTS["content"][language].format(
        department=notice["department"], date=date, title=notice["title"], body=notice["body"]
    )
    return Reply(text=text, custom={confidential.MARKER: True})


def refusal(reason: str, notice_id: int | None, language: str) -> Reply:
    """Why the notice is not shown, politely, with the button that starts its opening again."""
    if notice_id is None:
        return Reply(text=_TEXTS[reason][language])
    again = payload("notice_open", personal_notice_id=str(notice_id))
    return Reply(text=_TEXTS[reason][language], buttons=[Button(title=_TEXTS["open"][language], payload=again)])
