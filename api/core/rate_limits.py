"""Rate limits of the api: how often one client, citizen, phone, booking code or account may call a guarded route.

Each limit is a setting (`RATE_LIMIT_*`). Counts live in Redis when REDIS_URL is set, so every replica
refuses the same requests; otherwise in this process's memory. A moving window: a refusal says how long
until the oldest counted request leaves the window (Retry-After).
"""

import hashlib
import hmac
import logging
import math
import time
from typing import Annotated, Literal, get_args

import limits
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from api.core.errors import DomainError
from api.core.settings import Settings
from common.request_limits import language_of, too_many_requests

logger = logging.getLogger(__name__)

LimitName = Literal[
    "booking_lookup_per_client",
    "booking_lookup_per_code",
    "sign_in_per_client",
    "sign_in_per_account",
    "sms_code_per_phone",
    "sms_code_per_client",
    "requests_per_client",
    "booking_create_per_client",
    "model_trial_per_user",
]


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(too_many_requests(retry_after, "en"), too_many_requests(retry_after, "ko"))
        self.retry_after = retry_after


class RateLimits:
    """The api's named limits over one store."""

    def __init__(self, settings: Settings) -> None:
        if settings.redis_url:
            storage = storage_from_string(
                settings.redis_url, key_prefix=settings.rate_limit_prefix, wrap_exceptions=True
            )
        else:
            storage = storage_from_string("memory://", wrap_exceptions=True)
        self._limiter = MovingWindowRateLimiter(storage)
        # Counts in this process's memory take no waiting; counts in Redis take a round trip.
        self.in_memory = not settings.redis_url
        self._limits = {name: limits.parse(getattr(settings, f"rate_limit_{name}")) for name in get_args(LimitName)}
        # Keys name phones and e-mail addresses: the store sees only a keyed hash of them.
        self._secret = (settings.service_token or settings.rate_limit_prefix).encode()

    def hit(self, *checks: tuple[LimitName, str]) -> None:
        """Counts one request against each (limit, key), or raises RateLimited counting nothing when any is spent."""
        keyed = [(self._limits[name], name, self._hashed(key)) for name, key in checks]
        try:
            # A hit counts nothing when its limit is spent, so a single limit needs no test first.
            if len(keyed) > 1:
                for item, name, key in keyed:
                    if not self._limiter.test(item, name, key):
                        raise RateLimited(self._retry_after(item, name, key))
            for item, name, key in keyed:
                if not self._limiter.hit(item, name, key):
                    raise RateLimited(self._retry_after(item, name, key))
        except StorageError as error:
            # Redis down must not take bookings and sign-ins down with it; the log says limits are off.
            logger.warning("rate limit store unreachable: request let through", extra={"error": str(error)})

    def _retry_after(self, item: limits.RateLimitItem, name: str, key: str) -> int:
        reset_at = self._limiter.get_window_stats(item, name, key).reset_time
        return max(1, math.ceil(reset_at - time.time()))

    def _hashed(self, key: str) -> str:
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()[:32]


def client_address(request: Request) -> str:
    """The address a request came from (behind a proxy: what uvicorn's --forwarded-allow-ips lets through)."""
    return f"address:{request.client.host if request.client else 'unknown'}"


def asker(request: Request, service_call: bool, citizen: str) -> str:
    """Whom a request counts for: the gateway and actions ask for every citizen from one address, so their
    calls count for the citizen they act for (a conversation, a phone); anyone else's for their address."""
    return f"citizen:{citizen}" if service_call else client_address(request)


async def count_request(request: Request) -> None:
    """The app-wide ceiling: each request without the service token counts for the address it came from.
    Service calls are left to the limits of the routes, which count them for the citizen they act for."""
    token = request.app.state.settings.service_token
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode()):
        return
    limits: RateLimits = request.app.state.rate_limits
    check: tuple[LimitName, str] = ("requests_per_client", client_address(request))
    # Every request passes here: counted in memory, on the event loop; in Redis, in a worker thread, so that a
    # slow Redis holds up only the requests waiting for it.
    if limits.in_memory:
        limits.hit(check)
    else:
        await run_in_threadpool(limits.hit, check)


async def get_rate_limits(request: Request) -> RateLimits:
    # A coroutine only so that FastAPI does not hand this attribute read to a worker thread.
    return request.app.state.rate_limits


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]


def install_rate_limits(app: FastAPI, settings: Settings) -> None:
    app.state.rate_limits = RateLimits(settings)

    @app.exception_handler(RateLimited)
    async def _rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse(
            # Korean unless the request asks for English: service calls pass the conversation's language.
            {"detail": exc.message(language_of(request.scope)), "code": exc.code},
            status_code=exc.status_code,
            headers={"Retry-After": str(exc.retry_after)},
        )
