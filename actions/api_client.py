"""The action server's one client of the api: typed calls over one connection pool, timeouts and one retry."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

TOUR = "dmz-peace"
# The longest question the knowledge base takes; a longer message is asked by its beginning.
KNOWLEDGE_QUESTION_LIMIT = 500


class ApiProblem(Exception):
    """The api did not do what was asked: it refused, or it could not be reached."""


class ApiUnavailable(ApiProblem):
    """The api could not be reached or failed; the action tells the citizen politely."""


class ApiRefused(ApiProblem):
    """The api said no (bad input, sold out, not found): `detail` is its reason in the user's language."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


@dataclass(frozen=True)
class HandoffTicket:
    id: int
    status: str
    department: str
    waiting_ahead: int
    expected_wait_minutes: int | None  # None when the office is closed
    office_open: bool
    next_opening: str | None  # ISO datetime in Asia/Seoul, when the office is closed


def channel_user(sender_id: str) -> tuple[str, str]:
    channel, _, user_id = sender_id.partition(":")
    return channel, user_id


# The process's one pool of connections to the api, made on first use inside the running event loop (each
# Sanic worker has its own) and closed when the server stops.
_pool: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None


def _http() -> httpx.AsyncClient:
    global _pool
    loop = asyncio.get_running_loop()
    if _pool is None or _pool[0] is not loop or _pool[1].is_closed:
        _pool = (loop, httpx.AsyncClient())
    return _pool[1]


