"""Training runs across api replicas: a run whose api process was killed (SIGKILL) takes its `rasa train` with it,
is failed with a reason by the next api to look, and frees the slot at once; a run failed elsewhere records nothing."""

import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from api.core.database import make_engine, make_sessionmaker
from api.staff.service import create_user
from api.training import runs
from api.training.models import TrainedModel, TrainingRun
from common.clock import utcnow
from tests.api.training_fixtures import (
    ADMIN,
    PASSWORD,
    RASA_JWT_SECRET,
    FakeRasa,
    copy_project,
    fake_rasa_env,
    training_environment,
    wait_for_run,
    write_model,
)
from tests.support.postgres import temporary_database
from tests.support.stack import Stack

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# `rasa train` that takes its time: it notes its pid, waits for FAKE_RASA_GO_FILE to exist (or FAKE_RASA_SECONDS),
# then becomes the quick stand-in of tests/api/training_fixtures.py, which writes the model file.
SLOW_RASA = """#!{python}
import os, sys, time
with open(os.environ["FAKE_RASA_PID_FILE"], "w") as file:
    file.write(str(os.getpid()))
go, deadline = os.environ.get("FAKE_RASA_GO_FILE"), time.monotonic() + float(os.environ.get("FAKE_RASA_SECONDS", 0))
while (go and not os.path.exists(go)) or (not go and time.monotonic() < deadline):
    time.sleep(0.05)
os.execv({quick!r}, [{quick!r}, *sys.argv[1:]])
"""


def slow_rasa_env(directory: Path) -> Path:
    environment = fake_rasa_env(directory)
    rasa, quick = environment / "bin" / "rasa", environment / "bin" / "rasa-quick"
    rasa.rename(quick)
    rasa.write_text(SLOW_RASA.format(python=sys.executable, quick=str(quick)))
    rasa.chmod(0o755)
    return environment


def _gone(pid: int) -> bool:
    """Whether the process has ended (a zombie not yet reaped by whoever adopted it has ended too)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _wait(condition, timeout: float = 15, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def _model_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*.tar.gz*") if not path.is_symlink())


# --- a run failed by another replica, in one api (TestClient) ------------------------------------------------


@pytest.fixture
def training(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_RASA_PID_FILE", str(tmp_path / "rasa.pid"))
    with training_environment(database_url, tmp_path) as environment:
        slow_rasa_env(tmp_path / "slow-rasa-env")
        environment.settings.training_rasa_env = tmp_path / "slow-rasa-env"
        yield environment


def _start(training) -> tuple[int, int]:
    """Starts a run from the api; returns its id and the pid of its `rasa train` once that is waiting."""
    token = training.client.post("/api/auth/sign-in", json={"email": ADMIN, "password": PASSWORD}).json()["token"]
    started = training.client.post("/api/training/runs", json={}, headers={"Authorization": f"Bearer {token}"})
    assert started.status_code == 202, started.text
    pid_file = Path(os.environ["FAKE_RASA_PID_FILE"])
    _wait(lambda: pid_file.exists() and pid_file.read_text(), what="rasa train started")
    return started.json()["id"], int(pid_file.read_text())


def _fail_as_another_replica_would(training, run_id: int) -> None:
    """The run is not heard of for too long (a heartbeat stalled, the database away) and another replica fails it."""
    with training.client.app.state.sessionmaker() as session:
        old = utcnow() - timedelta(seconds=training.settings.training_stale_seconds + 1)
        session.execute(update(TrainingRun).where(TrainingRun.id == run_id).values(heartbeat_at=old))
        runs.fail_stale_runs(session, training.settings)


def _trained_models(training) -> list[str]:
    """The models the console's runs recorded."""
    with training.client.app.state.sessionmaker() as session:
        return sorted(model.file_name for model in session.query(TrainedModel).filter_by(source="console"))


def test_a_model_written_after_its_run_was_failed_elsewhere_is_neither_kept_nor_recorded(
    training, tmp_path, monkeypatch
):
    go = tmp_path / "go"
    monkeypatch.setenv("FAKE_RASA_GO_FILE", str(go))
    run_id, _pid = _start(training)
    _fail_as_another_replica_would(training, run_id)
    go.touch()  # rasa train writes its model now, before the worker's next heartbeat could stop it

    run = wait_for_run(training.client, run_id)
    time.sleep(0.5)  # the worker gives up after the status changed: let it
    assert (run.status, run.error, run.model_id) == ("failed", runs.DIED_WITH_ITS_PROCESS, None)
    assert _trained_models(training) == []
    assert _model_files(training.settings.training_models_dir) == [training.live_model.name]
    assert _model_files(runs.run_directory(training.settings, run_id)) == []
    assert "marked failed meanwhile" in runs.log_tail(run)


