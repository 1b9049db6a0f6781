"""The web chat channel: the chat page at `/`, its JSON endpoints, and the cookie that says who the citizen is."""

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field

from bot.gateway.api_client import ApiClient, ApiUnavailable
from bot.gateway.messages import Button, IncomingMessage, Photo, Reply, recorded_buttons, shown_buttons
from bot.gateway.own_replies import photo_too_large
from bot.gateway.rate_limits import client_address, within_limits
from bot.gateway.router import MessageRouter, TurnInProgress
from bot.gateway.settings import GatewaySettings

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parents[1] / "static"
COOKIE = "paju_chat"
_USER_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_MESSAGE_ID = 2**31 - 1  # the api's ids are 32-bit: a larger cursor is bad input, not an api error
# The chat page's placeholder for the largest photo it may send, so that it refuses a larger one before uploading.
PHOTO_LIMIT_PLACEHOLDER = "{{photo_max_bytes}}"
# The multipart framing and the form's other fields around a photo's bytes.
PHOTO_FORM_OVERHEAD = 16 * 1024

router = APIRouter()


class WebIdentity:
    """Issues and checks the web chat's identity: a random id, signed, in an HttpOnly cookie.

    The id is the key to a citizen's transcript and waiting messages. It is made here, never by
    the page, and travels only in the cookie: not in a URL, a request body or the page's script,
    so it reaches no log and no other script. The signature means only this gateway can make one:
    a forged or tampered cookie is ignored and its holder gets a fresh id with an empty history.
    """

    def __init__(self, secret: str, secure: bool, max_age_days: int) -> None:
        self._key = hashlib.sha256(b"paju web chat identity\0" + secret.encode()).digest()
        self._secure = secure
        self._max_age = max_age_days * 86_400

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> "WebIdentity":
        secret = settings.web_session_secret.get_secret_value()
        if not secret:
            logger.warning("WEB_SESSION_SECRET is not set: web chat users lose their conversation on restart")
            secret = secrets.token_hex(32)
        return cls(secret, settings.web_cookie_secure, settings.web_session_days)

    def _signed(self, user_id: str) -> str:
        mac = hmac.new(self._key, user_id.encode(), hashlib.sha256).digest()
        return f"{user_id}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    def verify(self, cookie: str | None) -> str | None:
        """The id in a cookie this gateway signed; None for a missing, malformed or forged one."""
        user_id = (cookie or "").partition(".")[0]
        if not _USER_ID.fullmatch(user_id) or not hmac.compare_digest(self._signed(user_id), cookie or ""):
            return None
        return user_id

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(16)

    def set_cookie(self, response: Response, request: Request, user_id: str) -> None:
        response.set_cookie(
            COOKIE,
            self._signed(user_id),
            max_age=self._max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self._secure or request.url.scheme == "https",
        )


def web_user_id(request: Request) -> str | None:
    """The web chat user's id for this request: from its signed cookie, or the one this request was just given.

    None before an endpoint has given a first-time visitor (or one with a forged cookie) their id.
    """
    given = getattr(request.state, "web_user_id", None)
    return given or request.app.state.web_identity.verify(request.cookies.get(COOKIE))


def _identify(request: Request, response: Response) -> str:
    """The citizen's id; a first visit, or a missing or forged cookie, gets a new one (and so an empty history)."""
    user_id = web_user_id(request)
    if user_id is None:
        user_id = request.state.web_user_id = WebIdentity.new_id()
        request.app.state.web_identity.set_cookie(response, request, user_id)
    return user_id


def _is_new(request: Request) -> bool:
    return getattr(request.state, "web_user_id", None) is not None


class WebLocation(BaseModel):
    """Where the citizen is, as their browser told the page."""

    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False)


class WebMessage(BaseModel):
    message_id: str = Field(min_length=1, max_length=64)
    text: str = Field(default="", max_length=16_384)
    payload: str | None = Field(default=None, max_length=1024)
    location: WebLocation | None = None
    language: Literal["ko", "en"] | None = None


class WebButton(BaseModel):
    """A button as the page shows it. A link has its https address in `url`: the page opens it in a new tab and sends
    nothing; any other button sends its payload."""

    title: str
    payload: str
    url: str | None = None


class WebReply(Reply):
    buttons: list[WebButton] | None = None
    # A staff member's message ("staff", with how the citizen sees them: 관광과 상담원): the page draws it apart.
    author: Literal["staff"] | None = None
    author_name: str | None = None


class WebReplies(BaseModel):
    replies: list[WebReply]


class WebHistoryItem(BaseModel):
    id: int
    direction: Literal["in", "out"]
    text: str | None
    buttons: list[WebButton] | None = None
    # A chart or photo the assistant sent: shown again after a reload, not an empty bubble.
    image: str | None = None
    author: Literal["staff"] | None = None
    author_name: str | None = None


