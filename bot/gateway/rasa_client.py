"""The gateway's client of Rasa: its gateway channel (replies and parse) and its HTTP api (tracker events)."""

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx

from bot.gateway.messages import Reply
from common.rasa_auth import rasa_authorization

CALLER = "paju-gateway"


class RasaUnavailable(Exception):
    pass


@dataclass
class Answer:
    replies: list[Reply]
    # The parse of the message as Rasa's tracker keeps it (text, intent, intent_ranking, entities, language).
    parse: dict[str, Any] | None = None


class RasaJwtAuth(httpx.Auth):
    """A fresh JWT in the Authorization header of every request: each expires within minutes, and nothing secret
    goes into a URL (and from there into error messages and logs)."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(rasa_authorization(self._secret, CALLER))
        yield request


class RasaClient:
    def __init__(
        self, base_url: str, timeout: float, jwt_secret: str = "", transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout, auth=RasaJwtAuth(jwt_secret), transport=transport
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def send(self, sender_id: str, text: str, metadata: dict[str, Any], with_parse: bool = False) -> Answer:
        """Rasa's replies to the message and, `with_parse`, what it made of it: one call to Rasa's gateway channel
        (bot/nlu/gateway_channel.py)."""
        body = {"sender": sender_id, "message": text, "metadata": metadata, "parse": with_parse}
        try:
            response = await self._http.post("/webhooks/gateway/webhook", json=body)
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise RasaUnavailable(str(error)) from error
        return Answer([Reply.model_validate(item) for item in answer["messages"]], answer.get("parse"))

    async def resume_afresh(self, sender_id: str) -> None:
        """Resume a conversation a person had, and restart its dialogue (no half-filled form or slots).

        Both events stay in the tracker, so the pause and the resume can be seen in its history.
        """
        try:
            response = await self._http.post(
                f"/conversations/{sender_id}/tracker/events",
                params={"include_events": "NONE"},
                json=[{"event": "resume"}, {"event": "restart"}],
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(str(error)) from error
