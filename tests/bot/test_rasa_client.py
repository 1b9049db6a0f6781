"""The gateway shows Rasa a signed token in a header: no secret in any URL, error message or log line."""

import base64
import json
import logging

import httpx
import pytest

from bot.gateway.messages import IncomingMessage
from bot.gateway.rasa_client import RasaClient, RasaUnavailable
from bot.gateway.router import MessageRouter
from common.log_format import JsonFormatter

SECRET = "rasa-jwt-secret-for-the-gateway-tests"


class RecordingRasa:
    """A Rasa that records every request and answers each with `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status, json={"status": "failure", "reason": "NotAuthenticated"})
        if request.url.path.endswith("/webhook"):
            return httpx.Response(200, json={"messages": [{"text": "안녕하세요"}], "parse": {"text": "안녕"}})
        return httpx.Response(200, json={"events": []})

    def client(self) -> RasaClient:
        return RasaClient("http://rasa.test", 2, SECRET, transport=httpx.MockTransport(self))


def claims(authorization: str) -> dict:
    payload = authorization.removeprefix("Bearer ").split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_no_url_the_gateway_sends_to_rasa_carries_a_token():
    rasa = RecordingRasa()
    client = rasa.client()
    await client.send("web:citizen-1", "안녕", {"channel": "web"}, with_parse=True)
    await client.resume_afresh("web:citizen-1")
    assert [request.url.path for request in rasa.requests] == [
        "/webhooks/gateway/webhook",
        "/conversations/web:citizen-1/tracker/events",
    ]
    for request in rasa.requests:
        assert "token" not in request.url.params
        assert SECRET not in str(request.url)
        assert SECRET not in request.headers["authorization"]
        assert claims(request.headers["authorization"])["user"] == {"username": "paju-gateway", "role": "admin"}


class OneTurnApi:
    """An api that begins every turn of a new message in mode bot and records its end."""

    async def begin_turn(self, *args, **kwargs) -> dict:
        return {"message_id": 1, "duplicate": False, "mode": "bot", "button_offered": None}

    async def extend_lease(self, *args) -> None: ...

    async def end_turn(self, *args, **kwargs) -> None: ...


async def test_a_failed_rasa_call_logs_neither_the_secret_nor_the_token(caplog):
    rasa = RecordingRasa(status=401)
    router = MessageRouter(OneTurnApi(), rasa.client(), max_nlu_chars=1000, inbox_reports=True)
    with caplog.at_level(logging.INFO):
        await router.handle(IncomingMessage("web", "citizen-1", "m1", text="안녕하세요"))
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert any("rasa unavailable" in line and "401" in line for line in lines)
    sent_token = rasa.requests[0].headers["authorization"].removeprefix("Bearer ")
    for line in lines:
        assert SECRET not in line
        assert sent_token not in line
        assert "token=" not in line


async def test_the_error_of_a_failed_call_names_the_url_without_credentials():
    client = RecordingRasa(status=401).client()
    with pytest.raises(RasaUnavailable) as failed:
        await client.resume_afresh("web:citizen-1")
    message = str(failed.value)
    assert "http://rasa.test/conversations/web:citizen-1/tracker/events?include_events=NONE" in message
    assert SECRET not in message and "token" not in message


async def test_without_a_secret_the_gateway_sends_no_authorization_at_all():
    rasa = RecordingRasa()
    await RasaClient("http://rasa.test", 2, transport=httpx.MockTransport(rasa)).send("web:citizen-1", "안녕", {})
    assert "authorization" not in rasa.requests[0].headers
