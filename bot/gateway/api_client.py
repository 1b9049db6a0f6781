"""The gateway's client of the api: recording messages and replies (service token, one retry)."""

import logging
from typing import Any

import httpx

from bot.gateway.messages import IncomingMessage, Reply

logger = logging.getLogger(__name__)


class ApiUnavailable(Exception):
    """The api did not answer; the message was not recorded and must not be processed."""


class ApiClient:
    def __init__(
        self, base_url: str, service_token: str, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {service_token}"},
            timeout=timeout,
            transport=transport,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        for attempt in (1, 2):
            try:
                response = await self._http.post(path, json=body)
            except httpx.TransportError as error:
                if attempt == 2:
                    raise ApiUnavailable(str(error)) from error
                continue
            if response.status_code >= 500 and attempt == 1:
                continue
            if response.status_code >= 400:
                raise ApiUnavailable(f"{path} answered {response.status_code}: {response.text[:200]}")
            return response.json()
        raise AssertionError("unreachable")

    async def record_incoming(self, message: IncomingMessage, text: str, language: str | None) -> dict[str, Any]:
        return await self._post(
            "/api/conversations/messages",
            {
                "channel": message.channel,
                "channel_user_id": message.channel_user_id,
                "channel_message_id": message.channel_message_id,
                "text": text,
                "payload": _payload(message),
                "language": language,
            },
        )

    async def record_replies(self, message_id: int, replies: list[Reply]) -> None:
        await self._post(
            f"/api/conversations/messages/{message_id}/replies",
            {"replies": [reply.model_dump(exclude_none=True) for reply in replies]},
        )

    async def transcript(self, channel: str, channel_user_id: str) -> list[dict[str, Any]]:
        response = await self._http.get(f"/api/conversations/{channel}/{channel_user_id}/messages")
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return response.json()


def _payload(message: IncomingMessage) -> dict[str, Any] | None:
    if message.payload:
        return {"button": message.payload}
    if message.command:
        return {"command": message.command}
    return None
