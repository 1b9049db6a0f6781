"""Rate limits of the gateway: how often one web chat user, one address, one Telegram chat or one KakaoTalk user may
write or ask.

Each limit is a setting (`RATE_LIMIT_*`). Counts live in Redis when REDIS_URL is set, so every replica
refuses the same messages; otherwise in this process's memory. A moving window: a refusal says how long
until the oldest counted request leaves the window (Retry-After).
"""

import hashlib
import hmac
import logging
import math
import time
from typing import Literal, get_args

import limits
from fastapi import HTTPException, Request
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from bot.gateway.settings import GatewaySettings
from common.request_limits import language_of, too_many_requests

logger = logging.getLogger(__name__)

LimitName = Literal[
    "web_message_per_identity",
    "web_message_per_client",
    "web_history_per_client",
    "web_updates_per_identity",
    "web_updates_per_client",
    "telegram_per_chat",
    "kakao_per_user",
]


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after

    def message(self, language: str) -> str:
        return too_many_requests(self.retry_after, language)


class GatewayLimits:
    """The gateway's named limits over one store. Made inside the running event loop (the app's lifespan):
    the Redis client belongs to it."""

    def __init__(self, settings: GatewaySettings) -> None:
        if settings.redis_url:
            options = {"implementation": "redispy", "key_prefix": settings.rate_limit_prefix}
            storage = storage_from_string(f"async+{settings.redis_url}", wrap_exceptions=True, **options)
        else:
            storage = storage_from_string("async+memory://", wrap_exceptions=True)
        self._limiter = MovingWindowRateLimiter(storage)
        self._limits = {name: limits.parse(getattr(settings, f"rate_limit_{name}")) for name in get_args(LimitName)}
        # Keys name addresses and messenger ids: the store sees only a keyed hash of them.
        self._secret = (settings.service_token or settings.rate_limit_prefix).encode()

    async def hit(self, *checks: tuple[LimitName, str]) -> None:
        """Counts one request against each (limit, key), or raises RateLimited counting nothing when any is spent."""
        keyed = [(self._limits[name], name, self._hashed(key)) for name, key in checks]
        try:
            for item, name, key in keyed:
                if not await self._limiter.test(item, name, key):
                    raise RateLimited(await self._retry_after(item, name, key))
            for item, name, key in keyed:
                if not await self._limiter.hit(item, name, key):
                    raise RateLimited(await self._retry_after(item, name, key))
        except StorageError as error:
            # Redis down must not silence the chat; the log says limits are off.
            logger.warning("rate limit store unreachable: message let through", extra={"error": str(error)})

    async def first_refusal(self, name: LimitName, key: str) -> bool:
        """Whether a refusal under `name` is the first in its window: the citizen is told once, not per message."""
        spent = self._limits[name]
        once = type(spent)(1, spent.multiples)
        try:
            return await self._limiter.hit(once, f"{name}:told", self._hashed(key))
        except StorageError:
            return False

    async def _retry_after(self, item: limits.RateLimitItem, name: str, key: str) -> int:
        reset_at = (await self._limiter.get_window_stats(item, name, key)).reset_time
        return max(1, math.ceil(reset_at - time.time()))

    def _hashed(self, key: str) -> str:
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()[:32]


def client_address(request: Request) -> str:
    """The address a request came from (behind a proxy: what uvicorn's --forwarded-allow-ips lets through)."""
    return f"address:{request.client.host if request.client else 'unknown'}"


async def within_limits(request: Request, *checks: tuple[LimitName, str], language: str | None = None) -> None:
    """For a web chat route: 429 with Retry-After and the reason in the citizen's language (the conversation's,
    else Korean unless the browser asks for English) when any limit is spent."""
    try:
        await request.app.state.limits.hit(*checks)
    except RateLimited as refused:
        detail = refused.message(language or language_of(request.scope))
        raise HTTPException(429, detail, headers={"Retry-After": str(refused.retry_after)}) from None
