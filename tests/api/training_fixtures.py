"""Fixtures of the training tests: a copy of the project's data, a stand-in Rasa server and Rasa environment.

The stand-ins answer like Rasa does (`/status`, `/model/parse`; `rasa train` writing a model file, the
evaluation script writing predictions) in milliseconds, so the api's side of training, evaluation and activation
is tested without TensorFlow. tests/e2e/test_training.py does it with the real thing.
"""

import base64
import hashlib
import hmac
import io
import json
import shutil
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

from fastapi.testclient import TestClient

from api.core.settings import PROJECT_ROOT, Settings
from api.main import create_app
from api.staff.service import create_user
from api.training import answers
from api.training.models import TrainingRun
from tests.api.conftest import SERVICE_TOKEN

RASA_JWT_SECRET = "rasa-jwt-test-secret-0123456789abcdef"
PASSWORD = "correct horse battery"
ADMIN, STAFF = "admin@paju.go.kr", "staff@paju.go.kr"


def answer_new_topic(settings: Settings, intent: str = "pet_park") -> None:
    """The answer an admin writes for a new intent, without which training refuses to start."""
    answers.save(
        settings,
        answers.Answer(intent, "반려견 놀이터는 운정호수공원에 있어요.", "The dog park is in Unjeong Lake Park."),
    )


def write_model(path: Path, model_id: str | None = None, trained_at: str = "2026-11-20T10:00:00") -> str:
    """A file with the one member of a Rasa model the api reads: metadata.json."""
    model_id = model_id or uuid.uuid4().hex
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = json.dumps({"model_id": model_id, "trained_at": trained_at}).encode()
    with tarfile.open(path, "w:gz") as archive:
        member = tarfile.TarInfo("metadata.json")
        member.size = len(metadata)
        archive.addfile(member, io.BytesIO(metadata))
    return model_id


def model_id_of(path: Path) -> str:
    with tarfile.open(path, "r:gz") as archive:
        return json.load(archive.extractfile("metadata.json"))["model_id"]


def signed_by(authorization: str, secret: str) -> bool:
    """Whether a bearer JWT carries the HS256 signature of `secret`: what `rasa run --jwt-secret` checks."""
    signing_input, _, signature = authorization.removeprefix("Bearer ").rpartition(".")
    expected = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return bool(signing_input) and hmac.compare_digest(
        signature, base64.urlsafe_b64encode(expected).rstrip(b"=").decode()
    )


