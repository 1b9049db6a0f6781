"""The action server's one client of the api: typed calls, timeouts and one retry."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import httpx

logger = logging.getLogger(__name__)


class ApiUnavailable(Exception):
    """The api could not be reached or failed; the action tells the citizen politely."""


@dataclass(frozen=True)
class HandoffTicket:
    id: int
    status: str
    waiting_ahead: int


class ApiClient:
    def __init__(self, base_url: str, service_token: str, timeout: float = 5.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {service_token}"}
        self._timeout = timeout

    @classmethod
    def from_env(cls) -> ApiClient:
        return cls(
            os.environ.get("API_URL", "http://localhost:8000"),
            os.environ.get("SERVICE_TOKEN", ""),
            float(os.environ.get("API_TIMEOUT_SECONDS", "5")),
        )

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        last_error: Exception | None = None
        async with httpx.AsyncClient(base_url=self._base_url, headers=self._headers, timeout=self._timeout) as http:
            for _attempt in range(2):
                try:
                    response = await http.request(method, path, **kwargs)
                except httpx.TransportError as error:
                    last_error = error
                    continue
                if response.status_code >= 500:
                    last_error = ApiUnavailable(f"{method} {path} answered {response.status_code}")
                    continue
                if response.status_code >= 400:
                    raise ApiUnavailable(f"{method} {path} answered {response.status_code}: {response.text[:200]}")
                return response.json()
        logger.warning("api unavailable: %s %s: %s", method, path, last_error)
        raise ApiUnavailable(str(last_error))

    async def request_handoff(self, sender_id: str, reason: str) -> HandoffTicket:
        channel, _, channel_user_id = sender_id.partition(":")
        body = await self._request(
            "POST",
            "/api/conversations/handoffs",
            json={"channel": channel, "channel_user_id": channel_user_id, "reason": reason},
        )
        return HandoffTicket(id=body["id"], status=body["status"], waiting_ahead=body["waiting_ahead"])
