"""Two api processes with the scheduler on, on one PostgreSQL database: a due job runs once, and the attempt of a
replica killed mid-job (SIGKILL) is abandoned by the other and retried once."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from api.automation.models import JobRun
from api.automation.scheduler import ABANDONED
from api.core.database import make_engine, make_sessionmaker
from api.core.migrate import upgrade
from common.clock import SEOUL, utcnow
from tests.api.conftest import SERVICE_TOKEN
from tests.support.postgres import temporary_database
from tests.support.stack import ROOT, free_port

pytestmark = pytest.mark.postgres

# The api process as `uvicorn` runs it, with one job of the test's in place of the domains' jobs: it notes when it
# starts and ends (pid, time) in a file, and takes `seconds` in between.
REPLICA = """
import os, sys, time
from datetime import time as clock

import uvicorn

from api.automation import scheduler
from api.automation.schedule import Daily, Job
from api.main import create_app

port, due, seconds, notes = int(sys.argv[1]), clock.fromisoformat(sys.argv[2]), float(sys.argv[3]), sys.argv[4]


def note(event):
    with open(notes, "a") as file:
        file.write(f"{event} {os.getpid()} {time.time()}\\n")


def slow(ctx):
    note("start")
    time.sleep(seconds)
    note("end")
    return {"seconds": seconds}


scheduler.JOBS = {"slow": Job("slow", "느린 작업", Daily(due), slow)}
uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")
"""


@dataclass
class Replicas:
    database_url: str
    notes: Path
    processes: dict[int, subprocess.Popen]

    def events(self, kind: str) -> list[tuple[int, float]]:
        if not self.notes.exists():
            return []
        lines = [line.split() for line in self.notes.read_text().splitlines()]
        return [(int(pid), float(at)) for event, pid, at in lines if event == kind]

    def wait_for(self, kind: str, count: int, timeout: float = 30) -> list[tuple[int, float]]:
        deadline = time.monotonic() + timeout
        while len(self.events(kind)) < count:
            assert time.monotonic() < deadline, f"no {count} '{kind}' after {timeout}s: {self.notes.read_text()}"
            time.sleep(0.05)
        return self.events(kind)

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        self.processes.pop(pid).wait()

    def runs(self) -> list[tuple[int, str, str, str | None]]:
        engine = make_engine(self.database_url)
        try:
            with make_sessionmaker(engine)() as session:
                found = session.scalars(select(JobRun).where(JobRun.job == "slow").order_by(JobRun.attempt))
                return [(run.attempt, run.trigger, run.status, run.error) for run in found]
        finally:
            engine.dispose()


def _replicas(tmp_path: Path, job_seconds: float) -> Iterator[Replicas]:
    with temporary_database() as url:
        upgrade(url)
        due = (utcnow().astimezone(SEOUL) - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": url,
            "SERVICE_TOKEN": SERVICE_TOKEN,
            "RASA_URL": "http://127.0.0.1:9",
            "SCHEDULER_ENABLED": "true",
            "SCHEDULER_TICK_SECONDS": "0.3",
            "SCHEDULER_RETRY_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
        }
        ports = [free_port(), free_port()]
        notes = tmp_path / "notes.txt"
        processes = {}
        try:
            for port in ports:
                command = [sys.executable, "-c", REPLICA, str(port), due.isoformat(), str(job_seconds), str(notes)]
                log = open(tmp_path / f"api-{port}.log", "ab")  # noqa: SIM115  (closed with the process)
                process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
                processes[process.pid] = process
            for port in ports:
                _wait_ready(f"http://127.0.0.1:{port}/api/health")
            yield Replicas(url, notes, processes)
        finally:
            for process in processes.values():
                process.kill()
                process.wait()


def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready after {timeout}s")


@pytest.fixture
def quick_job(tmp_path) -> Iterator[Replicas]:
    yield from _replicas(tmp_path, job_seconds=1)


@pytest.fixture
def slow_job(tmp_path) -> Iterator[Replicas]:
    yield from _replicas(tmp_path, job_seconds=4)


def test_two_api_replicas_run_a_due_job_once(quick_job):
    quick_job.wait_for("end", 1)
    time.sleep(2)  # several more ticks of both replicas
    assert len(quick_job.events("start")) == 1
    assert quick_job.runs() == [(1, "schedule", "succeeded", None)]


def test_the_job_of_a_replica_killed_mid_run_is_abandoned_by_the_other_and_run_again_once(slow_job):
    [(runner, _at)] = slow_job.wait_for("start", 1)
    time.sleep(1)
    assert len(slow_job.events("start")) == 1, "the other replica leaves a running attempt alone"
    slow_job.kill(runner)
    killed_at = time.time()

    [(_first, _at), (survivor, restarted_at)] = slow_job.wait_for("start", 2)
    [(finisher, _at)] = slow_job.wait_for("end", 1)
    assert survivor != runner and finisher == survivor and restarted_at > killed_at
    time.sleep(1)
    assert len(slow_job.events("start")) == 2
    assert slow_job.runs() == [(1, "schedule", "failed", ABANDONED), (2, "retry", "succeeded", None)]
