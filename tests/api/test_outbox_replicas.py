"""Gateway outbox workers as separate processes against a real api on PostgreSQL: each message is sent once, and
one whose gateway was killed (SIGKILL) before reporting is sent by another once its lease lapses."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.gateway.outbox import Delivery, OutboxWorker
from tests.support.postgres import temporary_database
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.postgres
LEASE_SECONDS = 5  # the shortest the api grants

# A gateway's outbox loop (bot/gateway/outbox.py) with a stand-in channel that notes each message as it starts and
# finishes sending it; with "hang" it never finishes, as a gateway stuck on the messenger would.
GATEWAY = """
import asyncio, os, sys, time

from bot.gateway.api_client import ApiClient
from bot.gateway.outbox import Delivery, OutboxWorker

api_url, token, notes, lease, hang = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "hang"


def note(event, outbox_id=0):
    with open(notes, "a") as file:
        file.write(f"{event} {os.getpid()} {outbox_id} {time.time()}\\n")


class Channel:
    async def deliver(self, message):
        note("sending", message["id"])
        await asyncio.sleep(3600 if hang else 0.3)
        note("sent", message["id"])
        return Delivery("delivered", channel_message_id=str(message["id"]))


async def main():
    api = ApiClient(api_url, token, 5)
    OutboxWorker(api, {"telegram": Channel()}, poll_seconds=0.2, batch=5, lease_seconds=lease).start()
    note("ready")
    await asyncio.Event().wait()


asyncio.run(main())
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[Stack]:
    with temporary_database() as url:
        stack = Stack(tmp_path_factory.mktemp("stack"), database_url=url)
        try:
            yield stack.start(only=("api",))
        finally:
            stack.stop_all()


class Gateways:
    def __init__(self, api: Stack, notes: Path) -> None:
        self.api, self.notes = api, notes
        self.processes: dict[int, subprocess.Popen] = {}

    def start(self, hang: bool = False) -> int:
        command = [
            sys.executable, "-c", GATEWAY, self.api.url("api"), self.api.service_token, str(self.notes),
            str(LEASE_SECONDS), "hang" if hang else "deliver",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.STDOUT)
        self.processes[process.pid] = process
        return process.pid

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        self.processes.pop(pid).wait()

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.kill()
            process.wait()

    def events(self, kind: str) -> list[tuple[int, int]]:
        """(gateway pid, outbox id) of each event of this kind, in order."""
        if not self.notes.exists():
            return []
        lines = [line.split() for line in self.notes.read_text().splitlines()]
        return [(int(pid), int(outbox_id)) for event, pid, outbox_id, _at in lines if event == kind]

    def wait_for(self, kind: str, count: int, timeout: float = 30) -> list[tuple[int, int]]:
        deadline = time.monotonic() + timeout
        while len(self.events(kind)) < count:
            assert time.monotonic() < deadline, f"no {count} '{kind}' after {timeout}s"
            time.sleep(0.05)
        return self.events(kind)


@pytest.fixture
def gateways(api, tmp_path) -> Iterator[Gateways]:
    running = Gateways(api, tmp_path / "notes.txt")
    try:
        yield running
    finally:
        running.stop_all()


def _write_to(api: Stack, citizens: list[str]) -> list[int]:
    """One message from the city to each citizen (each wrote to the assistant first)."""
    headers = {"Authorization": f"Bearer {api.service_token}"}
    ids = []
    with httpx.Client(base_url=api.url("api"), headers=headers, timeout=10) as http:
        for user in citizens:
            said = {"channel": "telegram", "channel_user_id": user, "text": "안녕하세요", "language": "ko"}
            assert http.post("/api/conversations/messages", json=said).status_code == 201
            queued = http.post("/api/outbox", json={"channel": "telegram", "channel_user_id": user, "text": "공지"})
            ids.append(queued.json()["id"])
    return ids


def _statuses(api: Stack, ids: list[int]) -> list[tuple[str, int]]:
    headers = {"Authorization": f"Bearer {api.service_token}"}
    found = [httpx.get(f"{api.url('api')}/api/outbox/{outbox_id}", headers=headers).json() for outbox_id in ids]
    return [(message["status"], message["attempts"]) for message in found]


def test_two_gateways_send_each_message_once(api, gateways):
    both = {gateways.start(), gateways.start()}
    gateways.wait_for("ready", 2)
    ids = _write_to(api, [f"both-{n}" for n in range(30)])
    sent = gateways.wait_for("sent", len(ids))
    time.sleep(LEASE_SECONDS + 1)  # past every lease, more rounds of both: nothing is sent again
    assert sorted(outbox_id for _pid, outbox_id in gateways.events("sending")) == ids
    assert sorted(outbox_id for _pid, outbox_id in sent) == ids
    assert {pid for pid, _outbox_id in sent} == both  # each took its share, five messages a round
    assert _statuses(api, ids) == [("delivered", 1)] * len(ids)


def test_a_message_whose_gateway_was_killed_before_reporting_is_sent_by_another_once_its_lease_lapses(api, gateways):
    ids = _write_to(api, [f"killed-{n}" for n in range(5)])
    doomed = gateways.start(hang=True)
    gateways.wait_for("sending", len(ids))
    gateways.kill(doomed)
    killed_at = time.monotonic()

    survivor = gateways.start()
    sent = gateways.wait_for("sent", len(ids))
    assert time.monotonic() - killed_at < LEASE_SECONDS + 10
    time.sleep(LEASE_SECONDS + 1)
    assert sorted(sent) == [(survivor, outbox_id) for outbox_id in ids]
    assert gateways.events("sending") == [(doomed, outbox_id) for outbox_id in ids] + sent
    assert _statuses(api, ids) == [("delivered", 2)] * len(ids)


class _Api:
    """The api as one gateway's worker sees it: one message to claim, and the reports it is sent."""

    def __init__(self, claimable: list[dict]) -> None:
        self.claimable, self.reports = claimable, []

    async def claim_outbox(self, channels: list[str], limit: int, lease_seconds: int) -> list[dict]:
        claimed, self.claimable = self.claimable, []
        return claimed

    async def report_delivery(self, outbox_id: int, result: dict) -> bool:
        self.reports.append((outbox_id, result))
        return True


class _StuckChannel:
    async def deliver(self, message: dict) -> Delivery:
        await asyncio.sleep(3600)
        raise AssertionError("never answers")


async def test_a_gateway_stuck_on_the_messenger_gives_the_message_back_before_its_lease_runs_out():
    api = _Api([{"id": 7, "channel": "telegram", "attempts": 3}])
    worker = OutboxWorker(api, {"telegram": _StuckChannel()}, poll_seconds=1, batch=5, lease_seconds=1)
    started = time.monotonic()
    assert await worker.deliver_due() == 1
    assert time.monotonic() - started < 1  # reported while the lease still held: no other gateway had taken it
    [(outbox_id, result)] = api.reports
    assert (outbox_id, result["status"]) == (7, "retry") and "lease" in result["error"]
    assert result["attempt"] == 3, "the report names its claim, so a late one cannot end a later claim's lease"
