"""Starts api, gateway, rasa and actions as real processes on free loopback ports (tests, benchmarks)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from api.core.migrate import upgrade
from deploy import processes

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = ROOT / "models" / "current.tar.gz"
# Every citizen of a test or a benchmark writes from 127.0.0.1, and a benchmark's citizen far faster than a
# person: the stack runs without rate limits in effect (tests/api and tests/bot test them on the real apps).
LOOPBACK_LIMITS = {
    f"RATE_LIMIT_{name}": "1000000/minute"
    for name in (
        "BOOKING_LOOKUP_PER_CLIENT",
        "BOOKING_LOOKUP_PER_CODE",
        "SIGN_IN_PER_CLIENT",
        "SIGN_IN_PER_ACCOUNT",
        "SMS_CODE_PER_PHONE",
        "SMS_CODE_PER_CLIENT",
        "WEB_MESSAGE_PER_IDENTITY",
        "WEB_MESSAGE_PER_CLIENT",
        "WEB_HISTORY_PER_CLIENT",
        "WEB_UPDATES_PER_IDENTITY",
        "WEB_UPDATES_PER_CLIENT",
        "TELEGRAM_PER_CHAT",
        "KAKAO_PER_USER",
        "REQUESTS_PER_CLIENT",
        "BOOKING_CREATE_PER_CLIENT",
        "MODEL_TRIAL_PER_USER",
    )
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    workdir: Path
    model: Path = DEFAULT_MODEL
    database_url: str | None = None
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    service_token: str = field(default_factory=lambda: secrets.token_hex(16))
    rasa_token: str = field(default_factory=lambda: secrets.token_hex(16))
    rasa_jwt_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    actions_token: str = field(default_factory=lambda: secrets.token_hex(32))
    web_session_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    extra_env: dict[str, str] = field(default_factory=dict)
    # uvicorn worker processes of the api (a benchmark runs it as production would: one per core).
    api_workers: int = 1

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": self.database_url,
            "SERVICE_TOKEN": self.service_token,
            "RASA_TOKEN": self.rasa_token,
            "RASA_JWT_SECRET": self.rasa_jwt_secret,
            "ACTIONS_TOKEN": self.actions_token,
            "WEB_SESSION_SECRET": self.web_session_secret,
            "API_URL": self.url("api"),
            "PUBLIC_URL": self.url("api"),
            "RASA_URL": self.url("rasa"),
            "ACTIONS_URL": f"{self.url('actions')}/webhook",
            "RASA_TRACKER_DB": str(self.workdir / "rasa_tracker.db"),
            # Rasa pulls its model from this stack's api every second, so that a test sees an activation reach it
            # at once. Until one, the api serves what models/current.tar.gz names, or `model` when that is another.
            **({"TRAINING_LIVE_MODEL": str(self.model)} if self.model != DEFAULT_MODEL else {}),
            "MODEL_PULL_SECONDS": "1",
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
            **LOOPBACK_LIMITS,
            **self.extra_env,
        }

    def commands(self) -> dict[str, list[str]]:
        venv, rasa_venv = ROOT / ".venv" / "bin", ROOT / ".venv-rasa" / "bin"
        uvicorn = [str(venv / "uvicorn"), "--factory", "--host", "127.0.0.1", "--no-access-log", "--port"]
        return {
            "api": [*uvicorn, str(self.ports["api"]), *self._workers(), "api.main:create_app"],
            "gateway": [*uvicorn, str(self.ports["gateway"]), "bot.gateway.app:create_app"],
            "actions": [
                str(rasa_venv / "python"), "-m", "actions.server", "--port", str(self.ports["actions"]),
            ],
            "rasa": [str(ROOT / "scripts" / "run-rasa"), str(self.ports["rasa"]), str(self.model)],
        }  # fmt: skip

    def _workers(self) -> list[str]:
        return ["--workers", str(self.api_workers)] if self.api_workers > 1 else []

    def start(self, only: tuple[str, ...] = ("api", "actions", "rasa", "gateway"), timeout: float = 180) -> Stack:
        if "rasa" in only and not self.model.exists():
            raise RuntimeError(f"no trained model at {self.model}: run `make model` first")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.workdir / 'paju.db'}"
        upgrade(self.database_url)
        for name in ("api", "gateway", "rasa", "actions"):
            self.ports.setdefault(name, free_port())
        commands = self.commands()
        for name in only:
            self.launch(name, commands[name])
        self.wait_ready(only, timeout)
        return self

    def launch(self, name: str, command: list[str]) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115  (closed with the process)
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _ready(self, name: str) -> bool:
        probes = {
            "api": "/api/health",
            "gateway": "/health",
            "actions": "/health",
            "rasa": f"/status?token={self.rasa_token}",
        }
        try:
            response = httpx.get(self.url(name) + probes[name], timeout=2)
        except httpx.HTTPError:
            return False
        if name == "rasa":
            return response.status_code == 200 and bool(response.json().get("model_id"))
        return response.status_code == 200

    def wait_ready(self, names: tuple[str, ...], timeout: float) -> None:
        processes.wait_ready(names, self.processes.__getitem__, self._ready, self.log_tail, timeout)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            processes.stop_group(process)

    def kill(self, name: str) -> None:
        """Kills the process at once (SIGKILL), as a crash or a lost machine would: nothing of it gets to clean up."""
        processes.kill_group(self.processes.pop(name))

    def freeze(self, name: str) -> None:
        """Stops the process where it is (SIGSTOP): it accepts connections but answers nothing, as if hung."""
        os.killpg(self.processes[name].pid, signal.SIGSTOP)

    def thaw(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGCONT)

    def restart(self, name: str, timeout: float = 180) -> None:
        self.stop(name)
        self.launch(name, self.commands()[name])
        self.wait_ready((name,), timeout)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of each process and its children, in MiB (Linux /proc)."""
        return {name: _tree_rss_kb(process.pid) / 1024 for name, process in self.processes.items()}


def _tree_rss_kb(pid: int) -> int:
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(_tree_rss_kb(int(child)) for child in children)


if __name__ == "__main__":
    # Manual use: python -m tests.support.stack  (starts everything, prints the URLs, waits).
    stack = Stack(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "var" / "stack").start()
    print({name: stack.url(name) for name in stack.ports}, flush=True)
    try:
        signal.pause()
    finally:
        stack.stop_all()
