"""The gateway's client of Rasa: its gateway channel (replies and parse) and its HTTP api (tracker events), on the
replica each conversation is routed to."""

import logging
import uuid
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bot.gateway.messages import Reply
from bot.gateway.rasa_replicas import PAUSE_SECONDS, RasaReplicas
from common.rasa_auth import rasa_authorization

logger = logging.getLogger(__name__)
CALLER = "paju-gateway"
# A replica that does not even accept the connection this soon is down: the next one is tried (a message Rasa is
# slow to answer, e.g. while its model loads, is waited for the whole timeout).
CONNECT_TIMEOUT_SECONDS = 5.0
# A proxy in front of the replica answering that the replica is down or missing.
REPLICA_DOWN_STATUSES = frozenset({502, 503, 504})
# The message never reached Rasa, or Rasa went away while it was being sent or answered. A timeout waiting for the
# answer is not one of these: Rasa may still be running the message, and another replica would run it twice.
REPLICA_DOWN_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


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
    """Sends each conversation to its own replica (bot/gateway/rasa_replicas.py), so that Rasa's lock on it is
    rarely contended, and to the next replica on the ring when that one is down: every replica shares the tracker
    store, so any of them can carry on the conversation."""

    def __init__(
        self,
        replicas: str | Sequence[str],
        timeout: float,
        jwt_secret: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
        replica_pause_seconds: float = PAUSE_SECONDS,
    ) -> None:
        self._replicas = RasaReplicas([replicas] if isinstance(replicas, str) else replicas, replica_pause_seconds)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS)),
            auth=RasaJwtAuth(jwt_secret),
            transport=transport,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def send(
        self,
        sender_id: str,
        text: str,
        metadata: dict[str, Any],
        with_parse: bool = False,
        message_id: str | None = None,
        retry: bool = False,
    ) -> Answer:
        """Rasa's replies to the message and, `with_parse`, what it made of it: one call to Rasa's gateway channel
        (bot/nlu/gateway_channel.py).

        `message_id` names the message for Rasa, the same on every delivery of it. A delivery that may come after
        one Rasa already ran (`retry`, and every delivery to the next replica when one went away mid-answer) gets the
        replies Rasa recorded for it instead of running it twice: a form would take it for its next answer.
        """
        body = {
            "sender": sender_id,
            "message": text,
            "metadata": metadata,
            "parse": with_parse,
            "message_id": message_id or uuid.uuid4().hex,
            "retry": retry,
        }
        response = await self._post(sender_id, "/webhooks/gateway/webhook", json=body)
        try:
            answer = response.json()
        except ValueError as error:
            raise RasaUnavailable(str(error)) from error
        return Answer([Reply.model_validate(item) for item in answer["messages"]], answer.get("parse"))

    async def resume_afresh(self, sender_id: str) -> None:
        """Resume a conversation a person had, and restart its dialogue (no half-filled form or slots).

        Both events stay in the tracker, so the pause and the resume can be seen in its history.
        """
        await self._post(
            sender_id,
            f"/conversations/{sender_id}/tracker/events",
            params={"include_events": "NONE"},
            json=[{"event": "resume"}, {"event": "restart"}],
        )

    async def _post(self, sender_id: str, path: str, **request: Any) -> httpx.Response:
        """The answer of the sender's replica or, while replicas are down, of the next one along the ring."""
        down: httpx.HTTPError | None = None
        for replica in self._replicas.in_order(sender_id):
            if down is not None and isinstance(request.get("json"), dict) and "retry" in request["json"]:
                request["json"] = {**request["json"], "retry": True}  # the replica that went away may have run it
            try:
                response = await self._http.post(replica + path, **request)
                response.raise_for_status()
            except httpx.HTTPError as error:
                if not _replica_down(error):
                    raise RasaUnavailable(str(error)) from error
                down = error
                self._replicas.unreachable(replica)
                # Neither the path nor the error's text, which may name it: a tracker's path holds the sender id.
                logger.warning("rasa replica down", extra={"replica": replica, "error": _why(error)})
            else:
                self._replicas.answered(replica)
                return response
        raise RasaUnavailable(str(down)) from down


def _replica_down(error: httpx.HTTPError) -> bool:
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code in REPLICA_DOWN_STATUSES
    return isinstance(error, REPLICA_DOWN_ERRORS)


def _why(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    return type(error).__name__
