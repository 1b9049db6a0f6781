"""The gateway refuses request bodies over its limit with 413 before parsing them, declared or streamed."""

import json
import socket
import uuid
from collections.abc import Iterator

import pytest

from bot.gateway.app import create_app
from tests.bot.test_rate_limits import _settings, gateway
from tests.support.fake_telegram import LoopbackServer

TWO_MB = 2 * 1024 * 1024


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
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as connection:
        connection.sendall(
            b"POST /web/messages HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 16 * 1024
        # 80 KiB, past the 64 KiB limit, and the request is never finished: the answer cannot wait for its end.
        for _ in range(5):
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        head = connection.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413 ")


def test_a_declared_length_over_the_limit_is_refused_before_any_of_the_body_is_sent(served):
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as connection:
        connection.sendall(
            b"POST /web/messages HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {TWO_MB}\r\n\r\n".encode()
        )
        head = connection.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413 ")
