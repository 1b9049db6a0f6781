"""A running Rasa takes up the model activated in the training console by pulling it from its api (endpoints.yml
`models:`): no `PUT /model`, no disk shared with the api."""

import io
import json
import tarfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from api.core.database import make_engine, make_sessionmaker
from api.core.settings import Settings
from api.staff.service import create_user
from api.training import registry
from tests.support.stack import Stack

pytestmark = pytest.mark.stack

LOAD_TIMEOUT_SECONDS = 240  # one pull (Stack sets MODEL_PULL_SECONDS=1) and Rasa loading a model on a busy machine


def _copy_with_new_id(model: Path, copy: Path) -> str:
    """The same model under another Rasa model_id: the session's other tests meet the same assistant."""
    model_id = uuid.uuid4().hex
    with tarfile.open(model, "r:gz") as source, tarfile.open(copy, "w:gz", compresslevel=1) as target:
        for member in source:
            content = source.extractfile(member) if member.isfile() else None
            if member.name.lstrip("./") == "metadata.json":
                metadata = json.dumps(json.load(content) | {"model_id": model_id}).encode()
                member.size, content = len(metadata), io.BytesIO(metadata)
            target.addfile(member, content)
    return model_id


def _running_model_id(stack: Stack) -> str | None:
    try:
        response = httpx.get(f"{stack.url('rasa')}/status", params={"token": stack.rasa_token}, timeout=5)
        return response.json().get("model_id")
    except (httpx.HTTPError, ValueError):  # busy loading: its event loop answers nothing meanwhile
        return None


def _pulls_served(stack: Stack) -> int:
    """How many times the api sent Rasa a model file (its request log, one JSON object a line)."""
    lines = (stack.workdir / "api.log").read_text(errors="replace").splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return sum(record.get("path") == "/api/models/live" and record.get("status") == 200 for record in records)


def test_a_running_rasa_pulls_the_model_activated_in_the_console(stack, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    copy = models / "paju-pulled.tar.gz"
    new_id = _copy_with_new_id(stack.model.resolve(), copy)
    assert _running_model_id(stack) not in (None, new_id)
    pulls_before = _pulls_served(stack)
    # The console's own service on the stack's database; its link and marker go to a folder of this test.
    settings = Settings(database_url=stack.database_url, training_models_dir=models, training_live_model=stack.model)
    engine = make_engine(stack.database_url)
    with make_sessionmaker(engine)() as session:
        admin = create_user(session, f"{uuid.uuid4().hex[:8]}@paju.example", "김전환", uuid.uuid4().hex, role="admin")
        model = registry.register(session, copy, source="found")
        session.commit()
        activated = time.monotonic()
        registry.activate(session, settings, model.id, admin)
    engine.dispose()

    deadline = activated + LOAD_TIMEOUT_SECONDS
    while _running_model_id(stack) != new_id:
        assert time.monotonic() < deadline, f"Rasa still runs another model:\n{stack.log_tail('rasa')}"
        time.sleep(0.5)
    print(f"Rasa ran the activated model {time.monotonic() - activated:.1f} s after the activation")
    assert _pulls_served(stack) == pulls_before + 1