def _authored(fields: dict[str, Any]) -> dict[str, Any]:
    """Who wrote a recorded or waiting message, when a staff member did; nothing for the assistant's own."""
    if fields.get("author") != "staff":
        return {}
    name = fields.get("author_name")
    return {"author": "staff", "author_name": name if isinstance(name, str) else None}


def _web_buttons(buttons: list[Button] | None) -> list[WebButton] | None:
    """The buttons the page shows, links marked; a button whose payload is an address other than https is left out."""
    shown = [WebButton(title=button.title, payload=button.payload, url=button.url) for button in shown_buttons(buttons)]
    return shown or None


def _web_reply(reply: Reply) -> WebReply:
    fields = reply.model_dump(exclude={"buttons"})
    authored = _authored({**(reply.custom or {}), **fields})
    return WebReply(**{**fields, **authored}, buttons=_web_buttons(reply.buttons))


def _router(request: Request) -> MessageRouter:
    return request.app.state.router


def _api(request: Request) -> ApiClient:
    return request.app.state.api


def photo_body_limit(settings: GatewaySettings) -> dict[str, int]:
    """The web chat's photo route takes a photo's bytes, more than any message (the BodyLimit's `routes`)."""
    return {"POST /web/photos": settings.report_photo_max_bytes + PHOTO_FORM_OVERHEAD}


@router.get("/", include_in_schema=False)
async def chat_page(request: Request) -> HTMLResponse:
    max_bytes = request.app.state.photo_max_bytes
    page = HTMLResponse((STATIC / "index.html").read_text().replace(PHOTO_LIMIT_PLACEHOLDER, str(max_bytes)))
    # Given before the page's first request, so that its requests all carry the same id; renewed on each visit.
    user_id = web_user_id(request) or WebIdentity.new_id()
    request.app.state.web_identity.set_cookie(page, request, user_id)
    return page


@router.post("/web/messages", response_model=WebReplies)
async def post_message(
    body: WebMessage,
    request: Request,
    user_id: str = Depends(_identify),
    router_: MessageRouter = Depends(_router),
) -> WebReplies:
    await within_limits(
        request,
        ("web_message_per_identity", user_id),
        ("web_message_per_client", client_address(request)),
        language=body.language,
    )
    message = IncomingMessage(
        channel="web",
        channel_user_id=user_id,
        channel_message_id=body.message_id,
        text=body.text,
        payload=body.payload,
        location=(body.location.latitude, body.location.longitude) if body.location else None,
        language_hint=body.language,
    )
    return WebReplies(replies=await _answer(router_, message))


@router.post("/web/photos", response_model=WebReplies)
async def post_photo(
    request: Request,
    message_id: str = Form(min_length=1, max_length=64),
    language: Literal["ko", "en"] | None = Form(default=None),
    file: UploadFile = File(),
    user_id: str = Depends(_identify),
    router_: MessageRouter = Depends(_router),
) -> WebReplies:
    """A photo for a report, sent like a message (the same identity, limits and retries): the api decides whether
    it is a photo it takes, and its refusal is the answer."""
    await within_limits(
        request,
        ("web_message_per_identity", user_id),
        ("web_message_per_client", client_address(request)),
        language=language,
    )
    max_bytes = request.app.state.photo_max_bytes
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HTTPException(413, photo_too_large(max_bytes, language).text)
    photo = Photo(data, file.content_type or "application/octet-stream", file.filename or "photo")
    message = IncomingMessage(
        channel="web",
        channel_user_id=user_id,
        channel_message_id=message_id,
        photo=photo,
        language_hint=language,
    )
    return WebReplies(replies=await _answer(router_, message))


async def _answer(router_: MessageRouter, message: IncomingMessage) -> list[WebReply]:
    try:
        return [_web_reply(reply) for reply in await router_.handle(message)]
    except ApiUnavailable as error:
        raise HTTPException(503, "service temporarily unavailable, please retry") from error
    except TurnInProgress as error:
        # An earlier send of this message is still being answered (a request cut off, then retried): the page
        # retries this one until that answer is recorded, or its turn has died and this one is answered.
        raise HTTPException(503, "your message is still being answered, please retry") from error


