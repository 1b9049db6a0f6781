"""The KakaoTalk channel: a Kakao i Open Builder skill at `POST /kakao/skill`, answered within Kakao's 5 seconds.

Kakao posts each message of a KakaoTalk user (the bot's fallback block calls the skill) with the user's botUserKey
and their words; a pressed quick reply or card button says its title and brings back its `extra` as clientExtra
(`{"payload": ...}`: the payload itself, or its short key). A turn that takes longer than
KAKAO_SKILL_DEADLINE_SECONDS is answered with `useCallback` and its real answer posted once to the request's
callbackUrl; without one, the citizen is asked to wait and the answer follows through the outbox (Event API). Photos
come through the secure image plugin: each is downloaded from Kakao's image server and routed as a photo.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import math
import re
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis.asyncio as redis
from fastapi import APIRouter, HTTPException, Request

from bot.gateway.api_client import ApiClient, ApiUnavailable
from bot.gateway.channels.kakao_photos import KakaoPhotos, PhotoNotReceived, PhotoTooLarge, secure_urls
from bot.gateway.channels.kakao_render import (
    KakaoAnswer,
    callback_response,
    first_page,
    plain_text,
    render,
    split_text,
    text_response,
)
from bot.gateway.messages import IncomingMessage, Reply
from bot.gateway.own_replies import own_reply, photo_too_large
from bot.gateway.rate_limits import GatewayLimits, RateLimited
from bot.gateway.router import MessageRouter, TurnInProgress
from bot.gateway.settings import GatewaySettings
from common import confidential
from common.button_keys import KEY_PREFIX
from common.clock import utcnow
from common.language import detect_language

logger = logging.getLogger(__name__)

CHANNEL = "kakao"
# A callbackUrl is good for one minute; a later answer goes through the outbox instead.
CALLBACK_VALID_SECONDS = 55.0
CALLBACK_TIMEOUT_SECONDS = 10.0
# The outbox takes texts of up to 4,096 characters; a longer late answer is left as several messages.
OUTBOX_TEXT = 4000
MAX_UTTERANCE = 16_384
MAX_PAYLOAD = 1024
MAX_MESSAGE_ID = 100
# Kakao waits 5 s for the whole answer: a stalled Redis must not take it.
REDIS_TIMEOUT_SECONDS = 0.5
# Kakao's botUserKey: at most 70 characters; the api takes these characters in a channel user id.
_USER_KEY = re.compile(r"^[A-Za-z0-9_.:@-]{1,70}$")
_BUTTON_KEY = re.compile(rf"^{re.escape(KEY_PREFIX)}[0-9a-f]{{24}}$")
# The most photos of one request routed: as many as the api keeps unfiled for a conversation in a day.
MAX_PHOTOS = 10
# A photo, video or file a user sends arrives as a bare link to Kakao's storage.
_ATTACHMENT_LINK = re.compile(r"^https?://(?:[\w-]+\.)*(?:kakaocdn\.net|talk\.kakao\.com)/\S*$")

TEXTS = {
    "media": {
        "ko": "저는 글, 위치, 사진만 읽을 수 있어요. 궁금한 것은 글로 적어 주세요.",
        "en": "I can read text, locations and photos only. Please type your question.",
    },
    "retry": {
        "ko": "지금은 메시지를 처리할 수 없어요. 잠시 후 다시 보내 주세요.",
        "en": "I can't process messages right now. Please send yours again in a moment.",
    },
    "wait": {
        "ko": "답변을 준비하고 있어요. 잠시만 기다려 주세요",
        "en": "I'm preparing your answer. Just a moment, please",
    },
    "late": {
        "ko": "죄송해요, 답변을 준비하는 데 시간이 걸리고 있어요. 준비되는 대로 이 대화방으로 보내 드릴게요.",
        "en": "Sorry, your answer is taking longer than usual. I'll send it to this chat as soon as it's ready.",
    },
    "passed_on": {
        "ko": "담당 직원에게 전달했어요. 답변은 이 대화방으로 보내 드려요.",
        "en": "Passed on to the staff member. Their answer will come to this chat.",
    },
}


class BadSkillRequest(ValueError):
    """The body is not a skill request Kakao would send."""


@dataclass
class SkillRequest:
    """What the gateway reads of Kakao's skill payload."""

    user_id: str  # userRequest.user.id, the botUserKey
    utterance: str = ""
    language_hint: str | None = None  # from userRequest.lang
    callback_url: str | None = None  # present only when callback is on for the block
    params: dict[str, Any] = field(default_factory=dict)  # action.params
    detail_params: dict[str, Any] = field(default_factory=dict)  # action.detailParams
    client_extra: dict[str, Any] = field(default_factory=dict)  # action.clientExtra: a pressed button's extra
    system_params: dict[str, Any] = field(default_factory=dict)  # userRequest.params (surface, media)
    trigger: str | None = None  # flow.trigger.type: TEXT_INPUT, QUICKREPLY_BUTTON_MESSAGE, ...
    kakao_message_id: str | None = None  # userRequest.messageId, when a request carries one


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_skill_request(body: Any) -> SkillRequest:
    """The skill payload's fields the channel uses; BadSkillRequest when it names no user the api can take."""
    if not isinstance(body, dict):
        raise BadSkillRequest("the body is not a JSON object")
    user_request = _object(body.get("userRequest"))
    user_id = _object(user_request.get("user")).get("id")
    if not isinstance(user_id, str) or not _USER_KEY.fullmatch(user_id):
        raise BadSkillRequest("userRequest.user.id is not a botUserKey")
    action = _object(body.get("action"))
    utterance = user_request.get("utterance")
    callback_url = user_request.get("callbackUrl")
    kakao_id = user_request.get("messageId")
    lang = str(user_request.get("lang") or "").lower()
    return SkillRequest(
        user_id=user_id,
        utterance=utterance[:MAX_UTTERANCE] if isinstance(utterance, str) else "",
        language_hint="ko" if lang in ("ko", "kr") else "en" if lang == "en" else None,
        callback_url=callback_url if isinstance(callback_url, str) and callback_url.startswith("http") else None,
        params=_object(action.get("params")),
        detail_params=_object(action.get("detailParams")),
        client_extra=_object(action.get("clientExtra")),
        system_params=_object(user_request.get("params")),
        trigger=_object(_object(body.get("flow")).get("trigger")).get("type"),
        kakao_message_id=kakao_id if isinstance(kakao_id, str) and 0 < len(kakao_id) <= MAX_MESSAGE_ID else None,
    )


