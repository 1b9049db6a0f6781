"""Training runs, evaluation, the model registry, activation and rollback, against a stand-in Rasa."""

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from api.core.settings import PROJECT_ROOT
from api.training import data, runs, texts
from api.training.models import TrainingRun
from common.clock import utcnow
from tests.api.conftest import SERVICE_HEADERS
from tests.api.training_fixtures import (
    RASA_JWT_SECRET,
    answer_new_topic,
    bearer,
    model_id_of,
    training_environment,
    wait_for_run,
    write_model,
)


@pytest.fixture
def training(database_url, tmp_path):
    with training_environment(database_url, tmp_path) as environment:
        yield environment


def _train(training, cross_validation: bool = False) -> dict:
    response = training.client.post(
        "/api/training/runs", json={"cross_validation": cross_validation}, headers=bearer(training.client)
    )
    assert response.status_code == 202, response.text
    run = wait_for_run(training.client, response.json()["id"])
    assert run.status == "succeeded", run.error
    return training.client.get(f"/api/training/runs/{run.id}", headers=bearer(training.client)).json()


def _models(training) -> dict[str, dict]:
    response = training.client.get("/api/training/models", headers=bearer(training.client))
    return {model["file_name"]: model for model in response.json()}


def _served_model_id(training) -> str:
    """The model_id of the model Rasa replicas pull (its ETag)."""
    response = training.client.get("/api/models/live", headers=SERVICE_HEADERS)
    assert response.status_code == 200, response.text
    return response.headers["etag"].strip('"')


# --- runs ------------------------------------------------------------------------------------------------


def test_a_run_trains_a_new_model_file_records_it_and_evaluates_it(training):
    data.add_example(training.settings, "ko", "pet_park", "반려견 놀이터 어디 있어요")
    answer_new_topic(training.settings)
    run = _train(training)
    assert (run["progress"], run["stage"]) == (100, "완료")
    assert "Starting to train component 'DIETClassifier'" in run["log"]
    model = training.client.get(f"/api/training/models/{run['model_id']}", headers=bearer(training.client)).json()
    assert model["file_name"].startswith("paju-") and model["file_name"].endswith(f"-r{run['id']}.tar.gz")
    assert Path(model["path"]).parent == training.settings.training_models_dir.resolve()
    assert model["source"] == "console" and model["duration_seconds"] is not None
    held_out, regression = model["evaluation"]["held_out"], model["evaluation"]["regression"]
    assert held_out["accuracy"] == 1.0 and held_out["intents"]["greet"]["support"] > 0
    # The stand-in gets every greeting of the regression set wrong.
    assert regression["intents"]["greet"]["recall"] == 0.0
    assert regression["confused"] == [["greet", "out_of_scope", 3]]
    # The live model was untouched, and its file was measured on the same regression set by the same evaluation.
    assert os.readlink(training.settings.training_models_dir / "current.tar.gz") == training.live_model.name
    assert _served_model_id(training) == model_id_of(training.live_model)
    live = _models(training)[training.live_model.name]
    assert live["live"] and live["evaluation"]["regression"]["count"] == regression["count"]
    assert model["evaluation"]["comparison"]["live_file"] == training.live_model.name


def test_a_run_learns_from_a_snapshot_with_the_new_intent_its_answer_and_its_rule(training):
    data.add_example(training.settings, "ko", "pet_park", "반려견 놀이터 어디 있어요")
    answer_new_topic(training.settings)
    run = _train(training)
    snapshot = runs.run_directory(training.settings, run["id"]) / "project"
    domain = yaml.safe_load((snapshot / "domain" / "admin.yml").read_text())
    assert domain["intents"] == ["pet_park"]
    assert [v["text"] for v in domain["responses"]["utter_pet_park"]] == [
        "The dog park is in Unjeong Lake Park.",
        "반려견 놀이터는 운정호수공원에 있어요.",
    ]
    rules = yaml.safe_load((snapshot / "data" / "rules" / "admin.yml").read_text())["rules"]
    steps = [{"intent": "pet_park"}, {"action": "utter_pet_park"}]
    assert rules == [{"rule": "admin answer: pet_park", "steps": steps}]
    assert (snapshot / "data" / "nlu" / "ko" / "admin.yml").exists()
    # The models folder lists the recorded models, so scripts/train-model never prunes them.
    recorded = (training.settings.training_models_dir / "recorded.txt").read_text().split()
    assert training.live_model.name in recorded and len(recorded) == 2


