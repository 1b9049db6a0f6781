"""The api and the gateway authenticate to Rasa with a JWT in a header that Rasa's own server accepts."""

import socket
from contextlib import asynccontextmanager
from datetime import timedelta

import aiohttp
import jwt
import pytest
import time_machine
from rasa.server import create_app
from sanic import Sanic

from common import clock
from common.rasa_auth import rasa_authorization, rasa_jwt

SECRET = "jwt-test-secret-of-32-bytes-or-more"


@asynccontextmanager
async def rasa_http_api():
    """Rasa's HTTP API as `scripts/run-rasa` configures it (no model loaded: an authenticated call gets 409)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(auth_token="query-token", jwt_secret=SECRET, jwt_method="HS256")
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture(autouse=True)
def sanic_test_mode(monkeypatch):
    monkeypatch.setattr(Sanic, "test_mode", True)


async def status_code(url: str, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/status", headers=headers) as answer:
        return answer.status


async def test_rasa_accepts_the_header_and_refuses_a_token_signed_with_another_secret():
    async with rasa_http_api() as url:
        assert await status_code(url, rasa_authorization(SECRET, "paju-gateway")) == 409  # past auth: no model
        assert await status_code(url, rasa_authorization("another-secret", "paju-gateway")) == 401
        assert await status_code(url, {}) == 401


async def test_rasa_refuses_an_expired_token():
    with time_machine.travel(clock.utcnow() - timedelta(hours=1), tick=False):
        stale = rasa_authorization(SECRET, "paju-gateway")
    async with rasa_http_api() as url:
        assert await status_code(url, stale) == 401


def test_the_token_names_the_caller_as_admin_and_expires_within_minutes():
    claims = jwt.decode(rasa_jwt(SECRET, "paju-api"), SECRET, algorithms=["HS256"])
    assert claims["user"] == {"username": "paju-api", "role": "admin"}
    assert 0 < claims["exp"] - clock.utcnow().timestamp() <= 5 * 60
    assert SECRET not in rasa_jwt(SECRET, "paju-api")


def test_without_a_secret_no_header_is_sent():
    assert rasa_authorization("", "paju-gateway") == {}
