"""Each conversation goes to one Rasa replica, chosen on a hash ring of sender ids, and to the next one while it is
down; fake replicas on loopback answer or refuse as real ones would."""

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.gateway.rasa_client import RasaClient, RasaUnavailable
from bot.gateway.rasa_replicas import RasaReplicas
from bot.gateway.settings import GatewaySettings
from common.log_format import JsonFormatter
from tests.support.fake_telegram import LoopbackServer

TWO = ["http://rasa-1:5005", "http://rasa-2:5005"]
THREE = [*TWO, "http://rasa-3:5005"]


def _senders(count: int) -> list[str]:
    """Sender ids as the channels make them: web chat, Telegram and KakaoTalk."""
    kinds = [
        lambda n: f"web:{uuid.UUID(int=n * 7919)}",
        lambda n: f"telegram:{100_000_000 + n * 37}",
        lambda n: f"kakao:{n:08x}kakaouser",
    ]
    return [kinds[n % 3](n) for n in range(count)]


def _first_choices(replicas: RasaReplicas, senders: list[str]) -> dict[str, str]:
    return {sender: replicas.in_order(sender)[0] for sender in senders}


def test_a_sender_goes_to_the_same_replica_every_time_and_in_every_process():
    senders = _senders(200)
    ring = RasaReplicas(THREE)
    placed = _first_choices(ring, senders)
    assert all(_first_choices(ring, senders) == placed for _ in range(5))
    assert _first_choices(RasaReplicas(reversed(THREE)), senders) == placed
    # Another gateway process, with another seed for Python's own hash(): the same replica for every sender.
    script = (
        "import json, sys; from bot.gateway.rasa_replicas import RasaReplicas; "
        "ring = RasaReplicas(json.loads(sys.argv[1])); "
        "print(json.dumps({s: ring.in_order(s)[0] for s in json.loads(sys.argv[2])}))"
    )
    other = subprocess.run(
        [sys.executable, "-c", script, json.dumps(THREE), json.dumps(senders)],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(other.stdout) == placed


def test_a_thousand_senders_spread_over_two_replicas_nearly_evenly():
    shares = Counter(_first_choices(RasaReplicas(TWO), _senders(1000)).values())
    assert set(shares) == set(TWO)
    assert all(350 <= count <= 650 for count in shares.values()), shares


def test_removing_one_of_three_replicas_moves_only_the_senders_that_were_on_it():
    senders = _senders(1000)
    ring = RasaReplicas(THREE)
    before = _first_choices(ring, senders)
    after = _first_choices(RasaReplicas(TWO), senders)
    moved = {sender for sender in senders if before[sender] != after[sender]}
    assert moved == {sender for sender in senders if before[sender] == "http://rasa-3:5005"}
    # Each goes where it would have failed over to: the next replica along the ring.
    assert all(after[sender] == ring.in_order(sender)[1] for sender in moved)


def test_adding_a_third_replica_moves_about_a_third_of_the_senders_all_to_it():
    senders = _senders(1000)
    before = _first_choices(RasaReplicas(TWO), senders)
    after = _first_choices(RasaReplicas(THREE), senders)
    moved = [sender for sender in senders if before[sender] != after[sender]]
    assert {after[sender] for sender in moved} == {"http://rasa-3:5005"}
    assert 250 <= len(moved) <= 420


def test_a_replica_that_could_not_be_reached_goes_last_for_its_pause_and_then_back_in_place():
    now = [1000.0]
    ring = RasaReplicas(THREE, pause_seconds=5, clock=lambda: now[0])
    sender = "telegram:123456789"
    order = ring.in_order(sender)
    assert sorted(order) == sorted(THREE)
    ring.unreachable(order[0])
    assert ring.in_order(sender) == [*order[1:], order[0]]
    now[0] += 4.9
    assert ring.in_order(sender) == [*order[1:], order[0]]
    now[0] += 0.2
    assert ring.in_order(sender) == order
    ring.unreachable(order[1])
    ring.answered(order[1])
    assert ring.in_order(sender) == order


def test_rasa_urls_is_a_json_list_and_without_it_rasa_url_is_the_one_replica(monkeypatch):
    monkeypatch.setenv("RASA_URL", "http://rasa:5005/")
    monkeypatch.delenv("RASA_URLS", raising=False)
    assert GatewaySettings(_env_file=None).rasa_replicas == ["http://rasa:5005"]
    monkeypatch.setenv("RASA_URLS", '["http://rasa-1:5005/", "http://rasa-2:5005"]')
    assert GatewaySettings(_env_file=None).rasa_replicas == TWO


class FakeRasa:
    """One Rasa replica on loopback: it records whose messages reach it and answers with its name, or with `status`
    (a proxy's 503 for a replica that is down), after `delay` seconds."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.status = 200
        self.delay = 0.0
        self.senders: list[str] = []
        routes = [
            Route("/webhooks/gateway/webhook", self._message, methods=["POST"]),
            Route("/conversations/{sender_id}/tracker/events", self._events, methods=["POST"]),
        ]
        self.server = LoopbackServer(Starlette(routes=routes))
        self.url = f"http://127.0.0.1:{self.server.port}"

    async def _message(self, request: Request) -> JSONResponse:
        body = await request.json()
        return await self._answer(body["sender"], {"messages": [{"text": f"{self.name}: {body['message']}"}]})

    async def _events(self, request: Request) -> JSONResponse:
        return await self._answer(request.path_params["sender_id"], {"events": None})

    async def _answer(self, sender_id: str, answer: dict) -> JSONResponse:
        self.senders.append(sender_id)
        await asyncio.sleep(self.delay)
        if self.status != 200:
            return JSONResponse({"error": "replica down"}, status_code=self.status)
        return JSONResponse(answer)


@pytest.fixture
def start_rasa():
    started: list[FakeRasa] = []

    def start(name: str) -> FakeRasa:
        rasa = FakeRasa(name)
        rasa.server.start()
        started.append(rasa)
        return rasa

    yield start
    for rasa in started:
        rasa.server.stop()


def _nothing_listening() -> str:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{free.getsockname()[1]}"


def _sender_first_on(urls: list[str], url: str) -> str:
    ring = RasaReplicas(urls)
    return next(sender for sender in _senders(100) if ring.in_order(sender)[0] == url)


@asynccontextmanager
async def _client(urls: list[str], timeout: float = 5, pause: float = 5) -> AsyncIterator[RasaClient]:
    client = RasaClient(urls, timeout, replica_pause_seconds=pause)
    try:
        yield client
    finally:
        await client.close()


async def test_a_refused_connection_fails_over_to_the_next_replica_and_its_answer_comes_back(start_rasa, caplog):
    other = start_rasa("other")
    down = _nothing_listening()
    sender = _sender_first_on([down, other.url], down)
    async with _client([down, other.url]) as client:
        with caplog.at_level(logging.WARNING):
            answer = await client.send(sender, "안녕", {"channel": "web"})
    assert [reply.text for reply in answer.replies] == ["other: 안녕"]
    assert other.senders == [sender]
    warnings = [record for record in caplog.records if record.name == "bot.gateway.rasa_client"]
    assert [(record.message, record.replica) for record in warnings] == [("rasa replica down", down)]


async def test_resuming_a_conversation_fails_over_and_the_warning_does_not_name_the_sender(start_rasa, caplog):
    down, other = start_rasa("down"), start_rasa("other")
    down.status = 502
    sender = _sender_first_on([down.url, other.url], down.url)
    async with _client([down.url, other.url]) as client:
        with caplog.at_level(logging.WARNING):
            await client.resume_afresh(sender)
    assert (down.senders, other.senders) == ([sender], [sender])
    lines = [JsonFormatter().format(record) for record in caplog.records if record.name == "bot.gateway.rasa_client"]
    assert len(lines) == 1 and "HTTP 502" in lines[0]
    assert sender.split(":")[1] not in lines[0]


async def test_a_replica_that_is_slow_to_answer_is_not_failed_over_from(start_rasa):
    slow, other = start_rasa("slow"), start_rasa("other")
    slow.delay = 1.0
    sender = _sender_first_on([slow.url, other.url], slow.url)
    async with _client([slow.url, other.url], timeout=0.3) as client:
        with pytest.raises(RasaUnavailable):
            await client.send(sender, "예약", {})
        assert other.senders == []
        # Not paused either: it was working on the message, not down.
        slow.delay = 0
        assert (await client.send(sender, "예약 확인", {})).replies[0].text == "slow: 예약 확인"
    assert other.senders == []


async def test_an_error_rasa_answers_is_not_failed_over_from(start_rasa):
    failing, other = start_rasa("failing"), start_rasa("other")
    failing.status = 500
    sender = _sender_first_on([failing.url, other.url], failing.url)
    async with _client([failing.url, other.url]) as client:
        with pytest.raises(RasaUnavailable, match="500"):
            await client.send(sender, "예약", {})
    assert other.senders == []


async def test_when_every_replica_is_down_the_message_is_unavailable(start_rasa):
    proxied = start_rasa("proxied")
    proxied.status = 503
    async with _client([_nothing_listening(), proxied.url, _nothing_listening()]) as client:
        with pytest.raises(RasaUnavailable):
            await client.send("web:citizen-1", "안녕", {})
    assert proxied.senders == ["web:citizen-1"]


async def test_a_replica_that_was_down_is_skipped_for_its_pause_and_then_tried_again(start_rasa):
    flaky, other = start_rasa("flaky"), start_rasa("other")
    flaky.status = 503
    sender = _sender_first_on([flaky.url, other.url], flaky.url)
    async with _client([flaky.url, other.url], pause=0.3) as client:
        assert (await client.send(sender, "하나", {})).replies[0].text == "other: 하나"
        flaky.status = 200
        assert (await client.send(sender, "둘", {})).replies[0].text == "other: 둘"
        assert len(flaky.senders) == 1
        await asyncio.sleep(0.4)
        assert (await client.send(sender, "셋", {})).replies[0].text == "flaky: 셋"
    assert len(flaky.senders) == 2


async def test_a_lone_replica_that_was_down_is_still_tried_for_the_next_message(start_rasa):
    rasa = start_rasa("rasa")
    rasa.status = 503
    async with _client([rasa.url]) as client:
        with pytest.raises(RasaUnavailable):
            await client.send("telegram:42", "하나", {})
        rasa.status = 200
        assert (await client.send("telegram:42", "둘", {})).replies[0].text == "rasa: 둘"