async def close_pool() -> None:
    """Closes the connections to the api (the action server's shutdown)."""
    global _pool
    if _pool is not None:
        pool, _pool = _pool[1], None
        await pool.aclose()


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

    async def _request(self, method: str, path: str, language: str = "ko", **kwargs: Any) -> Any:
        headers = {**self._headers, "Accept-Language": language, **kwargs.pop("headers", {})}
        last_error: Exception | None = None
        for _attempt in range(2):
            try:
                response = await _http().request(
                    method, self._base_url + path, headers=headers, timeout=self._timeout, **kwargs
                )
            except httpx.TransportError as error:
                last_error = error
                continue
            if response.status_code >= 500 and not _domain_error(response):
                last_error = ApiUnavailable(f"{method} {path} answered {response.status_code}")
                continue
            if response.status_code >= 400:
                raise _refusal(response)
            return response.json() if response.content else None  # 204 No Content says only "done"
        raise ApiUnavailable(f"{method} {path}: {last_error}")  # the action that asked logs it

    async def request_handoff(self, sender_id: str, reason: str, department: str) -> HandoffTicket:
        channel, user_id = channel_user(sender_id)
        body = await self._request(
            "POST",
            "/api/conversations/handoffs",
            json={"channel": channel, "channel_user_id": user_id, "reason": reason, "department": department},
        )
        return HandoffTicket(
            id=body["id"],
            status=body["status"],
            department=body["department"],
            waiting_ahead=body["waiting_ahead"],
            expected_wait_minutes=body["expected_wait_minutes"],
            office_open=body["office_open"],
            next_opening=body.get("next_opening"),
        )

    async def departments(self) -> list[dict[str, Any]]:
        """The departments a conversation can be handed to; `default` marks where an unguessed one goes."""
        return await self._request("GET", "/api/conversations/departments")

    async def tour(self, language: str) -> dict[str, Any]:
        return await self._request("GET", f"/api/tours/{TOUR}", language)

    async def runs(self, day: str, language: str, option: str | None = None) -> list[dict[str, Any]]:
        params = {"date": day} | ({"option": option} if option else {})
        return await self._request("GET", f"/api/tours/{TOUR}/runs", language, params=params)

    async def run_choices(
        self, day: str, seats: int, language: str, option: str | None = None, part_of_day: str | None = None
    ) -> dict[str, Any]:
        """The departures of a day the citizen may pick, labelled; refused for a past day or one not open."""
        params = {"date": day, "seats": seats, "option": option, "part_of_day": part_of_day}
        params = {key: value for key, value in params.items() if value is not None}
        return await self._request("GET", f"/api/tours/{TOUR}/runs/choices", language, params=params)

    async def available_runs(self, start: str, seats: int, language: str, limit: int = 6) -> list[dict[str, Any]]:
        params = {"from": start, "seats": seats, "limit": limit}
        return await self._request("GET", f"/api/tours/{TOUR}/runs/available", language, params=params)

    async def check(self, language: str, **parts: Any) -> int | None:
        """Checks the parts of a booking given so far; returns the fee when run and party are known."""
        body = {key: value for key, value in parts.items() if value is not None}
        return (await self._request("POST", "/api/bookings/check", language, json=body))["total_fee"]

    async def book(
        self, sender_id: str, run_id: int, party: dict, name: str, phone: str, language: str
    ) -> dict[str, Any]:
        """No Idempotency-Key: the api derives one from this chat's answers, so a double tap books once."""
        channel, user_id = channel_user(sender_id)
        body = {"run_id": run_id, "party": party, "name": name, "phone": phone}
        body |= {"channel": channel, "channel_user_id": user_id}
        return await self._request("POST", "/api/bookings", language, json=body)

    async def join_waitlist(
        self, sender_id: str, run_id: int, party: dict, name: str, phone: str, language: str
    ) -> dict[str, Any]:
        channel, user_id = channel_user(sender_id)
        body = {"run_id": run_id, "party": party, "name": name, "phone": phone}
        body |= {"channel": channel, "channel_user_id": user_id}
        return await self._request("POST", f"/api/runs/{run_id}/waitlist", language, json=body)

    async def confirm_waitlist(self, sender_id: str, entry_id: str, language: str) -> dict[str, Any]:
        channel, user_id = channel_user(sender_id)
        body = {"channel": channel, "channel_user_id": user_id}
        return await self._request("POST", f"/api/waitlist/{entry_id}/confirm", language, json=body)

    async def bookings_of(self, sender_id: str, language: str, status: str | None = None) -> list[dict[str, Any]]:
        channel, user_id = channel_user(sender_id)
        params = {"channel": channel, "channel_user_id": user_id} | ({"status": status} if status else {})
        return await self._request("GET", "/api/bookings", language, params=params)

    async def find_booking(self, code: str, phone: str, language: str) -> dict[str, Any]:
        return await self._request("GET", f"/api/bookings/{code}", language, params={"phone": phone})

    async def cancel(self, code: str, phone: str, language: str) -> dict[str, Any]:
        return await self._request("POST", f"/api/bookings/{code}/cancel", language, json={"phone": phone})

    async def change(self, code: str, phone: str, run_id: int, language: str) -> dict[str, Any]:
        body = {"phone": phone, "run_id": run_id}
        return await self._request("POST", f"/api/bookings/{code}/change", language, json=body)

    async def facilities_nearby(
        self,
        kind: str,
        language: str,
        lat: float | None = None,
        lon: float | None = None,
        place: str | None = None,
        limit: int = 3,
    ) -> list[dict[str, Any]]:
        """Near a shared point, or near a place the api knows by name (금촌역, Imjingak)."""
        where = {"place": place} if place else {"lat": lat, "lon": lon}
        return await self._request(
            "GET", "/api/facilities/nearby", language, params={"kind": kind, "limit": limit, **where}
        )

    async def ask(self, question: str, language: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
        """`context` is the query of the last answered question, so a follow-up ("작년은?") can reuse it."""
        body: dict[str, Any] = {"question": question, "language": language}
        if context:
            body["context"] = context
        return await self._request("POST", "/api/opendata/ask", language, json=body)

    async def opendata_catalog(self, language: str) -> list[dict[str, Any]]:
        return await self._request("GET", "/api/opendata/catalog", language)

    # --- notices ------------------------------------------------------------------------------------------

    async def notices(
        self, language: str, q: str | None = None, category: str | None = None, size: int = 3
    ) -> list[dict[str, Any]]:
        params = {key: value for key, value in {"q": q, "category": category, "size": size}.items() if value}
        return await self._request("GET", "/api/notices", language, params=params)

    async def notice(self, notice_id: str, language: str) -> dict[str, Any]:
        return await self._request("GET", f"/api/notices/{notice_id}", language)

    async def notice_categories(self) -> list[dict[str, Any]]:
        """Each category's code, names in Korean and English, and the words that name it when typed."""
        return await self._request("GET", "/api/notices/categories")

    async def subscriptions(self, sender_id: str, language: str) -> list[dict[str, Any]]:
        channel, user_id = channel_user(sender_id)
        params = {"channel": channel, "channel_user_id": user_id}
        return await self._request("GET", "/api/notice-subscriptions", language, params=params)

    async def subscribe(self, sender_id: str, category: str, consent_text: str, language: str) -> dict[str, Any]:
        channel, user_id = channel_user(sender_id)
        body = {"channel": channel, "channel_user_id": user_id, "category": category, "consent_text": consent_text}
        return await self._request("POST", "/api/notice-subscriptions", language, json=body)

    async def unsubscribe(self, sender_id: str, category: str | None, language: str) -> list[dict[str, Any]]:
        """Stops one category, or all with None; returns the subscriptions left."""
        channel, user_id = channel_user(sender_id)
        params = {"channel": channel, "channel_user_id": user_id} | ({"category": category} if category else {})
        return await self._request("DELETE", "/api/notice-subscriptions", language, params=params)

    async def personal_notices(self, sender_id: str, language: str) -> list[dict[str, Any]]:
        channel, user_id = channel_user(sender_id)
        params = {"channel": channel, "channel_user_id": user_id}
        return await self._request("GET", "/api/personal-notices", language, params=params)

    async def start_phone_link(self, sender_id: str, phone: str, language: str) -> dict[str, Any]:
        channel, user_id = channel_user(sender_id)
        body = {"channel": channel, "channel_user_id": user_id, "phone": phone}
        return await self._request("POST", "/api/phone-links", language, json=body)

    async def confirm_phone_link(self, sender_id: str, code: str, language: str) -> dict[str, Any]:
        channel, user_id = channel_user(sender_id)
        body = {"channel": channel, "channel_user_id": user_id, "code": code}
        return await self._request("POST", "/api/phone-links/confirm", language, json=body)

    async def request_notice_code(self, sender_id: str, notice_id: str, language: str) -> dict[str, Any]:
        channel, user_id = channel_user(sender_id)
        body = {"channel": channel, "channel_user_id": user_id}
        return await self._request("POST", f"/api/personal-notices/{notice_id}/code", language, json=body)

    async def confirm_notice_code(self, sender_id: str, notice_id: str, code: str, language: str) -> dict[str, Any]:
        channel, user_id = channel_user(sender_id)
        body = {"channel": channel, "channel_user_id": user_id, "code": code}
        return await self._request("POST", f"/api/personal-notices/{notice_id}/confirm", language, json=body)

    # --- the knowledge base ---------------------------------------------------------------------------------

    async def ask_knowledge(self, sender_id: str, question: str, language: str, strict: bool) -> dict[str, Any]:
        """The best answer from the city's knowledge base and notices, or whom to call when there is none. `strict`
        (the NLU weakly named a flow): an answer only on a strong match, and a miss is not recorded."""
        channel, user_id = channel_user(sender_id)
        body = {"question": question[:KNOWLEDGE_QUESTION_LIMIT], "language": language, "strict": strict}
        body["channel"] = channel if user_id else None
        return await self._request("POST", "/api/knowledge/ask", language, json=body)

    async def knowledge_entry(self, entry_id: str, language: str) -> dict[str, Any]:
        """One published entry's answer, shaped as `ask_knowledge`'s; refused when it is unknown or withdrawn."""
        path = f"/api/knowledge/entries/{quote(entry_id, safe='')}/answer"
        return await self._request("GET", path, language, params={"language": language})

    async def knowledge_feedback(self, ask_id: int, helpful: bool, language: str) -> None:
        body = {"ask_id": ask_id, "helpful": helpful}
        await self._request("POST", "/api/knowledge/feedback", language, json=body)

    # --- citizen reports (생활불편 신고) ---------------------------------------------------------------------

    async def report_kinds(self, language: str) -> list[dict[str, Any]]:
        """The kinds of problem a citizen may report, named in `language`: `{code, name, department, ...}`."""
        return await self._request("GET", "/api/reports/kinds", language)

    async def report_consent(self, language: str) -> dict[str, Any]:
        """The callback-number consent statement, `{text, retention_days}`, in `language`."""
        return await self._request("GET", "/api/reports/consent", language)

    async def known_place(self, name: str, language: str) -> list[dict[str, Any]]:
        """The place of the city gazetteer a name or phrase refers to; refused (place_not_found) when none."""
        return await self._request("GET", "/api/facilities/places", language, params={"q": name})

    async def file_report(
        self, sender_id: str, report: dict[str, Any], idempotency_key: str, language: str
    ) -> dict[str, Any]:
        """Files the report (kind, description, place or point, photo ids, callback phone with its consent text);
        the same Idempotency-Key again answers with the case it filed."""
        channel, user_id = channel_user(sender_id)
        body = {"channel": channel, "channel_user_id": user_id, **report}
        headers = {"Idempotency-Key": idempotency_key}
        return await self._request("POST", "/api/reports", language, json=body, headers=headers)

    async def my_reports(self, sender_id: str, language: str) -> list[dict[str, Any]]:
        """This chat's reports, newest first: the open ones and those closed lately."""
        channel, user_id = channel_user(sender_id)
        params = {"channel": channel, "channel_user_id": user_id}
        return await self._request("GET", "/api/reports", language, params=params)

    async def report(self, receipt_no: str, language: str) -> dict[str, Any]:
        """A case's kind, status and public history by its receipt number."""
        return await self._request("GET", f"/api/reports/{quote(receipt_no, safe='')}", language)

    async def rate_report(
        self, sender_id: str, receipt_no: str, score: int, comment: str | None, language: str
    ) -> dict[str, Any]:
        channel, user_id = channel_user(sender_id)
        body: dict[str, Any] = {"channel": channel, "channel_user_id": user_id, "score": score}
        if comment:
            body["comment"] = comment
        return await self._request("POST", f"/api/reports/{quote(receipt_no, safe='')}/rating", language, json=body)


def _domain_error(response: httpx.Response) -> bool:
    """A 5xx that is the api's own answer with a reason (the SMS provider is down): retrying would repeat it,
    and the citizen should hear that reason, not that the api is unreachable."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("code"), str) and isinstance(body.get("detail"), str)


def _refusal(response: httpx.Response) -> ApiRefused:
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("detail")
    if not isinstance(detail, str):  # FastAPI's own validation errors are a list
        detail = (
            "입력을 확인해 주세요."
            if response.request.headers.get("Accept-Language") == "ko"
            else "Please check your input."
        )
    return ApiRefused(response.status_code, body.get("code", "invalid_input"), detail)