class FakeRasa:
    """Rasa's HTTP api as far as the console uses it, behind a signed JWT; `intents` decides /model/parse.

    It never pulls a model: /status names the one it started with.
    """

    def __init__(self, model: Path) -> None:
        self.model_id = model_id_of(model)
        self.requested: list[str] = []  # every path with its query, as the api sent it
        # The models a `PUT /model` asked it to load: replicas pull theirs, so the api must send none.
        self.loaded: list[str] = []
        self.intents: dict[str, str] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _authorised(self) -> bool:
                fake.requested.append(self.path)
                if signed_by(self.headers.get("Authorization", ""), RASA_JWT_SECRET):
                    return True
                self._answer(401, {"error": "token"})
                return False

            def _answer(self, status: int, body: dict | None = None) -> None:
                content = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def _body(self) -> dict:
                return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")

            def do_GET(self) -> None:
                if self._authorised() and urlparse(self.path).path == "/status":
                    self._answer(200, {"model_file": "current.tar.gz", "model_id": fake.model_id})

            def do_PUT(self) -> None:
                # Recorded, not obeyed: a test that sees one has found the api sending a model.
                if self._authorised():
                    fake.loaded.append(self._body().get("model_file", ""))
                    self._answer(204)

            def do_POST(self) -> None:
                if self._authorised():
                    text = self._body()["text"]
                    intent = fake.intents.get(text, "greet")
                    self._answer(200, {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


FAKE_RASA = '''#!{python}
"""`rasa train` as far as the api uses it: prints progress, writes a model file."""
import io, json, os, sys, tarfile, uuid
args = sys.argv[1:]
assert args[0] == "train", args
for name in ("DIETClassifier", "TEDPolicy"):
    print(f"INFO rasa.engine.training.hooks - Starting to train component '{{name}}'.", flush=True)
    print("Epochs:  50%|#####     | 1/2 [00:00<00:00]\\rEpochs: 100%|##########| 2/2 [00:00<00:00]", flush=True)
    print(f"INFO rasa.engine.training.hooks - Finished training component '{{name}}'.", flush=True)
if os.environ.get("FAKE_RASA_FAIL"):
    print("rasa: the training data is broken", flush=True)
    sys.exit(1)
out, name = args[args.index("--out") + 1], args[args.index("--fixed-model-name") + 1]
metadata = json.dumps({{"model_id": uuid.uuid4().hex, "trained_at": "2026-11-25T09:00:00"}}).encode()
with tarfile.open(os.path.join(out, name + ".tar.gz"), "w:gz") as archive:
    member = tarfile.TarInfo("metadata.json")
    member.size = len(metadata)
    archive.addfile(member, io.BytesIO(metadata))
'''

FAKE_PYTHON = '''#!{python}
"""scripts/evaluate_nlu.py as far as the api uses it: every held-out message right, regression greetings wrong
(the live model's as the candidate's, so the safety gate sees no change)."""
import json, sys
_script, job_path, result_path = sys.argv[1:]
job = json.load(open(job_path))
predictions = {{}}
for entry in job["trainings"] + job["models"]:
    print("evaluation step 1/1: classifying", flush=True)
    for name, messages in entry["sets"].items():
        for message in messages:
            wrong = name.endswith("regression") and message["expected"] == "greet"
            predicted = "out_of_scope" if wrong else message["expected"]
            predictions.setdefault(name, []).append(
                {{"text": message["text"], "expected": message["expected"], "predicted": predicted, "confidence": 0.8}}
            )
json.dump({{"predictions": predictions}}, open(result_path, "w"))
'''


def fake_rasa_env(directory: Path) -> Path:
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True)
    for name, script in (("rasa", FAKE_RASA), ("python", FAKE_PYTHON)):
        (bin_dir / name).write_text(script.format(python=sys.executable))
        (bin_dir / name).chmod(0o755)
    return directory


def copy_project(directory: Path) -> Path:
    """The project's config, domain and data: training tests never write into the repository's data/."""
    directory.mkdir(parents=True)
    shutil.copyfile(PROJECT_ROOT / "config.yml", directory / "config.yml")
    shutil.copytree(PROJECT_ROOT / "domain", directory / "domain")
    shutil.copytree(PROJECT_ROOT / "data", directory / "data", ignore=shutil.ignore_patterns("admin.yml"))
    return directory


@dataclass
class TrainingEnvironment:
    settings: Settings
    client: TestClient
    rasa: FakeRasa
    live_model: Path


@contextmanager
def training_environment(database_url: str, directory: Path) -> Iterator[TrainingEnvironment]:
    """An api on a copy of the project's data, a stand-in Rasa running `live_model`, an admin and a staff member."""
    live_model = directory / "models" / "paju-0123456789abcdef.tar.gz"
    write_model(live_model, trained_at="2026-11-01T09:00:00")
    (live_model.parent / "current.tar.gz").symlink_to(live_model.name)
    rasa = FakeRasa(live_model)
    settings = Settings(
        database_url=database_url,
        service_token=SERVICE_TOKEN,
        rasa_url=rasa.url,
        rasa_jwt_secret=RASA_JWT_SECRET,
        training_project_dir=copy_project(directory / "project"),
        training_models_dir=directory / "models",
        training_runs_dir=directory / "runs",
        training_rasa_env=fake_rasa_env(directory / "rasa-env"),
    )
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            with app.state.sessionmaker() as session:
                create_user(session, ADMIN, "김관리", PASSWORD, role="admin")
                create_user(session, STAFF, "이담당", PASSWORD)
            yield TrainingEnvironment(settings, client, rasa, live_model)
    finally:
        app.state.engine.dispose()
        rasa.stop()


def bearer(client: TestClient, email: str = ADMIN) -> dict[str, str]:
    token = client.post("/api/auth/sign-in", json={"email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def wait_for_run(client: TestClient, run_id: int, timeout: float = 30) -> TrainingRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with client.app.state.sessionmaker() as session:
            run = session.get(TrainingRun, run_id)
            if run.status != "running":
                return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still running after {timeout}s")