def test_a_run_is_refused_while_an_intent_has_examples_and_no_answer(training):
    data.add_example(training.settings, "ko", "waste_collection", "쓰레기 버리는 요일 알려줘")
    headers = bearer(training.client) | {"Accept-Language": "ko"}
    refused = training.client.post("/api/training/runs", json={}, headers=headers)
    assert refused.status_code == 409
    assert "waste_collection" in refused.json()["detail"] and "답변" in refused.json()["detail"]
    with training.client.app.state.sessionmaker() as session:
        assert runs.runs(session) == []  # nothing started
    answer_new_topic(training.settings, "waste_collection")
    started = training.client.post("/api/training/runs", json={}, headers=headers)
    assert started.status_code == 202
    assert wait_for_run(training.client, started.json()["id"]).status == "succeeded"


def test_cross_validation_on_request_tests_every_example_once(training):
    run = _train(training, cross_validation=True)
    model = training.client.get(f"/api/training/models/{run['model_id']}", headers=bearer(training.client)).json()
    folds = model["evaluation"]["cross_validation"]
    assert model["evaluation"]["folds"] == training.settings.training_cross_validation_folds
    # Each text of an intent once, whichever language's file has it.
    assert folds["count"] == len({(e.intent, texts.key(e.text)) for e in data.load(training.settings).examples})


def test_only_one_run_runs_at_a_time(training):
    with training.client.app.state.sessionmaker() as session:
        session.add(TrainingRun(status="running", stage="학습 중"))
        session.commit()
    response = training.client.post("/api/training/runs", json={}, headers=bearer(training.client))
    assert response.status_code == 409
    assert response.json()["code"] == "training_running"


def test_a_run_whose_worker_died_is_marked_failed_and_frees_the_slot(training):
    with training.client.app.state.sessionmaker() as session:
        run = TrainingRun(status="running", heartbeat_at=utcnow() - timedelta(minutes=5))
        session.add(run)
        session.commit()
        run_id = run.id
    _train(training)
    stale = training.client.get(f"/api/training/runs/{run_id}", headers=bearer(training.client)).json()
    assert stale["status"] == "failed" and "멈춰" in stale["error"]


def test_a_failed_training_is_reported_with_its_log_and_records_no_model(training, monkeypatch):
    monkeypatch.setenv("FAKE_RASA_FAIL", "1")
    response = training.client.post("/api/training/runs", json={}, headers=bearer(training.client))
    run = wait_for_run(training.client, response.json()["id"])
    assert run.status == "failed" and run.model_id is None
    shown = training.client.get(f"/api/training/runs/{run.id}", headers=bearer(training.client)).json()
    assert "the training data is broken" in shown["log"]
    assert list(_models(training)) == [training.live_model.name]


def test_the_split_holds_out_the_same_examples_every_time_and_keeps_small_intents_whole(training):
    training_data = data.load(training.settings)
    train, held_out = runs.held_out_split(training_data, 20)
    again = runs.held_out_split(data.load(training.settings), 20)[1]
    assert [e.text for e in held_out] == [e.text for e in again]
    assert not {(e.intent, e.text) for e in train} & {(e.intent, e.text) for e in held_out}
    data.add_example(training.settings, "en", "pet_park", "dog park nearby?")
    _train_part, held = runs.held_out_split(data.load(training.settings), 20)
    assert "pet_park" not in {e.intent for e in held}


# --- registry, activation, rollback -------------------------------------------------------------------------


def test_activating_a_model_serves_it_to_every_replica_and_points_current_at_it(training):
    run = _train(training)
    model = training.client.get(f"/api/training/models/{run['model_id']}", headers=bearer(training.client)).json()
    response = training.client.post(f"/api/training/models/{model['id']}/activate", headers=bearer(training.client))
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "activate" and response.json()["replicas"] == {}
    # No replica is sent the model: each pulls it from the api.
    assert training.rasa.loaded == []
    assert _served_model_id(training) == model["rasa_model_id"]
    folder = training.settings.training_models_dir
    assert os.readlink(folder / "current.tar.gz") == model["file_name"]
    assert (folder / "activated").read_text().strip() == model["file_name"]
    live = training.client.get("/api/training/live", headers=bearer(training.client)).json()
    assert live["model"]["id"] == model["id"]
    # The stand-in Rasa never pulls: it still says it runs the model it started with.
    old_model_id = model_id_of(training.live_model)
    assert live["replicas"] == [{"url": training.rasa.url, "rasa_model_id": old_model_id, "error": None}]


