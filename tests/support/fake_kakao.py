"""A fake Kakao i Open Builder on loopback: it posts skill requests to the gateway as Kakao's bot engine does,
takes the callback and Event API calls the gateway makes, and checks every answer against Kakao's limits."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fake_telegram import LoopbackServer
from tests.support.kakao_limits import callback_body_breaches, event_breaches, skill_response_breaches

SECRET_HEADER = "X-Kakao-Skill-Secret"
# Kakao's bot engine waits this long for a skill's answer, and a callbackUrl stays valid this long.
ANSWER_SECONDS = 5.0
CALLBACK_SECONDS = 60.0
FALLBACK_BLOCK = {"id": "65a1f0c2e4b0a13f5c9d2e71", "name": "폴백 블록"}
SKILL = {"id": "65a1f0d8e4b0a13f5c9d2e74", "name": "파주 시민 도우미 스킬"}
# The smallest PNG there is (1×1): what a citizen's photo looks like behind a secure image URL.
PHOTO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
)


@dataclass
class SkillExchange:
    """One skill request Kakao sent and what the gateway answered."""

    request: dict
    status: int | None  # None: no answer at all
    answer: Any
    seconds: float
    callback_token: str | None = None

    @property
    def used_callback(self) -> bool:
        return isinstance(self.answer, dict) and self.answer.get("useCallback") is True


@dataclass
class CallbackCall:
    token: str
    body: Any
    status: int


@dataclass
class EventCall:
    bot_id: str
    authorization: str
    body: Any
    status: int

    def reaches(self, user_key: str) -> bool:
        users = self.body.get("user") if isinstance(self.body, dict) else None
        return any(isinstance(u, dict) and u.get("id") == user_key for u in users or [])

    @property
    def text(self) -> str:
        """Every text the event carries (its data and params), as the event block would show them."""
        return json.dumps(self.body, ensure_ascii=False) if isinstance(self.body, dict) else ""


@dataclass
class _PendingCallback:
    issued_at: float
    used: bool = False


@dataclass
class FakeKakao:
    """Kakao's side of a KakaoTalk channel chatbot whose fallback block calls the gateway's skill."""

    skill_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    bot_id: str = field(default_factory=lambda: secrets.token_hex(12))  # Kakao bot ids are 24 hex digits
    rest_api_key: str = field(default_factory=lambda: secrets.token_hex(16))
    secret_header: str = SECRET_HEADER
    skill_url: str = ""  # the gateway's /kakao/skill, set by connect()
    exchanges: list[SkillExchange] = field(default_factory=list)
    callbacks: list[CallbackCall] = field(default_factory=list)
    events: list[EventCall] = field(default_factory=list)
    breaches: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._pending: dict[str, _PendingCallback] = {}
        self._photos: dict[str, tuple[bytes, str]] = {}
        self.photo_downloads: list[str] = []  # the names of the photos the gateway downloaded, in order
        self._reported = 0
        routes = [
            Route("/callback/{token}", self._on_callback, methods=["POST"]),
            Route("/v2/bots/{bot_id}/talk", self._on_event, methods=["POST"]),
            Route("/secure/{name}", self._on_photo, methods=["GET"]),
        ]
        self._server = LoopbackServer(Starlette(routes=routes))
        self._http = httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0))

    def start(self) -> FakeKakao:
        self._server.start()
        return self

    def stop(self) -> None:
        self._http.close()
        self._server.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def environment(self) -> dict[str, str]:
        """The gateway settings that turn its Kakao channel on and point the Event API here."""
        return {
            "KAKAO_SKILL_SECRET": self.skill_secret,
            "KAKAO_BOT_ID": self.bot_id,
            "KAKAO_REST_API_KEY": self.rest_api_key,
            "KAKAO_API_BASE_URL": self.base_url,
            "KAKAO_CALLBACK_HOSTS": "127.0.0.1",
            "KAKAO_IMAGE_URL_PREFIXES": self.image_url_prefix,
        }

    @property
    def image_url_prefix(self) -> str:
        """Where this fake serves the photos users send, as Kakao's secure image server does."""
        return f"{self.base_url}/secure/"

    def connect(self, gateway_url: str) -> FakeKakao:
        """Points the fallback block's skill at the gateway, as an admin does in Open Builder."""
        self.skill_url = f"{gateway_url}/kakao/skill"
        return self

    # --- skill requests, as Kakao's bot engine builds them ------------------------------------------------------

    def skill_request(
        self,
        user_key: str,
        utterance: str,
        *,
        lang: str = "ko",
        callback: bool = False,
        trigger: str = "TEXT_INPUT",
        params: dict[str, str] | None = None,
        client_extra: dict | None = None,
        block: dict | None = None,
    ) -> dict:
        """A skill payload for one utterance of one user: what the fallback block (or a button's block) sends."""
        block = block or FALLBACK_BLOCK
        params = params or {}
        user_request: dict[str, Any] = {
            "timezone": "Asia/Seoul",
            "params": {"ignoreMe": "true", "surface": "Kakaotalk.plusfriend"},
            "block": dict(block),
            "utterance": utterance,
            "lang": lang,
            "user": {
                "id": user_key,
                "type": "botUserKey",
                "properties": {
                    "botUserKey": user_key,
                    "bot_user_key": user_key,
                    "plusfriendUserKey": _plusfriend_key(user_key),
                    "plusfriend_user_key": _plusfriend_key(user_key),
                    "isFriend": True,
                },
            },
        }
        token = None
        if callback:
            token = secrets.token_urlsafe(16)
            user_request["callbackUrl"] = f"{self.base_url}/callback/{token}"
        return {
            "intent": {**block, "extra": {"reason": {"code": 1, "message": "OK"}}},
            "userRequest": user_request,
            "bot": {"id": self.bot_id, "name": "파주시 시민 도우미"},
            "action": {
                **SKILL,
                "params": dict(params),
                "detailParams": {
                    name: {"groupName": "", "origin": value, "value": value} for name, value in params.items()
                },
                "clientExtra": dict(client_extra or {}),
            },
            "flow": {"lastBlock": dict(FALLBACK_BLOCK), "trigger": {"type": trigger}},
            "contexts": [],
        }

    def text(self, user_key: str, utterance: str, lang: str = "ko", callback: bool = False) -> dict:
        return self.skill_request(user_key, utterance, lang=lang, callback=callback)

    def press(
        self, user_key: str, button: dict, lang: str = "ko", callback: bool = False, on: str = "QUICKREPLY"
    ) -> dict:
        """The request a press sends, of a quick reply (on="QUICKREPLY"), a card button ("CARD") or a list item
        ("LISTITEM"): the button's messageText as the utterance (its label when it has none) and its `extra` as
        action.clientExtra; a block button calls its block."""
        action = button.get("action", "message")
        label = button.get("label") or button.get("title", "")
        block = {"id": button["blockId"], "name": label} if action == "block" else None
        trigger = f"{on}_{action.upper()}" if on == "LISTITEM" else f"{on}_BUTTON_{action.upper()}"
        return self.skill_request(
            user_key,
            button.get("messageText") or label,
            lang=lang,
            callback=callback,
            trigger=trigger,
            client_extra=button.get("extra"),
            block=block,
        )

    def location(
        self, user_key: str, latitude: float, longitude: float, lang: str = "ko", callback: bool = False
    ) -> dict:
        """What a block with the location plugin sends: the place as its latitude and longitude parameters."""
        params = {"latitude": str(latitude), "longitude": str(longitude), "address": "경기 파주시 금촌동"}
        return self.skill_request(user_key, "위치 전송", lang=lang, callback=callback, params=params)

    def photo(
        self,
        user_key: str,
        lang: str = "ko",
        callback: bool = False,
        photos: list[bytes] | None = None,
        content_type: str = "image/png",
    ) -> dict:
        """What the secure image plugin sends: a JSON string whose secureUrls lists the photos' addresses, here
        where this fake serves them (a 1×1 PNG when no photos are given)."""
        urls = [self.serve_photo(photo, content_type) for photo in photos or [PHOTO]]
        expire = (datetime.now() + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S")
        image = {
            "privacyAgreement": "Y",
            "imageQuantity": str(len(urls)),
            "secureUrls": f"List({', '.join(urls)})",
            "expire": expire,
        }
        params = {"secureimage": json.dumps(image)}
        return self.skill_request(user_key, "사진 보내기", lang=lang, callback=callback, params=params)

    def serve_photo(self, content: bytes, content_type: str = "image/png") -> str:
        """Keeps a photo on the fake's secure image server; returns its address."""
        suffix = {"image/jpeg": "jpg", "image/webp": "webp"}.get(content_type, "png")
        name = f"{uuid.uuid4().hex}.{suffix}"
        with self._lock:
            self._photos[name] = (content, content_type)
        return f"{self.image_url_prefix}{name}?credential=fake&expires=600&signature=fake"

    def send(self, request: dict, secret: str | None = None, headers: dict[str, str] | None = None) -> SkillExchange:
        """Posts one skill request (with the configured secret unless told otherwise) and checks the answer."""
        if not self.skill_url:
            raise RuntimeError("connect() the fake to the gateway first")
        sent_headers = {self.secret_header: self.skill_secret if secret is None else secret} | (headers or {})
        sent_headers = {name: value for name, value in sent_headers.items() if value}  # "" leaves a header out
        callback_url = request["userRequest"].get("callbackUrl")
        token = callback_url.rsplit("/", 1)[1] if callback_url else None
        if token:
            with self._lock:
                self._pending[token] = _PendingCallback(time.monotonic())
        started = time.monotonic()
        try:
            response = self._http.post(self.skill_url, json=request, headers=sent_headers)
            status, answer = response.status_code, _json_or_text(response)
        except httpx.HTTPError as error:
            status, answer = None, f"{type(error).__name__}: {error}"
        exchange = SkillExchange(copy.deepcopy(request), status, answer, time.monotonic() - started, token)
        with self._lock:
            self.exchanges.append(exchange)
        if sent_headers.get(self.secret_header) == self.skill_secret:
            self._check_answer(exchange)
        return exchange

    def resend(self, exchange: SkillExchange) -> SkillExchange:
        """The same request once more, byte for byte: Kakao retrying a skill call."""
        return self.send(exchange.request)

    def _check_answer(self, exchange: SkillExchange) -> None:
        where = f"answer to {exchange.request['userRequest']['utterance']!r}"
        found = []
        if exchange.status != 200:
            found.append(f"HTTP {exchange.status}: {str(exchange.answer)[:200]}")
        else:
            if exchange.seconds > ANSWER_SECONDS:
                found.append(f"answered after {exchange.seconds:.1f} s; Kakao waits {ANSWER_SECONDS:.0f} s")
            found += skill_response_breaches(exchange.answer, callback_offered=exchange.callback_token is not None)
        self._breach(where, found)

    # --- what the gateway sends Kakao ---------------------------------------------------------------------------

    async def _on_callback(self, request: Request) -> JSONResponse:
        token = request.path_params["token"]
        body = _loads(await request.body())
        with self._lock:
            pending = self._pending.get(token)
            if pending is None:
                status, problem = 404, "unknown callbackUrl"
            elif pending.used:
                status, problem = 400, "callbackUrl used a second time"
            elif time.monotonic() - pending.issued_at > CALLBACK_SECONDS:
                status, problem = 400, f"callbackUrl used after its {CALLBACK_SECONDS:.0f} s"
            else:
                status, problem = 200, None
                pending.used = True
            self.callbacks.append(CallbackCall(token, body, status))
        found = [problem] if problem else callback_body_breaches(body)
        self._breach(f"callback {token[:6]}…", found)
        if status != 200:
            return JSONResponse({"taskId": None, "status": "FAIL", "message": problem}, status_code=status)
        return JSONResponse(_task("callback accepted"))

    async def _on_event(self, request: Request) -> JSONResponse:
        bot_id = request.path_params["bot_id"]
        authorization = request.headers.get("authorization", "")
        body = _loads(await request.body())
        expected = f"KakaoAK {self.rest_api_key}"
        if not hmac.compare_digest(authorization.encode(), expected.encode()):
            status, found = 401, [f"Event API called with Authorization {authorization[:12]!r}…"]
        elif bot_id != self.bot_id:
            status, found = 404, [f"Event API called for bot {bot_id!r}, not {self.bot_id!r}"]
        else:
            found = event_breaches(body)
            status = 400 if found else 200
        with self._lock:
            self.events.append(EventCall(bot_id, authorization, body, status))
        self._breach("Event API call", found)
        if status != 200:
            return JSONResponse({"taskId": None, "status": "FAIL", "message": "; ".join(found)}, status_code=status)
        return JSONResponse(_task("event accepted"))

    async def _on_photo(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self._lock:
            photo = self._photos.get(name)
            if photo is not None:
                self.photo_downloads.append(name)
        return Response(photo[0], media_type=photo[1]) if photo else Response(status_code=404)

    def new_breaches(self) -> list[str]:
        """The breaches recorded since the last call: each is reported once."""
        with self._lock:
            fresh, self._reported = self.breaches[self._reported :], len(self.breaches)
        return fresh

    def _breach(self, where: str, found: list[str]) -> None:
        if found:
            with self._lock:
                self.breaches.extend(f"{where}: {problem}" for problem in found)

    # --- waiting ------------------------------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[FakeKakao], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not true after {timeout}s; {len(self.exchanges)} skill requests, "
                    f"callbacks {[c.body for c in self.callbacks][-3:]}, events {[e.body for e in self.events][-3:]}"
                )
            time.sleep(0.05)

    def callbacks_for(self, exchange: SkillExchange) -> list[CallbackCall]:
        with self._lock:
            return [call for call in self.callbacks if call.token == exchange.callback_token]

    def wait_for_callback(self, exchange: SkillExchange, timeout: float = CALLBACK_SECONDS) -> Any:
        """The body the gateway posted to this request's callbackUrl."""
        if exchange.callback_token is None:
            raise AssertionError("the request offered no callbackUrl")
        self.wait_for(lambda fake: fake.callbacks_for(exchange), timeout)
        return self.callbacks_for(exchange)[0].body

    def events_for(self, user_key: str) -> list[EventCall]:
        with self._lock:
            return [event for event in self.events if event.reaches(user_key)]


def bot_user_key(name: str) -> str:
    """A botUserKey as Kakao issues them (64 hex digits), the same for the same name."""
    return hashlib.sha256(f"paju-test:{name}".encode()).hexdigest()


def _plusfriend_key(user_key: str) -> str:
    """The channel's own key for the same user: 12 characters, unlike the bot's."""
    return base64.urlsafe_b64encode(hashlib.sha1(user_key.encode()).digest()).decode()[:12]


def _task(message: str) -> dict:
    return {"taskId": str(uuid.uuid4()), "status": "SUCCESS", "message": message, "timestamp": int(time.time() * 1000)}


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode(errors="replace")


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
