"""The gateway's client of Rasa's REST channel."""

from typing import Any

import httpx

from bot.gateway.messages import Reply


class RasaUnavailable(Exception):
    pass


class RasaClient:
    def __init__(self, base_url: str, timeout: float, token: str = "") -> None:
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)
        self._token = token

    async def close(self) -> None:
        await self._http.aclose()

    async def send(self, sender_id: str, text: str, metadata: dict[str, Any]) -> list[Reply]:
        try:
            response = await self._http.post(
                "/webhooks/rest/webhook",
                json={"sender": sender_id, "message": text, "metadata": metadata},
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(str(error)) from error
        return [Reply.model_validate(item) for item in response.json()]

    async def latest_message(self, sender_id: str) -> dict[str, Any]:
        """The parse of the conversation's latest user message (text, intent, ranking, entities, metadata)."""
        try:
            response = await self._http.get(
                f"/conversations/{sender_id}/tracker", params={"token": self._token, "include_events": "NONE"}
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(str(error)) from error
        return response.json().get("latest_message") or {}

    async def resume_afresh(self, sender_id: str) -> None:
        """Resume a conversation a person had, and restart its dialogue (no half-filled form or slots).

        Both events stay in the tracker, so the pause and the resume can be seen in its history.
        """
        try:
            response = await self._http.post(
                f"/conversations/{sender_id}/tracker/events",
                params={"token": self._token, "include_events": "NONE"},
                json=[{"event": "resume"}, {"event": "restart"}],
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(str(error)) from error
