"""Messages the city sends to KakaoTalk users (staff replies, reminders, notices): Kakao's Event API, for the outbox.

`POST {KAKAO_API_BASE_URL}/v2/bots/{KAKAO_BOT_ID}/talk` with `Authorization: KakaoAK {KAKAO_REST_API_KEY}` fires the
event block named KAKAO_EVENT_NAME in Open Builder for one user (botUserKey); the block shows the event's `text`.
Kakao charges for every event message, and answers "SUCCESS" when it has accepted the task, not yet delivered it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from bot.gateway.channels.kakao_render import MAX_TEXT, split_text, staff_prefixed
from bot.gateway.messages import recorded_buttons, shown_buttons
from bot.gateway.outbox import Delivery
from bot.gateway.settings import GatewaySettings

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
# Failures that say nothing about the citizen: the city's key or permissions, a timeout, Kakao being busy or down.
_RETRY_STATUSES = {401, 403, 408, 409, 425, 429}

TEXTS = {
    "choices": {"ko": "다음 중 하나를 보내 주세요:", "en": "Reply with one of:"},
}


def event_text(message: dict[str, Any]) -> str:
    """An outbox message as the event's text. An event message has no buttons: a link is written as its title and
    address; the other buttons' titles are listed, and the citizen can send one of them."""
    text = staff_prefixed((message.get("text") or "").strip(), message)
    buttons = shown_buttons(recorded_buttons(message.get("buttons")))
    links = "\n".join(f"{button.title}: {button.url}" for button in buttons if button.url)
    titles = [button.title for button in buttons if not button.url]
    choices = ""
    if titles:
        heading = TEXTS["choices"]["en" if message.get("language") == "en" else "ko"]
        choices = heading + "\n" + "\n".join(f"· {title}" for title in titles)
    return "\n\n".join(filter(None, [text, links, choices]))


class KakaoEventApi:
    """The outbox's deliverer for the `kakao` channel: its answer says whether and when to try again."""

    def __init__(
        self,
        base_url: str,
        bot_id: str,
        rest_api_key: str,
        event_name: str,
        timeout: float = TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._path = f"/v2/bots/{quote(bot_id, safe='')}/talk"
        self._event_name = event_name
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"KakaoAK {rest_api_key}"},
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> KakaoEventApi | None:
        """None without the bot id and the REST API key: Kakao messages then wait in the outbox."""
        key = settings.kakao_rest_api_key.get_secret_value()
        if not (settings.kakao_bot_id and key):
            return None
        return cls(settings.kakao_api_base_url, settings.kakao_bot_id, key, settings.kakao_event_name)

    async def close(self) -> None:
        await self._http.aclose()

    async def deliver(self, message: dict[str, Any]) -> Delivery:
        """Sends one outbox message, in parts of at most 1,000 characters (what the event block's text shows)."""
        tasks = []
        for part in split_text(event_text(message), MAX_TEXT):
            delivery = await self.send(message["channel_user_id"], part)
            if delivery.status != "delivered":
                return delivery
            tasks.append(delivery.channel_message_id or "")
        return Delivery("delivered", channel_message_id=",".join(filter(None, tasks))[:128] or None)

    async def send(self, bot_user_key: str, text: str) -> Delivery:
        body = {
            "event": {"name": self._event_name, "data": {"text": text}},
            "user": [{"type": "botUserKey", "id": bot_user_key}],
        }
        try:
            response = await self._http.post(self._path, json=body)
        except httpx.HTTPError as error:  # timeouts included: try again with backoff
            return Delivery("retry", error=f"{type(error).__name__}: {error}")
        status = response.status_code
        error = f"Kakao answered {status}: {response.text[:300]}"
        if status in _RETRY_STATUSES or status >= 500:
            if status in (401, 403):
                logger.error("kakao event api refused the city's key: check KAKAO_REST_API_KEY and KAKAO_BOT_ID")
            return Delivery("retry", error=error, retry_after=_retry_after(response) if status == 429 else None)
        if status >= 400:
            # The user is unknown to the bot (never talked to it, or left): retrying cannot help.
            return Delivery("unreachable", error=error)
        try:
            result = response.json()
        except ValueError:
            result = {}
        if not isinstance(result, dict) or result.get("status", "SUCCESS") != "SUCCESS":
            return Delivery("retry", error=f"Kakao did not accept the event: {response.text[:300]}")
        return Delivery("delivered", channel_message_id=str(result.get("taskId") or "") or None)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None