@router.get("/web/history", response_model=list[WebHistoryItem])
async def history(
    request: Request, user_id: str = Depends(_identify), api: ApiClient = Depends(_api)
) -> list[WebHistoryItem]:
    await within_limits(request, ("web_history_per_client", client_address(request)))
    if _is_new(request):
        return []
    try:
        messages = await api.transcript("web", user_id)
    except Exception as error:
        raise HTTPException(503, "history temporarily unavailable") from error
    return [
        WebHistoryItem(
            id=m["id"],
            direction=m["direction"],
            text=m["text"],
            buttons=_web_buttons(recorded_buttons((m.get("payload") or {}).get("buttons"))),
            image=(m.get("payload") or {}).get("image"),
            **_authored(m.get("payload") or {}),
        )
        for m in messages
    ]


@router.get("/web/updates", response_model=list[WebHistoryItem])
async def updates(
    request: Request,
    after: int | None = Query(default=None, ge=0, le=MAX_MESSAGE_ID),
    user_id: str = Depends(_identify),
    api: ApiClient = Depends(_api),
) -> list[WebHistoryItem]:
    """Messages the city sent since the page last asked (staff replies, reminders): the page polls this.

    `after` is the id of the newest city message the page has shown (at first the newest of its history): what
    was handed over after it comes again, so a response lost on the way (a gateway that died) arrives with the next
    poll; the page shows each id once. Without it, only what is waiting, as for a page from before the cursor.
    """
    await within_limits(
        request, ("web_updates_per_identity", user_id), ("web_updates_per_client", client_address(request))
    )
    if _is_new(request):
        return []
    try:
        waiting = await api.collect_outbox("web", user_id, after)
    except ApiUnavailable as error:
        raise HTTPException(503, "updates temporarily unavailable") from error
    return [_city_message(m) for m in waiting]


def _city_message(waiting: dict[str, Any]) -> WebHistoryItem:
    """A message the city sent, as the api's outbox hands it over, for the page."""
    return WebHistoryItem(
        id=waiting["message_id"],
        direction="out",
        text=waiting["text"],
        buttons=_web_buttons(recorded_buttons(waiting["buttons"])),
        **_authored(waiting),
    )


class EventStreams:
    """How many push streams this process holds open, against its cap: each holds a connection and asks the api."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0


@router.get("/web/events", include_in_schema=False)
async def events(
    request: Request,
    after: int | None = Query(default=None, ge=0, le=MAX_MESSAGE_ID),
    last_event_id: str | None = Header(default=None, max_length=16),
    api: ApiClient = Depends(_api),
) -> StreamingResponse:
    """Messages the city sends (staff replies, reminders, notices), pushed as server-sent events while the page is open.

    The same messages, through the same path, as /web/updates: the api's outbox, so a message left there by any
    replica reaches a stream held by any other. Each event's id is the message's; a browser reconnecting sends the
    last one it got (Last-Event-ID) and gets only what came after it. A stream ends after WEB_EVENTS_SECONDS and the
    browser opens another; a page whose stream fails (refused, cut, too many open) polls /web/updates instead.
    Only the holder of a cookie this gateway signed has a stream: a first visit gets its cookie from the page.
    """
    user_id = web_user_id(request)
    if user_id is None:
        raise HTTPException(401, "open the chat page first")
    await within_limits(
        request, ("web_updates_per_identity", user_id), ("web_updates_per_client", client_address(request))
    )
    streams: EventStreams = request.app.state.web_event_streams
    if streams.open >= streams.limit:
        raise HTTPException(503, "too many open streams: poll /web/updates")
    resumed = (last_event_id or "").strip()
    cursor = int(resumed) if resumed.isdigit() and int(resumed) <= MAX_MESSAGE_ID else after
    settings: GatewaySettings = request.app.state.settings
    return StreamingResponse(
        _event_stream(api, user_id, cursor, settings, streams),
        media_type="text/event-stream",
        # No proxy may hold events back to fill a buffer, and no cache may keep one citizen's messages.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


KEEPALIVE_SECONDS = 15  # a comment line, so that an idle stream is not cut by a proxy and a gone browser is noticed


async def _event_stream(
    api: ApiClient, user_id: str, cursor: int | None, settings: GatewaySettings, streams: EventStreams
) -> AsyncIterator[str]:
    streams.open += 1
    try:
        # The browser waits this long before it reconnects after the stream ends.
        yield "retry: 2000\n\n"
        ends = time.monotonic() + settings.web_events_seconds
        quiet_since = time.monotonic()
        while time.monotonic() < ends:
            try:
                waiting = await api.collect_outbox("web", user_id, cursor)
            except ApiUnavailable:
                return  # the browser reconnects; the messages wait in the outbox
            for message in waiting:
                item = _city_message(message)
                cursor = max(cursor or 0, item.id)
                yield f"id: {item.id}\ndata: {item.model_dump_json()}\n\n"
                quiet_since = time.monotonic()
            if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(min(settings.web_events_poll_seconds, max(0.0, ends - time.monotonic())))
    finally:
        streams.open -= 1