def test_the_training_process_of_a_run_failed_elsewhere_is_stopped_at_the_next_heartbeat(
    training, tmp_path, monkeypatch
):
    training.settings.training_stale_seconds = 1.2  # a heartbeat every 0.2 s
    # rasa train waits for a go that never comes (without one it went on at once, and on a loaded machine wrote its
    # model before the heartbeat could stop it).
    monkeypatch.setenv("FAKE_RASA_GO_FILE", str(tmp_path / "never"))
    run_id, pid = _start(training)
    _fail_as_another_replica_would(training, run_id)

    # Generous: on a loaded machine (the whole suite on two cores) a heartbeat can come late.
    _wait(lambda: _gone(pid), timeout=20, what="rasa train stopped")

    def recorded() -> tuple:
        with training.client.app.state.sessionmaker() as session:
            run = session.get(TrainingRun, run_id)
            return (run.status, run.error)

    _wait(lambda: recorded() == ("failed", runs.DIED_WITH_ITS_PROCESS), timeout=10, what="the run failed")
    assert _model_files(training.settings.training_models_dir) == [training.live_model.name]


# --- an api process killed mid-run, with a new one started after it (real processes, PostgreSQL) ------------


@pytest.fixture
def training_api(tmp_path) -> Iterator[tuple[Stack, Path]]:
    live_model = tmp_path / "models" / "paju-0123456789abcdef.tar.gz"
    write_model(live_model, trained_at="2026-11-01T09:00:00")
    (live_model.parent / "current.tar.gz").symlink_to(live_model.name)
    rasa = FakeRasa(live_model)
    with temporary_database() as url:
        stack = Stack(
            tmp_path / "stack",
            database_url=url,
            extra_env={
                "RASA_URL": rasa.url,
                "RASA_JWT_SECRET": RASA_JWT_SECRET,
                "TRAINING_PROJECT_DIR": str(copy_project(tmp_path / "project")),
                "TRAINING_MODELS_DIR": str(live_model.parent),
                "TRAINING_RUNS_DIR": str(tmp_path / "runs"),
                "TRAINING_RASA_ENV": str(slow_rasa_env(tmp_path / "rasa-env")),
                "TRAINING_STALE_SECONDS": "2",
                "FAKE_RASA_PID_FILE": str(tmp_path / "rasa.pid"),
                "FAKE_RASA_SECONDS": "8",
            },
        )
        try:
            stack.start(only=("api",))
            engine = make_engine(url)
            with make_sessionmaker(engine)() as session:
                create_user(session, ADMIN, "김관리", PASSWORD, role="admin")
            engine.dispose()
            yield stack, tmp_path
        finally:
            stack.stop_all()
            rasa.stop()


@contextmanager
def _api_client(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url("api"), timeout=10) as client:
        token = client.post("/api/auth/sign-in", json={"email": ADMIN, "password": PASSWORD}).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


@contextmanager
def _console(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url("api"), timeout=10) as browser:
        page = browser.get("/console/sign-in")
        signed_in = browser.post(
            "/console/sign-in",
            data={"email": ADMIN, "password": PASSWORD, "csrf_token": CSRF.search(page.text).group(1)},
        )
        assert signed_in.status_code == 303, signed_in.text
        yield browser


def test_a_killed_api_takes_its_training_with_it_and_the_next_api_fails_the_run_and_starts_a_new_one(training_api):
    stack, folder = training_api
    with _api_client(stack) as api:
        run_id = api.post("/api/training/runs", json={}).json()["id"]
    pid_file = folder / "rasa.pid"
    _wait(lambda: pid_file.exists() and pid_file.read_text(), what="rasa train started")
    rasa_train = int(pid_file.read_text())
    assert not _gone(rasa_train)

    killed = stack.processes.pop("api")
    os.kill(killed.pid, signal.SIGKILL)  # the api process alone, not its process group
    killed.wait()
    # Well before it would write its model (or die of writing to the dead api's pipe, which a real Rasa survives).
    _wait(lambda: _gone(rasa_train), timeout=3, what="rasa train died with the api")
    assert _model_files(folder / "models") == ["paju-0123456789abcdef.tar.gz"]
    assert _model_files(folder / "runs") == []

    stack.extra_env["FAKE_RASA_SECONDS"] = "0"
    stack.launch("api", stack.commands()["api"])
    stack.wait_ready(("api",), timeout=60)
    with _api_client(stack) as api:
        run = api.get(f"/api/training/runs/{run_id}").json()
        assert (run["status"], run["error"]) == ("failed", runs.DIED_WITH_ITS_PROCESS)

    with _console(stack) as browser:
        page = browser.get("/console/admin/training")
        assert 'data-testid="training-start-button"' in page.text and "running-run-link" not in page.text
        started = browser.post("/console/admin/training/runs", data={"csrf_token": CSRF.search(page.text).group(1)})
        assert started.status_code == 303, started.text
        new_run_id = int(started.headers["location"].rsplit("/", 1)[1])
    assert new_run_id != run_id
    with _api_client(stack) as api:
        _wait(lambda: api.get(f"/api/training/runs/{new_run_id}").json()["status"] != "running", what="new run")
        finished = api.get(f"/api/training/runs/{new_run_id}").json()
    assert finished["status"] == "succeeded", finished["error"]
