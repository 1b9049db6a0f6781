"""The gateway refuses request bodies over its limit with 413 before parsing them, declared or streamed."""

import json
import uuid
from collections.abc import Iterator

import pytest

from bot.gateway.app import create_app
from tests.bot.test_rate_limits import _settings, gateway
from tests.support.fake_telegram import LoopbackServer
from tests.support.raw_http import TWO_MB, status_after_declaring, status_while_streaming


def _message(padding: int) -> bytes:
    return json.dumps({"message_id": uuid.uuid4().hex, "text": "안녕하세요", "padding": "x" * padding}).encode()


def _in_chunks(body: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_web_chat_message_of_two_megabytes_is_refused_with_413_and_never_handled():
    with gateway() as client:
        refused = client.post("/web/messages", content=_message(TWO_MB), headers={"Content-Type": "application/json"})
        assert refused.status_code == 413
        assert refused.json() == {"detail": "요청이 너무 커요. 64 KiB까지만 받을 수 있어요.", "code": "body_too_large"}
        assert client.app.state.router.handled == []


def test_a_streamed_web_chat_message_is_cut_off_past_the_limit_and_never_handled():
    with gateway() as client:
        refused = client.post(
            "/web/messages",
            content=_in_chunks(_message(TWO_MB)),
            headers={"Content-Type": "application/json", "Accept-Language": "en"},
        )
        assert refused.status_code == 413
        assert refused.json()["detail"] == "The request is too large: at most 64 KiB is accepted."
        assert client.app.state.router.handled == []
        small = client.post(
            "/web/messages", content=_in_chunks(_message(100), 64), headers={"Content-Type": "application/json"}
        )
        assert small.status_code == 200 and len(client.app.state.router.handled) == 1


def test_an_oversized_telegram_webhook_body_is_refused_before_its_secret_is_even_checked():
    with gateway(telegram_webhook_secret="s3cret") as client:
        refused = client.post("/telegram/webhook", content=b"{" + b" " * TWO_MB + b"}")
        assert refused.status_code == 413


@pytest.fixture
def served() -> Iterator[LoopbackServer]:
    server = LoopbackServer(create_app(_settings()))
    server.start()
    yield server
    server.stop()


def test_a_chunked_message_over_the_limit_is_refused_while_it_is_still_arriving(served):
    assert status_while_streaming(served.port, "/web/messages") == 413


def test_a_declared_length_over_the_limit_is_refused_before_any_of_the_body_is_sent(served):
    assert status_after_declaring(served.port, "/web/messages") == 413
