"""The gateway's client of the api: recording messages and replies (service token, one retry)."""

import logging
import math
from dataclasses import dataclass
from typing import Any

import httpx

from bot.gateway.messages import IncomingMessage, Reply, for_transcript

logger = logging.getLogger(__name__)
# The api reads, checks and re-encodes a photo of up to 10 MiB before it answers: longer than a message takes.
PHOTO_UPLOAD_TIMEOUT_SECONDS = 30.0
# The api's refusals of a photo: too large (413), not a photo it takes (422), too many today (429).
PHOTO_REFUSALS = frozenset({413, 422, 429})


class ApiUnavailable(Exception):
    """The api did not answer; the message was not recorded and must not be processed."""


class ApiRefused(ApiUnavailable):
    """The api answered with a refusal (4xx): `status` says which. Still an ApiUnavailable to callers that only
    need to know the call did not go through."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class PhotoRefused(ApiRefused):
    """The api refused a photo; `message` is its reason, already in the citizen's language, for them to read."""

    def __init__(self, message: str, status: int, code: str | None) -> None:
        super().__init__(message, status)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class UploadedPhoto:
    """A photo the api keeps for a report, and where it was taken when the photo said so."""

    photo_id: int
    latitude: float | None = None
    longitude: float | None = None


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
        return await self._send("POST", path, body)

    async def _send(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        response = await self._request(method, path, json=body)
        if response.status_code >= 400:
            raise ApiRefused(f"{path} answered {response.status_code}: {response.text[:200]}", response.status_code)
        return response.json() if response.content else None

    async def _request(self, method: str, path: str, **request: Any) -> httpx.Response:
        """The api's answer, once more after a failure to reach it or a 5xx; ApiUnavailable if still none."""
        for attempt in (1, 2):
            try:
                response = await self._http.request(method, path, **request)
            except httpx.TransportError as error:
                if attempt == 2:
                    raise ApiUnavailable(str(error)) from error
                continue
            if response.status_code >= 500 and attempt == 1:
                continue
            if response.status_code >= 500:
                raise ApiUnavailable(f"{path} answered {response.status_code}: {response.text[:200]}")
            return response
        raise AssertionError("unreachable")

    async def begin_turn(
        self,
        message: IncomingMessage,
        text: str,
        language: str | None,
        delivery_id: str | None = None,
        lease_seconds: int | None = None,
        language_hint: str | None = None,
    ) -> dict[str, Any]:
        """Records the message, holds it for this delivery to answer (the api's lease) and says who answers it."""
        body = {
            "channel": message.channel,
            "channel_user_id": message.channel_user_id,
            "channel_message_id": message.channel_message_id,
            "text": text,
            "payload": _payload(message),
            "language": language,
            "language_hint": language_hint,
            "delivery_id": delivery_id,
        }
        if lease_seconds is not None:
            body["lease_seconds"] = lease_seconds
        return await self._post("/api/conversations/turns", body)

    async def end_turn(
        self,
        message_id: int,
        replies: list[Reply],
        answered: bool = True,
        bot_reset: bool = False,
        language_choice: str | None = None,
        parse: dict[str, Any] | None = None,
    ) -> None:
        """Records the replies (a certified notice's content as a placeholder) and releases the message; `answered`
        False when they only said the assistant could not answer. With them, what else the turn did: restarted the
        assistant's dialogue, took the citizen's language choice (ko, en, auto), and Rasa's parse for the NLU inbox."""
        body = {
            "replies": [for_transcript(reply).model_dump(exclude_none=True) for reply in replies],
            "answered": answered,
            "bot_reset": bot_reset,
            "language_choice": language_choice,
            "parse": parse,
        }
        await self._post(f"/api/conversations/turns/{message_id}/end", body)

    async def extend_lease(self, message_id: int, lease_seconds: int) -> None:
        await self._post(f"/api/conversations/messages/{message_id}/lease", {"lease_seconds": lease_seconds})

    async def upload_report_photo(
        self,
        channel: str,
        channel_user_id: str,
        data: bytes,
        filename: str,
        content_type: str,
        language: str | None,
    ) -> UploadedPhoto:
        """Leaves a citizen's photo with the api for the report they are making. The same bytes from the same
        conversation are the same photo, so a retried upload (or a retried message) adds none. PhotoRefused, with
        the api's words in `language`, when the api will not take it."""
        path = "/api/reports/photos"
        response = await self._request(
            "POST",
            path,
            data={"channel": channel, "channel_user_id": channel_user_id},
            files={"file": (filename, data, content_type)},
            headers={"Accept-Language": "en" if language == "en" else "ko"},
            timeout=PHOTO_UPLOAD_TIMEOUT_SECONDS,
        )
        detail = _detail(response)
        if response.status_code in PHOTO_REFUSALS and isinstance(detail.get("detail"), str):
            raise PhotoRefused(detail["detail"], response.status_code, detail.get("code"))
        if response.status_code >= 400:
            raise ApiRefused(f"{path} answered {response.status_code}: {response.text[:200]}", response.status_code)
        try:
            body = response.json()
            photo_id = int(body["photo_id"])
        except (ValueError, TypeError, KeyError) as error:
            raise ApiUnavailable(f"{path} answered {response.status_code} without a photo id") from error
        latitude, longitude = _coordinate(body.get("latitude")), _coordinate(body.get("longitude"))
        if latitude is None or longitude is None:
            return UploadedPhoto(photo_id)
        return UploadedPhoto(photo_id, latitude, longitude)

    async def personal_notice(self, channel: str, channel_user_id: str, notice_id: int) -> dict[str, Any]:
        """A certified notice's content, for this conversation to show; the api refuses (ApiRefused) unless its
        identity code was entered here moments ago. The first reading is recorded as the time it was read."""
        body = {"channel": channel, "channel_user_id": channel_user_id}
        return await self._post(f"/api/personal-notices/{notice_id}/read", body)

    async def claim_outbox(self, channels: list[str], limit: int, lease_seconds: int) -> list[dict[str, Any]]:
        return await self._post(
            "/api/outbox/claim", {"channels": channels, "limit": limit, "lease_seconds": lease_seconds}
        )

    async def collect_outbox(
        self, channel: str, channel_user_id: str, after: int | None = None
    ) -> list[dict[str, Any]]:
        """Messages waiting for a citizen whose client polls (web chat); the api marks them delivered. With `after`
        (the message id of the newest the client has shown), also those handed over before with a later id."""
        body = {"channel": channel, "channel_user_id": channel_user_id, "after": after}
        try:
            return await self._post("/api/outbox/collect", body)
        except ApiUnavailable as error:
            if " 404:" in str(error):  # no conversation yet: nothing can be waiting
                return []
            raise

    async def enqueue_outbox(
        self,
        channel: str,
        channel_user_id: str,
        text: str,
        *,
        kind: str,
        buttons: list[dict[str, str]] | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        """Leaves a message for the citizen in the outbox, delivered like the city's own; a `dedupe_key` already
        written adds nothing, so a retried call never sends it twice."""
        body = {
            "channel": channel,
            "channel_user_id": channel_user_id,
            "text": text,
            "kind": kind,
            "buttons": buttons or None,
            "dedupe_key": dedupe_key,
        }
        await self._post("/api/outbox", body)

    async def report_delivery(self, outbox_id: int, result: dict[str, Any]) -> bool:
        """Whether the api applied the report: not one of an attempt whose lease another gateway holds since."""
        return (await self._post(f"/api/outbox/{outbox_id}/result", result))["applied"]

    async def transcript(self, channel: str, channel_user_id: str) -> list[dict[str, Any]]:
        response = await self._http.get(f"/api/conversations/{channel}/{channel_user_id}/messages")
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return response.json()


def _detail(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _coordinate(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _payload(message: IncomingMessage) -> dict[str, Any] | None:
    if message.payload:
        return {"button": message.payload}
    if message.payload_key:
        return {"button_key": message.payload_key}
    if message.location:
        return {"location": {"latitude": message.location[0], "longitude": message.location[1]}}
    if message.command:
        return {"command": message.command}
    if message.photo:
        # What the transcript can say of it; the photo itself the api keeps only once it is uploaded for a report.
        return {"photo": {"content_type": message.photo.content_type, "bytes": message.photo.size}}
    return None