class RetryWindow:
    """The id the api records a message under: Kakao's own when the request has one. Kakao sends none today, so a
    request identical to one the same user sent less than `seconds` ago is Kakao delivering it again and gets that
    request's id (answered once); anything else gets a new id. Measured from the first request, not from a
    boundary of fixed windows, so a retry is never split from its original.

    With REDIS_URL set the window is kept in Redis, so a retry that reaches another gateway replica is still
    recognised; this process's own window stands in while Redis cannot be reached."""

    def __init__(self, seconds: float, capacity: int = 10_000, redis_url: str = "", key_prefix: str = "") -> None:
        self._seconds, self._capacity = seconds, capacity
        self._seen: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS) if redis_url else None
        self._key_prefix = f"{key_prefix}:kakao-retry:"

    async def message_id(self, request: SkillRequest, at: float) -> str:
        if request.kakao_message_id:
            return f"m:{request.kakao_message_id}"
        sent = [request.user_id, request.utterance, request.client_extra, request.params]
        what = hashlib.sha256(json.dumps(sent, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
        identity = "h:" + hashlib.sha256(f"{what}\0{at!r}".encode()).hexdigest()[:40]
        if self._redis is not None:
            try:
                return await self._shared(what, identity)
            except redis.RedisError as error:
                logger.warning("kakao retry window: redis unavailable", extra={"error": type(error).__name__})
        return self._local(what, identity, at)

    async def _shared(self, what: str, identity: str) -> str:
        key = self._key_prefix + what
        # The first request sets the key (and its expiry); a retry within the window finds it and takes its id.
        if await self._redis.set(key, identity, nx=True, px=int(self._seconds * 1000)):
            return identity
        earlier = await self._redis.get(key)
        return earlier.decode() if earlier else identity

    def _local(self, what: str, identity: str, at: float) -> str:
        seen = self._seen.get(what)
        if seen is not None and 0 <= at - seen[0] < self._seconds:
            return seen[1]
        self._seen[what] = (at, identity)
        self._seen.move_to_end(what)
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return identity

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def _param_values(request: SkillRequest) -> dict[str, Any]:
    """action.params, with detailParams' resolved values where params lack them."""
    details = {name: _object(detail).get("value") for name, detail in request.detail_params.items()}
    return details | request.params


def shared_location(request: SkillRequest) -> tuple[float, float] | None:
    """A location a plugin or button sent (`latitude` and `longitude`), as the router's location."""
    for source in (request.client_extra, _param_values(request)):
        try:
            latitude, longitude = float(source["latitude"]), float(source["longitude"])
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(latitude) and math.isfinite(longitude) and abs(latitude) <= 90 and abs(longitude) <= 180:
            return latitude, longitude
    return None


def is_attachment(request: SkillRequest) -> bool:
    """A photo, video or file: the secure image plugin's parameter, a media parameter, or a bare link to Kakao's
    storage in place of words."""
    if _object(request.system_params.get("media")).get("url"):
        return True
    for name, value in _param_values(request).items():
        if "secureimage" in name.lower() or (isinstance(value, str) and "secureUrls" in value):
            return True
    return bool(_ATTACHMENT_LINK.fullmatch(request.utterance.strip()))


def photo_urls(request: SkillRequest) -> list[str]:
    """The addresses of the photos the secure image plugin sent, in order."""
    return secure_urls(_param_values(request))


def incoming_message(request: SkillRequest, channel_message_id: str) -> IncomingMessage:
    """The gateway's message: words, a pressed button (its payload or short key, from clientExtra) or a location."""
    pressed: dict[str, str] = {}
    data = request.client_extra.get("payload")
    if isinstance(data, str) and 0 < len(data) <= MAX_PAYLOAD:
        pressed = {"payload_key": data} if data.startswith(KEY_PREFIX) else {"payload": data}
    elif _BUTTON_KEY.fullmatch(request.utterance.strip()):
        # A button whose messageText is its key (a hand-made block in Open Builder): the api resolves it.
        pressed = {"payload_key": request.utterance.strip()}
    return IncomingMessage(
        channel=CHANNEL,
        channel_user_id=request.user_id,
        channel_message_id=channel_message_id,
        text=request.utterance,
        location=None if pressed else shared_location(request),
        language_hint=request.language_hint,
        **pressed,
    )


class Continuations:
    """The rest of an answer too long for one response travels in its "더 보기" quick reply's extra, sealed with a
    key only this gateway (and its replicas) knows, for this user only: nothing is stored, nothing can be forged."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"paju kakao continuation\0" + secret.encode()).digest()

    def _mac(self, user_id: str, body: str) -> str:
        return hmac.new(self._key, f"{user_id}\0{body}".encode(), hashlib.sha256).hexdigest()[:32]

    def seal(self, user_id: str, rest: KakaoAnswer) -> str:
        packed = json.dumps([rest.outputs, rest.quick_replies], ensure_ascii=False, separators=(",", ":"))
        body = base64.urlsafe_b64encode(zlib.compress(packed.encode())).decode().rstrip("=")
        return f"{body}.{self._mac(user_id, body)}"

    def open(self, user_id: str, token: str) -> KakaoAnswer | None:
        body, _, mac = token.rpartition(".")
        if not body or not hmac.compare_digest(mac.encode(), self._mac(user_id, body).encode()):
            return None
        padded = body + "=" * (-len(body) % 4)
        try:
            outputs, quick_replies = json.loads(zlib.decompress(base64.urlsafe_b64decode(padded)))
        except (TypeError, ValueError, zlib.error):
            return None
        return KakaoAnswer(outputs, quick_replies)


@dataclass
class Outcome:
    replies: list[Reply]
    # False when the replies only say the message could not be taken (the api down, another delivery on it).
    answered: bool = True


def _language(request: SkillRequest) -> str:
    return detect_language(request.utterance) or request.language_hint or "ko"


class KakaoChannel:
    """Answers skill requests through the router and renders the replies as skill responses."""

    def __init__(
        self,
        settings: GatewaySettings,
        router: MessageRouter,
        api: ApiClient,
        limits: GatewayLimits | None = None,
    ) -> None:
        self._router = router
        self._api = api
        self._limits = limits
        self._secret = settings.kakao_skill_secret.get_secret_value()
        self._header = settings.kakao_skill_secret_header
        self._deadline = settings.kakao_skill_deadline_seconds
        self._callback_hosts = [
            host.strip().lower() for host in settings.kakao_callback_hosts.split(",") if host.strip()
        ]
        self._retries = RetryWindow(
            settings.kakao_retry_window_seconds, redis_url=settings.redis_url, key_prefix=settings.rate_limit_prefix
        )
        self._continuations = Continuations(self._secret)
        self._callbacks = httpx.AsyncClient(timeout=CALLBACK_TIMEOUT_SECONDS)
        self._photo_max_bytes = settings.report_photo_max_bytes
        self._photos = KakaoPhotos.from_settings(
            settings.kakao_image_url_prefixes, settings.report_photo_max_bytes, settings.kakao_image_timeout_seconds
        )
        self._pending: set[asyncio.Task] = set()

    def accepts(self, headers: Mapping[str, str]) -> bool:
        """Whether the request carries the skill secret (compared in constant time); never without one configured."""
        supplied = headers.get(self._header, "")
        return bool(self._secret) and hmac.compare_digest(supplied.encode(), self._secret.encode())

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Lets answers under way finish for a moment; one cut off stays unanswered, and the api's `unanswered` job
        asks the citizen to send it again."""
        if self._pending:
            _done, unfinished = await asyncio.wait(set(self._pending), timeout=grace_seconds)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        await self._callbacks.aclose()
        await self._photos.close()
        await self._retries.close()

    async def answer(self, request: SkillRequest) -> dict[str, Any]:
        """The skill response: the answer itself within the deadline, else a useCallback or a short apology."""
        language = _language(request)
        if self._limits is not None:
            try:
                await self._limits.hit(("kakao_per_user", request.user_id))
            except RateLimited as refused:
                return text_response(refused.message(language))
        more = request.client_extra.get("more")
        if isinstance(more, str):
            return self._next_page(request, more, language)
        urls = photo_urls(request)
        if is_attachment(request) and not urls:
            return text_response(TEXTS["media"][language])
        message_id = await self._retries.message_id(request, utcnow().timestamp())
        message = incoming_message(request, message_id)
        started = time.monotonic()
        work = self._photos_outcome(request, message, urls, language) if urls else self._outcome(message, language)
        turn = self._in_background(work)
        done, _ = await asyncio.wait({turn}, timeout=self._deadline)
        if done:
            return self._response(turn.result().replies, request, language)
        if request.callback_url and self._callback_allowed(request.callback_url):
            logger.info("kakao: slow turn, answering through the callback", extra={"trigger": request.trigger})
            self._in_background(self._answer_by_callback(turn, request, message, language, started))
            return callback_response(TEXTS["wait"][language])
        logger.info("kakao: slow turn without a callback, answering through the outbox")
        self._in_background(self._answer_by_outbox(turn, message, language))
        return text_response(TEXTS["late"][language])

    def _callback_allowed(self, url: str) -> bool:
        """Only Kakao's own callback addresses: the answer may hold a booker's details."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        listed = any(host == allowed or host.endswith("." + allowed) for allowed in self._callback_hosts)
        loopback = host in ("127.0.0.1", "localhost", "::1")
        if listed and (parts.scheme == "https" or (loopback and parts.scheme == "http")):
            return True
        logger.warning("kakao: a callbackUrl outside Kakao's hosts is ignored", extra={"host": host[:100]})
        return False

    def _in_background(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task:
        task = asyncio.create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def _outcome(self, message: IncomingMessage, language: str) -> Outcome:
        try:
            return Outcome(await self._router.handle(message))
        except (ApiUnavailable, TurnInProgress):
            # Not recorded, or another delivery of it is being answered: this request still needs a response.
            return Outcome([Reply(text=TEXTS["retry"][language])], answered=False)
        except Exception:
            # Kakao still needs a response (or its callback); the message stays unanswered for a retry.
            logger.exception("kakao: the turn failed")
            return Outcome([Reply(text=TEXTS["retry"][language])], answered=False)

    async def _photos_outcome(
        self, request: SkillRequest, message: IncomingMessage, urls: list[str], language: str
    ) -> Outcome:
        """Each photo downloaded and routed as a message of its own (the request's id and its number, so that
        Kakao's retry of the request is each photo's retry), the answers together; not `answered` when they only
        say that no photo could be taken."""
        replies: list[Reply] = []
        answered = False
        # The utterance of a plugin's request is the block's, not the user's words: their KakaoTalk's language is.
        language = request.language_hint or language
        for number, url in enumerate(urls[:MAX_PHOTOS], start=1):
            try:
                photo = await self._photos.download(url)
            except PhotoTooLarge:
                replies.append(photo_too_large(self._photo_max_bytes, language))
                answered = True
                continue
            except PhotoNotReceived as error:
                host = urlsplit(url).hostname
                logger.warning("kakao photo not downloaded", extra={"error": str(error), "host": host})
                replies.append(own_reply("photo_not_received", language))
                continue
            one = IncomingMessage(
                channel=CHANNEL,
                channel_user_id=request.user_id,
                channel_message_id=f"{message.channel_message_id}:{number}",
                photo=photo,
                language_hint=request.language_hint,
            )
            outcome = await self._outcome(one, language)
            replies += outcome.replies
            answered = answered or outcome.answered
        return Outcome(replies, answered)

    def _response(self, replies: list[Reply], request: SkillRequest, language: str) -> dict[str, Any]:
        # A message for the staff inbox gets no reply from the assistant, but Kakao needs a response.
        replies = replies or [Reply(text=TEXTS["passed_on"][language])]
        written = " ".join(reply.text or "" for reply in replies)
        language = detect_language(written) or language
        secret = any(confidential.is_confidential(reply.custom) for reply in replies)
        return first_page(render(replies, language), language, None if secret else self._more(request.user_id))

    def _more(self, user_id: str) -> Callable[[KakaoAnswer], dict[str, Any]]:
        """The extra of a "더 보기" quick reply: the rest of the answer, sealed for this user."""
        return lambda rest: {"more": self._continuations.seal(user_id, rest)}

    def _next_page(self, request: SkillRequest, token: str, language: str) -> dict[str, Any]:
        rest = self._continuations.open(request.user_id, token)
        if rest is None:
            return text_response(own_reply("unknown_button", language).text or "")
        return first_page(rest, language, self._more(request.user_id))

    async def _answer_by_callback(
        self, turn: asyncio.Task, request: SkillRequest, message: IncomingMessage, language: str, started: float
    ) -> None:
        outcome: Outcome = await turn
        response = self._response(outcome.replies, request, language)
        in_time = time.monotonic() - started < CALLBACK_VALID_SECONDS
        if in_time and await self._post_callback(request.callback_url or "", response):
            return
        if outcome.answered:
            await self._leave_in_outbox(message, outcome.replies, language)

    async def _post_callback(self, url: str, response: dict[str, Any]) -> bool:
        """Posts the answer to the callbackUrl, once: Kakao takes each callback URL one time only."""
        try:
            answer = await self._callbacks.post(url, json=response)
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError) as error:
            # Kakao may well have it already: sending it again through the outbox could answer twice.
            logger.warning("kakao callback unconfirmed; not sent again", extra={"error": str(error)})
            return True
        except httpx.HTTPError as error:
            logger.warning("kakao callback failed; the answer goes through the outbox", extra={"error": str(error)})
            return False
        try:
            result = answer.json() if answer.content else {}
        except ValueError:
            result = {}
        status = result.get("status", "SUCCESS") if isinstance(result, dict) else "SUCCESS"
        if answer.is_success and status == "SUCCESS":
            return True
        logger.warning(
            "kakao refused the callback; the answer goes through the outbox",
            extra={"status": answer.status_code, "error": answer.text[:300]},
        )
        return False

    async def _answer_by_outbox(self, turn: asyncio.Task, message: IncomingMessage, language: str) -> None:
        outcome: Outcome = await turn
        if outcome.answered:
            await self._leave_in_outbox(message, outcome.replies, language)

    async def _leave_in_outbox(self, message: IncomingMessage, replies: list[Reply], language: str) -> None:
        """The answer the response could not carry, for the outbox to deliver through the Event API."""
        if not replies:
            return
        text, buttons = plain_text(replies, language)
        chunks = split_text(text, OUTBOX_TEXT)
        try:
            for number, chunk in enumerate(chunks):
                await self._api.enqueue_outbox(
                    CHANNEL,
                    message.channel_user_id,
                    chunk,
                    kind="late_answer",
                    buttons=buttons if number == len(chunks) - 1 else None,
                    dedupe_key=f"kakao-late:{message.channel_user_id}:{message.channel_message_id}:{number}",
                )
        except ApiUnavailable as error:
            # The turn itself is recorded: the citizen can ask again and get it (the message is answered once).
            logger.error("kakao: a late answer could not be left in the outbox", extra={"error": str(error)})


router = APIRouter()


@router.post("/kakao/skill", include_in_schema=False)
async def skill(request: Request) -> dict[str, Any]:
    """Kakao's skill request: 403 without the secret header, 400 for a body that is not a skill request."""
    channel: KakaoChannel | None = getattr(request.app.state, "kakao", None)
    # Without a configured secret nothing is accepted: anyone could post as any KakaoTalk user.
    if channel is None or not channel.accepts(request.headers):
        raise HTTPException(403, "wrong skill secret")
    try:
        body = await request.json()
    except ValueError as error:
        raise HTTPException(400, "the body is not JSON") from error
    try:
        skill_request = parse_skill_request(body)
    except BadSkillRequest as error:
        raise HTTPException(400, str(error)) from error
    return await channel.answer(skill_request)
