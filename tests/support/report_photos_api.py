"""The api's photo route for gateway tests (respx), as the reports contract has it, in front of the real api app."""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import respx
from fastapi import FastAPI
from starlette.requests import Request


class PhotoRoute:
    """The api's POST /api/reports/photos as the contract has it: the same bytes from the same conversation are the
    same photo. `refusal` (status, code, detail) or `status` (a 5xx) makes it answer that instead."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, str, str], int] = {}
        self.uploads: list[dict] = []
        self.refusal: tuple[int, str, str] | None = None
        self.status: int | None = None
        self.location: tuple[float, float] | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        form = await _form(request)
        self.uploads.append(form | {"accept_language": request.headers.get("accept-language")})
        if self.status is not None:
            return httpx.Response(self.status, json={"detail": "internal error"})
        if self.refusal is not None:
            status, code, detail = self.refusal
            return httpx.Response(status, json={"detail": detail, "code": code})
        key = (form["channel"], form["channel_user_id"], hashlib.sha256(form["content"]).hexdigest())
        photo_id = self.kept.setdefault(key, 12 + len(self.kept))
        latitude, longitude = self.location or (None, None)
        return httpx.Response(201, json={"photo_id": photo_id, "latitude": latitude, "longitude": longitude})


async def _form(request: httpx.Request) -> dict:
    """The multipart form the gateway sent, read as the api (Starlette) reads it."""
    body = request.content
    headers = [(name.lower().encode(), value.encode()) for name, value in request.headers.items()]
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": headers}

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async with Request(scope, receive).form() as form:
        upload = form["file"]
        return {
            "channel": form["channel"],
            "channel_user_id": form["channel_user_id"],
            "filename": upload.filename,
            "content_type": upload.content_type,
            "content": await upload.read(),
        }


@contextmanager
def api_with_photo_route(base_url: str, api_app: FastAPI) -> Iterator[PhotoRoute]:
    """The api at `base_url`: its photo route this stand-in, every other route the real app; loopback addresses
    are left alone."""
    route = PhotoRoute()
    app = httpx.ASGITransport(app=api_app)

    async def the_app(request: httpx.Request) -> httpx.Response:
        return await app.handle_async_request(request)

    with respx.mock(assert_all_called=False) as api:
        api.post(f"{base_url}/api/reports/photos").mock(side_effect=route)
        api.route(url__startswith=base_url).mock(side_effect=the_app)
        api.route(host="127.0.0.1").pass_through()  # the fakes of Telegram and Kakao, on loopback
        yield route