def test_rolling_back_restores_the_model_that_was_live_before(training):
    run = _train(training)
    headers = bearer(training.client)
    training.client.post(f"/api/training/models/{run['model_id']}/activate", headers=headers)
    response = training.client.post("/api/training/rollback", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "rollback"
    assert _served_model_id(training) == model_id_of(training.live_model)
    assert os.readlink(training.settings.training_models_dir / "current.tar.gz") == training.live_model.name
    kinds = [a["kind"] for a in training.client.get("/api/training/activations", headers=headers).json()]
    assert kinds == ["rollback", "activate"]
    # Nothing before the first model: no further rollback.
    assert training.client.post("/api/training/rollback", headers=headers).status_code == 409


def test_activating_needs_no_replica_to_answer_and_the_console_shows_the_ones_that_do_not(training):
    run = _train(training)
    training.settings.rasa_urls = [training.rasa.url, "http://127.0.0.1:9"]
    response = training.client.post(f"/api/training/models/{run['model_id']}/activate", headers=bearer(training.client))
    assert response.status_code == 200, response.text
    live = training.client.get("/api/training/live", headers=bearer(training.client)).json()
    assert live["model"]["id"] == run["model_id"]
    assert _served_model_id(training) == live["model"]["rasa_model_id"]
    answering, silent = live["replicas"]
    assert answering["rasa_model_id"] == model_id_of(training.live_model) and answering["error"] is None
    assert silent["url"] == "http://127.0.0.1:9" and silent["error"]


def test_the_console_shows_rasa_a_signed_header_and_puts_no_secret_in_any_url_or_error(training):
    run = _train(training)
    headers = bearer(training.client)
    assert training.client.post(f"/api/training/models/{run['model_id']}/activate", headers=headers).status_code == 200
    assert training.client.get("/api/training/live", headers=headers).status_code == 200
    assert training.rasa.requested, "the console called Rasa"
    assert not [path for path in training.rasa.requested if "token" in path or RASA_JWT_SECRET in path]
    # A Rasa that refuses the token: the console's error names the replica and the refusal, no credential.
    training.settings.rasa_jwt_secret = "not-the-secret-rasa-was-started-with"
    (replica,) = training.client.get("/api/training/live", headers=headers).json()["replicas"]
    assert "401" in replica["error"] and training.rasa.url in replica["error"]
    assert "token" not in replica["error"] and "secret" not in replica["error"]


def test_models_made_outside_the_console_are_found_in_the_models_folder(training):
    other = training.settings.training_models_dir / "paju-fedcba9876543210.tar.gz"
    write_model(other)
    found = _models(training)
    assert found[other.name]["source"] == "found" and found[other.name]["fingerprint"] == "fedcba9876543210"
    assert found[training.live_model.name]["live"]


def _run_train_model(folder: Path, project: Path) -> subprocess.CompletedProcess:
    """scripts/train-model in a project whose models/ is `folder` (its fingerprint is of this repository)."""
    if not project.exists():
        (project / "scripts").mkdir(parents=True)
        for name in ("train-model", "model_fingerprint.py"):
            (project / "scripts" / name).symlink_to(PROJECT_ROOT / "scripts" / name)
        (project / "models").symlink_to(folder)
        (project / ".venv-rasa" / "bin").mkdir(parents=True)
        (project / ".venv-rasa" / "bin" / "python").symlink_to(PROJECT_ROOT / ".venv" / "bin" / "python")
    return subprocess.run(["scripts/train-model"], cwd=project, capture_output=True, text=True, timeout=60)


def test_scripts_train_model_keeps_the_console_choice_and_never_prunes_recorded_models(training, tmp_path):
    run = _train(training)
    headers = bearer(training.client)
    model = training.client.get(f"/api/training/models/{run['model_id']}", headers=headers).json()
    training.client.post(f"/api/training/models/{model['id']}/activate", headers=headers)
    folder, project = training.settings.training_models_dir, tmp_path / "script-project"

    result = _run_train_model(folder, project)
    assert result.returncode == 0, result.stderr
    assert "chosen in the admin console" in result.stdout
    assert os.readlink(folder / "current.tar.gz") == model["file_name"]

    # Without the console's choice it uses the model of the current data and prunes old unrecorded ones.
    (folder / "activated").unlink()
    fingerprint = subprocess.run(
        [PROJECT_ROOT / ".venv" / "bin" / "python", PROJECT_ROOT / "scripts" / "model_fingerprint.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    unrecorded = [folder / f"paju-{number:016d}.tar.gz" for number in range(4)]
    for path in unrecorded:
        write_model(path)
    write_model(folder / f"paju-{fingerprint}.tar.gz")
    result = _run_train_model(folder, project)
    assert result.returncode == 0, result.stderr
    assert os.readlink(folder / "current.tar.gz") == f"paju-{fingerprint}.tar.gz"
    assert training.live_model.exists() and Path(model["path"]).exists()
    assert sum(path.exists() for path in unrecorded) == 2
