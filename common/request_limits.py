"""Limits on requests shared by the api and the gateway: the body-size middleware and the words of both refusals."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from html import escape
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def language_of(scope: Scope, default: str = "ko") -> str:
    """Korean unless the request asks for English first (Accept-Language: en…)."""
    accepted = _header(scope, b"accept-language").strip().lower()
    if accepted.startswith("en"):
        return "en"
    if accepted.startswith("ko"):
        return "ko"
    return default


def too_many_requests(retry_after: int, language: str) -> str:
    """What a rate-limited citizen or staff member is told, with when to try again."""
    if language == "en":
        wait = f"{math.ceil(retry_after / 60)} minutes" if retry_after > 90 else f"{retry_after} seconds"
        return f"Too many requests. Please try again in {wait}."
    wait = f"{math.ceil(retry_after / 60)}분" if retry_after > 90 else f"{retry_after}초"
    return f"요청이 너무 많아요. {wait} 뒤에 다시 시도해 주세요."


def body_too_large(max_bytes: int, language: str) -> str:
    size = f"{max_bytes // 1024:,} KiB" if max_bytes < 1024 * 1024 else f"{max_bytes / (1024 * 1024):,.0f} MiB"
    if language == "en":
        return f"The request is too large: at most {size} is accepted."
    return f"요청이 너무 커요. {size}까지만 받을 수 있어요."


class _BodyTooLarge(Exception):
    """Raised from `receive` to stop an app that is still reading an oversized body."""


class _RouteLimit:
    def __init__(self, route: str, max_bytes: int) -> None:
        method, _, template = route.partition(" ")
        self.method = method.upper()
        # "{name}" is one path segment, "{name:path}" the rest of the path.
        pattern = re.sub(r"\\\{\w+:path\\\}", ".+", re.escape(template))
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", pattern)
        self.path = re.compile(f"^{pattern}$")
        self.max_bytes = max_bytes

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self.path.match(path) is not None


class BodyLimit:
    """Refuses a request body larger than its route's limit with 413, before the app parses any of it.

    A declared Content-Length over the limit is refused at once; a body without one (chunked) is
    counted as it arrives, and the app that is reading it is stopped past the limit, so nothing
    it would have done with the body happens. `routes` maps "METHOD /path/{param}" (METHOD may be
    `*`, `{param:path}` takes the rest of the path) to a route's own limit; the first match wins.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, routes: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = [_RouteLimit(route, limit) for route, limit in (routes or {}).items()]

    def limit_for(self, method: str, path: str) -> int:
        return next((route.max_bytes for route in self.routes if route.matches(method, path)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _header(scope, b"content-length")
        if declared and (not declared.isdigit() or int(declared) > limit):
            await _refuse(scope, send, limit)
            return

        received = 0
        exceeded = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            # Whatever the app makes of the interrupted read (a 400, a 500) is replaced by the 413.
            if exceeded:
                return
            response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not response_started:
            await _refuse(scope, send, limit)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    language = language_of(scope)
    message = body_too_large(limit, language)
    if "text/html" in _header(scope, b"accept"):
        # A browser form (the staff console): a page, not JSON.
        body = f'<!doctype html><html lang="{language}"><meta charset="utf-8"><p>{escape(message)}</p></html>'
        content_type = b"text/html; charset=utf-8"
        payload = body.encode()
    else:
        payload = json.dumps({"detail": message, "code": "body_too_large"}, ensure_ascii=False).encode()
        content_type = b"application/json"
    # The rest of the body is never read: the connection closes after this answer.
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
