"""The console's test chat: admins talk to a model before it is live, through a staging Rasa the api starts.

One staging Rasa at a time per api process (`rasa run --enable-api` on a free loopback port, at low priority),
loaded with the model an admin wants to try, calling the same action server as the live one. Its conversations are
kept in its own memory (no tracker store in its endpoints), so no live conversation's tracker is read or written;
it is stopped when nobody has written to it for TRAINING_TRIAL_IDLE_SECONDS, or when another model is tried. Its
JWT secret is made up at each start and never leaves this process.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from api.core.settings import PROJECT_ROOT, Settings
from api.training.errors import ModelFileMissing, TrialNotReady
from api.training.models import TrainedModel
from common.rasa_auth import rasa_authorization

logger = logging.getLogger(__name__)
PARENT_DEATH_SIGNAL = ["setpriv", "--pdeathsig", "KILL"]
ENDPOINTS = """# The console's staging Rasa (api/training/trial.py): the live action server, trackers in memory.
action_endpoint:
  url: ${ACTIONS_URL}
  headers:
    Authorization: Bearer ${ACTIONS_TOKEN}
"""
CHANNEL = "console-trial"
TURNS_KEPT = 40
POLL_SECONDS = 1.0
REPLY_TIMEOUT_SECONDS = 60


@dataclass
class Turn:
    """One message the admin wrote and what the candidate made of it."""

    text: str
    replies: list[dict[str, Any]]
    intent: str | None
    confidence: float | None


@dataclass
class Staging:
    """The staging Rasa: which model it runs, and whether it answers yet."""

    model_id: int
    model_file: str
    rasa_model_id: str | None
    port: int
    secret: str
    status: str = "starting"  # starting, ready, failed, stopped
    error: str | None = None
    last_used: float = field(default_factory=time.monotonic)
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)
    # Each admin's scratch conversation with this model: a sender id of its own, the turns so far.
    conversations: dict[int, tuple[str, deque[Turn]]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class TrialChat:
    """The one staging Rasa of this api process and the admins' scratch conversations with it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._staging: Staging | None = None

    # --- what the console reads ---

    def current(self) -> Staging | None:
        with self._lock:
            return self._staging

    def turns(self, model_id: int, user_id: int) -> list[Turn]:
        staging = self.current()
        if staging is None or staging.model_id != model_id or user_id not in staging.conversations:
            return []
        return list(staging.conversations[user_id][1])

    # --- starting, talking, stopping ---

    def start(self, model: TrainedModel) -> Staging:
        """The staging Rasa with `model`: the running one when it has that model, else a new one (the other
        stopped)."""
        if not Path(model.path).is_file():
            raise ModelFileMissing(
                f"The model file {model.file_name} is gone.", f"모델 파일({model.file_name})이 없어 시험할 수 없어요."
            )
        with self._lock:
            running = self._staging
            if running is not None and running.model_id == model.id and running.status in ("starting", "ready"):
                running.last_used = time.monotonic()
                return running
            if running is not None:
                running.stop.set()
            staging = Staging(model.id, model.file_name, model.rasa_model_id, _free_port(), secrets.token_hex(32))
            self._staging = staging
        thread = threading.Thread(
            target=self._supervise, args=(staging, Path(model.path)), name=f"trial-{model.id}", daemon=True
        )
        thread.start()
        return staging

    def send(self, model: TrainedModel, user_id: int, text: str) -> Turn:
        """The admin's message to the candidate: its replies and the intent it parsed. While the staging Rasa is
        still loading, TrialNotReady (the console says to wait)."""
        staging = self.start(model)
        if staging.status != "ready":
            raise _not_ready(staging)
        fresh = (f"{CHANNEL}:{user_id}:{secrets.token_hex(4)}", deque(maxlen=TURNS_KEPT))
        sender, turns = staging.conversations.setdefault(user_id, fresh)
        body = {"sender": sender, "message": text, "metadata": {"channel": CHANNEL}, "parse": True}
        try:
            response = httpx.post(
                f"{staging.url}/webhooks/gateway/webhook",
                json=body,
                headers=rasa_authorization(staging.secret, "paju-api-trial"),
                timeout=REPLY_TIMEOUT_SECONDS,
            )
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:
            logger.warning("test chat: the staging Rasa did not answer", extra={"error": str(error)})
            raise TrialNotReady(
                "The test model did not answer; try again in a moment.",
                "시험용 모델이 답하지 않았어요. 잠시 뒤 다시 보내 주세요.",
            ) from error
        staging.last_used = time.monotonic()
        intent = ((answer.get("parse") or {}).get("intent")) or {}
        turn = Turn(text, answer.get("messages") or [], intent.get("name"), intent.get("confidence"))
        turns.append(turn)
        return turn

    def restart_conversation(self, model_id: int, user_id: int) -> None:
        staging = self.current()
        if staging is not None and staging.model_id == model_id:
            staging.conversations.pop(user_id, None)

    def stop(self) -> None:
        with self._lock:
            if self._staging is not None:
                self._staging.stop.set()
                self._staging = None

    # --- the process ---

    def _supervise(self, staging: Staging, model_path: Path) -> None:
        """Runs in its own thread for the process's whole life: the parent-death signal follows the thread that
        started the process, so a request's thread (gone after the request) must not start it."""
        log_dir = self._settings.training_runs_dir / "trial"
        log_dir.mkdir(parents=True, exist_ok=True)
        endpoints = log_dir / "endpoints.yml"
        endpoints.write_text(ENDPOINTS, encoding="utf-8")
        command = [
            str(self._settings.training_rasa_env / "bin" / "rasa"),
            "run",
            "--enable-api",
            "--jwt-secret",
            staging.secret,
            "--jwt-method",
            "HS256",
            "--interface",
            "127.0.0.1",
            "--port",
            str(staging.port),
            "--model",
            str(model_path.resolve()),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(PROJECT_ROOT / "credentials.yml"),
        ]
        env = {
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_INTER_OP_PARALLELISM_THREADS": "1",
            "TF_INTRA_OP_PARALLELISM_THREADS": "1",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
            "ACTIONS_URL": self._settings.actions_url,
            "ACTIONS_TOKEN": self._settings.actions_token.get_secret_value(),
        }
        guard = PARENT_DEATH_SIGNAL if shutil.which(PARENT_DEATH_SIGNAL[0]) else []
        with open(log_dir / "rasa.log", "w", encoding="utf-8") as log:
            try:
                process = subprocess.Popen(
                    [*guard, "nice", "-n", "5", *command],
                    cwd=PROJECT_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            except OSError as error:
                staging.status, staging.error = "failed", str(error)
                return
            try:
                self._watch(staging, process)
            finally:
                process.kill()
                process.wait()
                if staging.status != "failed":
                    staging.status = "stopped"
                with self._lock:
                    if self._staging is staging and staging.status == "stopped":
                        self._staging = None

    def _watch(self, staging: Staging, process: subprocess.Popen) -> None:
        while not staging.stop.wait(POLL_SECONDS):
            now = time.monotonic()
            if process.poll() is not None:
                staging.status = "failed"
                staging.error = f"rasa run exited with status {process.returncode}"
                return
            if staging.status == "starting":
                if _answers(staging):
                    staging.status, staging.last_used = "ready", now
                elif now - staging.started > self._settings.training_trial_start_seconds:
                    staging.status, staging.error = "failed", "the model did not load in time"
                    return
            elif now - staging.last_used > self._settings.training_trial_idle_seconds:
                logger.info("test chat: staging Rasa stopped after idling", extra={"model": staging.model_file})
                return


def _answers(staging: Staging) -> bool:
    """Whether the staging Rasa has loaded its model (its /status names it)."""
    try:
        response = httpx.get(
            f"{staging.url}/status", headers=rasa_authorization(staging.secret, "paju-api-trial"), timeout=2
        )
        return response.status_code == 200 and bool(response.json().get("model_id"))
    except (httpx.HTTPError, ValueError):
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _not_ready(staging: Staging) -> TrialNotReady:
    if staging.status == "failed":
        return TrialNotReady(
            "The test model could not be started; try again, and see var/training/trial/rasa.log if it fails again.",
            "시험용 모델을 띄우지 못했어요. 다시 시도해 보고, 또 안 되면 var/training/trial/rasa.log를 확인해 주세요.",
        )
    return TrialNotReady(
        "The test model is still loading (about a minute); send again when it is ready.",
        "시험용 모델을 불러오는 중이에요(1분쯤 걸려요). 준비되면 다시 보내 주세요.",
    )


_CREATING = threading.Lock()


def for_app(state: Any) -> TrialChat:
    """The api process's one test chat (kept on the app's state, made at its first use)."""
    with _CREATING:
        chat = getattr(state, "trial_chat", None)
        if chat is None:
            chat = state.trial_chat = TrialChat(state.settings)
        return chat
