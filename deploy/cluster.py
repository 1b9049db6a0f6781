"""`make cluster`: two replicas of every process on PostgreSQL and Redis behind HAProxy, all on loopback.

The same class runs the cluster for people (`python -m deploy.cluster`, on the usual ports, until Ctrl-C,
restarting a process that dies as a container runtime would) and for the tests and benchmarks (free ports, a
throw-away database, `kill`/`restart` of one replica).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from dotenv import dotenv_values
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.core.migrate import upgrade
from deploy import processes

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("api", "actions", "rasa", "gateway")  # the order they start in: each needs the ones before it
REPLICAS = 2  # the server lines of each backend in deploy/haproxy.cfg
# The ports people know (`make run` uses them too); the replicas sit behind them on the next ones.
PUBLIC_PORTS = {"gateway": 8080, "api": 8000, "rasa": 5005, "actions": 5055}
SECRET_NAMES = ("SERVICE_TOKEN", "RASA_TOKEN", "RASA_JWT_SECRET", "ACTIONS_TOKEN", "WEB_SESSION_SECRET")
DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/paju"
TRACKER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/paju_rasa"
REDIS_URL = "redis://127.0.0.1:6379/0"
# A ticket of a Rasa replica that died mid-turn blocks its conversation this long (Rasa's default is 60 s); a
# turn takes well under a second, a slow open-data answer a few.
LOCK_LIFETIME_SECONDS = 20
HEALTH_PATHS = {"api": "/api/health", "gateway": "/health", "actions": "/health"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database(url: str) -> None:
    """Creates the PostgreSQL database `url` names unless it exists (the server's `postgres` database is used to)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            found = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
            if found.first() is None:
                connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


@dataclass
class Cluster:
    workdir: Path
    database_url: str = DATABASE_URL
    tracker_url: str = TRACKER_URL
    redis_url: str = REDIS_URL
    public_ports: dict[str, int] = field(default_factory=lambda: dict(PUBLIC_PORTS))
    replica_ports: dict[str, list[int]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    # Keeps this cluster's rate-limit counts and Rasa locks apart from any other on the same Redis.
    key_prefix: str = "paju"
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    # How many replicas of each kind run. With fewer than REPLICAS, HAProxy still has a server line for each and
    # marks the ones nobody listens behind down by their health checks.
    replicas: int = REPLICAS

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= REPLICAS:
            raise ValueError(f"replicas must be 1 to {REPLICAS} (the server lines in deploy/haproxy.cfg)")
        for kind in KINDS:
            self.replica_ports.setdefault(kind, [self.public_ports[kind] + n for n in range(1, REPLICAS + 1)])
        for name in SECRET_NAMES:
            self.secrets.setdefault(name, secrets.token_hex(32))

    @classmethod
    def on_free_ports(cls, workdir: Path, **fields) -> Cluster:
        public = {kind: free_port() for kind in KINDS}
        replicas = {kind: [free_port() for _ in range(REPLICAS)] for kind in KINDS}
        return cls(workdir, public_ports=public, replica_ports=replicas, **fields)

    # --- addresses --------------------------------------------------------------------------------

    def url(self, kind: str) -> str:
        """The address of a process kind as everyone else sees it: HAProxy's."""
        return f"http://127.0.0.1:{self.public_ports[kind]}"

    def replica_url(self, name: str) -> str:
        kind, number = name.rsplit("-", 1)
        return f"http://127.0.0.1:{self.replica_ports[kind][int(number) - 1]}"

    @property
    def names(self) -> list[str]:
        return [f"{kind}-{n}" for kind in KINDS for n in range(1, self.replicas + 1)]

    # --- what each process is given ----------------------------------------------------------------

    def environment(self, kind: str) -> dict[str, str]:
        tracker = make_url(self.tracker_url)
        rasa_replicas = [self.replica_url(f"rasa-{n}") for n in range(1, self.replicas + 1)]
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            **self.secrets,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "API_URL": self.url("api"),
            "PUBLIC_URL": self.url("api"),
            "RASA_URL": self.url("rasa"),
            "RASA_URLS": json.dumps(rasa_replicas),
            "ACTIONS_URL": f"{self.url('actions')}/webhook",
            # Every api replica runs the scheduler: the job_runs rows decide which one runs each job.
            "SCHEDULER_ENABLED": "true",
            # Every replica of a kind counts the same requests; the api and the gateway count theirs apart.
            "RATE_LIMIT_PREFIX": f"{self.key_prefix}-{kind}-limits",
            # The api reads and prunes Rasa's conversations (retention) in the same database Rasa writes.
            "RASA_TRACKER_URL": self.tracker_url,
            "RASA_ENDPOINTS": "endpoints.cluster.yml",
            "RASA_TRACKER_HOST": tracker.host or "127.0.0.1",
            "RASA_TRACKER_PORT": str(tracker.port or 5432),
            "RASA_TRACKER_DATABASE": tracker.database or "",
            "RASA_TRACKER_USER": tracker.username or "",
            "RASA_TRACKER_PASSWORD": tracker.password or "",
            "LOCK_STORE_PREFIX": f"{self.key_prefix}-locks",
            "TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME_SECONDS),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
            **self.extra_env,
        }

    def command(self, name: str) -> list[str]:
        kind, _number = name.rsplit("-", 1)
        port = str(self.replica_url(name).rsplit(":", 1)[1])
        venv, rasa_venv = ROOT / ".venv" / "bin", ROOT / ".venv-rasa" / "bin"
        uvicorn = [str(venv / "uvicorn"), "--factory", "--host", "127.0.0.1", "--no-access-log", "--port", port]
        return {
            "api": [*uvicorn, "api.main:create_app"],
            "gateway": [*uvicorn, "bot.gateway.app:create_app"],
            "actions": [str(rasa_venv / "python"), "-m", "actions.server", "--port", port],
            "rasa": [str(ROOT / "scripts" / "run-rasa"), port],
        }[kind]

    def haproxy_environment(self) -> dict[str, str]:
        ports = {"CLUSTER_HOST": "127.0.0.1"}
        for kind in KINDS:
            ports[f"{kind.upper()}_PORT"] = str(self.public_ports[kind])
            for number, port in enumerate(self.replica_ports[kind], start=1):
                ports[f"{kind.upper()}_{number}_PORT"] = str(port)
        return {**os.environ, **ports}

    # --- starting and stopping ---------------------------------------------------------------------

    def prepare(self) -> None:
        """The two databases exist and the api's is migrated (Rasa creates its own tables)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for url in (self.database_url, self.tracker_url):
            create_database(url)
        upgrade(self.database_url)

    def start(self, timeout: float = 300) -> Cluster:
        self.prepare()
        self.launch_haproxy()
        for kind in KINDS:
            names = [name for name in self.names if name.startswith(f"{kind}-")]
            if kind == "rasa":
                # One at a time: two Rasa processes creating the tracker's tables at once race on PostgreSQL.
                for name in names:
                    self.launch(name)
                    self.wait_ready([name], timeout)
            else:
                for name in names:
                    self.launch(name)
                self.wait_ready(names, timeout)
        self.wait_balanced(timeout)
        return self

    def wait_balanced(self, timeout: float) -> None:
        """Until HAProxy has seen every replica pass its health check (it starts before them and marks them down)."""
        deadline = time.monotonic() + timeout
        for kind in KINDS:
            path = HEALTH_PATHS.get(kind, "/")
            while True:
                try:
                    if httpx.get(self.url(kind) + path, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"HAProxy does not reach any {kind} replica:\n{self.log_tail('haproxy')}")
                time.sleep(0.3)

    def launch_haproxy(self) -> None:
        log = open(self.workdir / "haproxy.log", "ab")  # noqa: SIM115  (closed with the process)
        self.processes["haproxy"] = subprocess.Popen(
            ["haproxy", "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
            cwd=ROOT,
            env=self.haproxy_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def launch(self, name: str) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115  (closed with the process)
        self.processes[name] = subprocess.Popen(
            self.command(name),
            cwd=ROOT,
            env=self.environment(name.rsplit("-", 1)[0]),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready(self, name: str) -> bool:
        kind = name.rsplit("-", 1)[0]
        try:
            if kind == "rasa":
                status = httpx.get(
                    f"{self.replica_url(name)}/status", params={"token": self.secrets["RASA_TOKEN"]}, timeout=2
                )
                return status.status_code == 200 and bool(status.json().get("model_id"))
            return httpx.get(self.replica_url(name) + HEALTH_PATHS[kind], timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, names: list[str], timeout: float) -> None:
        processes.wait_ready(names, self.processes.__getitem__, self.ready, self.log_tail, timeout)

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash or a lost machine: nothing of the process gets to clean up."""
        processes.kill_group(self.processes.pop(name))

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            processes.stop_group(process)

    def restart(self, name: str, timeout: float = 300) -> None:
        self.stop(name)
        self.launch(name)
        self.wait_ready([name], timeout)

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def supervise(self) -> None:
        """Until interrupted: a replica that exits is started again, as a container runtime would."""
        while True:
            time.sleep(2)
            for name, process in list(self.processes.items()):
                if name != "haproxy" and process.poll() is not None:
                    print(f"{name} exited ({process.returncode}); starting it again", flush=True)
                    self.launch(name)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("CLUSTER_DATABASE_URL", DATABASE_URL))
    parser.add_argument("--tracker-url", default=os.environ.get("CLUSTER_TRACKER_URL", TRACKER_URL))
    parser.add_argument("--redis-url", default=os.environ.get("CLUSTER_REDIS_URL", REDIS_URL))
    args = parser.parse_args()
    # The same secrets as `make run` (.env, written by scripts/ensure-env): every replica of a kind shares them.
    local = {name: value for name, value in dotenv_values(ROOT / ".env").items() if value is not None}
    cluster = Cluster(
        ROOT / "var" / "cluster",
        database_url=args.database_url,
        tracker_url=args.tracker_url,
        redis_url=args.redis_url,
        secrets={name: local[name] for name in SECRET_NAMES if name in local},
        extra_env={name: value for name, value in local.items() if name not in SECRET_NAMES},
    )
    configured = {**local, **os.environ}  # as each process reads them: the environment before .env
    if configured.get("TELEGRAM_BOT_TOKEN") and not configured.get("TELEGRAM_WEBHOOK_URL"):
        # Telegram hands its updates to one poller at a time and refuses the second (409): replicas take webhooks.
        sys.exit(
            "TELEGRAM_BOT_TOKEN is set without TELEGRAM_WEBHOOK_URL: two gateways cannot both poll Telegram. Set "
            "TELEGRAM_WEBHOOK_URL (the public https address of /telegram/webhook) and TELEGRAM_WEBHOOK_SECRET, or "
            "unset the token for a cluster without Telegram."
        )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        cluster.prepare()
        # Seed data and the bootstrap admin, as `make db` gives the single-process setup.
        seed = [str(ROOT / ".venv" / "bin" / "python"), "-m", "api.seed"]
        subprocess.run(seed, cwd=ROOT, env=cluster.environment("api"), check=True)
        cluster.start()
        print("\n  Cluster ready: two replicas of each process behind HAProxy (logs in var/cluster/)")
        for kind in KINDS:
            replicas = ", ".join(cluster.replica_url(f"{kind}-{n}") for n in range(1, cluster.replicas + 1))
            print(f"  {kind:8} {cluster.url(kind)}  ->  {replicas}")
        print("  Ctrl-C stops every process.\n", flush=True)
        cluster.supervise()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop_all()


if __name__ == "__main__":
    main()
