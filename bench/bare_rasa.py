"""Bare Rasa, the yardstick of the chat figures: `rasa init`'s moodbot on this Rasa version, served by `rasa run`
and talked to on its REST channel, as a project with no gateway, api or actions of its own would be."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx

from bench.chat_latency import Send, System
from deploy.processes import stop_group
from tests.support.stack import ROOT, free_port

# The stack's greetings as the moodbot, which knows English only, understands them (its own examples of `greet`):
# a Korean one would only be its NLU fallback, answered with nothing.
MOODBOT_GREETINGS = ("hello", "hello", "hey", "hi there", "hey")
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
CACHE = ROOT / "var" / "bench"
# As scripts/run-rasa runs the project's Rasa, so that the two servers differ only in the assistant they serve.
RASA_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
    "TF_INTRA_OP_PARALLELISM_THREADS": "2",
}


def rasa_version() -> str:
    result = subprocess.run(
        [str(RASA.parent / "python"), "-c", "import rasa; print(rasa.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def moodbot_model() -> Path:
    """The moodbot trained by `rasa init`, made once per Rasa version and kept under var/bench/."""
    model = CACHE / f"moodbot-rasa-{rasa_version()}.tar.gz"
    if model.exists():
        return model
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "moodbot"
        project.mkdir()
        # --no-prompt scaffolds the moodbot and trains it, all offline.
        subprocess.run(
            [str(RASA), "init", "--no-prompt", "--init-dir", str(project)],
            cwd=project,
            env={**os.environ, **RASA_ENV},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        (trained,) = (project / "models").glob("*.tar.gz")
        partial = model.with_suffix(".partial")
        shutil.copyfile(trained, partial)
        partial.rename(model)  # whole or absent, should a run be stopped mid-copy
    return model


@contextmanager
def serve(model: Path, timeout: float = 180) -> Iterator[str]:
    """`rasa run` on the model and a free loopback port, with only the REST channel; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(RASA), "run", "--model", str(model), "--credentials", "credentials.yml"]
    command += ["--interface", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryDirectory() as scratch:
        # A folder of its own, so that Rasa reads none of the project's endpoints.yml: the moodbot runs on `rasa run`'s
        # defaults, its tracker store in memory.
        (Path(scratch) / "credentials.yml").write_text("rest:\n")
        with open(Path(scratch) / "rasa.log", "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=scratch,
                env={**os.environ, **RASA_ENV},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_ready(process, url, Path(scratch) / "rasa.log", timeout)
            yield url
        finally:
            stop_group(process)


def _wait_ready(process: subprocess.Popen, url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bare rasa exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            # Rasa answers on its routes only once the model is loaded.
            if httpx.get(f"{url}/webhooks/rest/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"bare rasa not ready after {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


def rest_channel(rasa_url: str) -> System:
    """Conversations on Rasa's REST channel, each with a sender id of its own as each web chat user has, greeting
    the moodbot in its one language."""

    @asynccontextmanager
    async def conversation() -> AsyncIterator[Send]:
        sender = f"bench:{uuid.uuid4().hex}"
        async with httpx.AsyncClient(base_url=rasa_url, timeout=60) as client:

            async def send(text: str) -> None:
                response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
                response.raise_for_status()
                # The moodbot answers every message with something; no reply would mean Rasa failed the turn.
                if not any(reply.get("text") for reply in response.json()):
                    raise RuntimeError(f"bare rasa gave no reply to {text!r}")

            yield send

    return System(conversation, MOODBOT_GREETINGS)
