"""GET /api/models/live: the model every Rasa replica pulls (endpoints.yml `models:`), named by its ETag."""

import os
import time

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.conftest import SERVICE_HEADERS
from tests.api.training_fixtures import STAFF, bearer, model_id_of, training_environment, write_model

LIVE = "/api/models/live"


@pytest.fixture
def training(database_url, tmp_path):
    with training_environment(database_url, tmp_path) as environment:
        yield environment


def _pull(training, if_none_match: str | None = None):
    headers = SERVICE_HEADERS | ({"If-None-Match": if_none_match} if if_none_match else {})
    return training.client.get(LIVE, headers=headers)


def _another_model(training, name: str = "paju-fedcba9876543210.tar.gz") -> dict:
    """A second model in the models folder, as the console lists it."""
    path = training.settings.training_models_dir / name
    write_model(path, trained_at="2026-11-20T10:00:00")
    models = training.client.get("/api/training/models", headers=bearer(training.client)).json()
    return next(model for model in models if model["file_name"] == name)


def test_the_live_model_is_served_with_its_rasa_model_id_as_etag(training):
    response = _pull(training)
    assert response.status_code == 200
    assert response.headers["etag"] == f'"{model_id_of(training.live_model)}"'
    assert response.content == training.live_model.read_bytes()
    # Rasa names the downloaded file after this header: its /status then shows which model it runs.
    assert response.headers["filename"] == training.live_model.name


def test_a_replica_that_has_the_model_gets_304_without_a_body(training):
    etag = _pull(training).headers["etag"]
    for sent in (etag, f"W/{etag}", f'"older", {etag}', "*"):
        response = _pull(training, sent)
        assert response.status_code == 304, sent
        assert response.content == b"" and response.headers["etag"] == etag


def test_a_replica_without_a_model_or_with_another_gets_the_file(training):
    # Before its first model Rasa sends a random fingerprint of its own (uuid4().hex, unquoted).
    for sent in ("0f3b2a9c4d5e6f708192a3b4c5d6e7f8", '"an-older-model"'):
        response = _pull(training, sent)
        assert response.status_code == 200, sent
        assert response.content == training.live_model.read_bytes()


def test_without_a_live_model_the_answer_is_404_with_a_detail(training):
    (training.settings.training_models_dir / "current.tar.gz").unlink()
    response = _pull(training)
    assert response.status_code == 404
    assert response.json()["code"] == "no_live_model" and response.json()["detail"]


def test_only_the_service_token_may_pull_the_model(training):
    assert training.client.get(LIVE).status_code == 401
    assert training.client.get(LIVE, headers={"Authorization": "Bearer not-the-token"}).status_code == 403
    assert training.client.get(LIVE, headers=bearer(training.client, STAFF)).status_code == 403
    assert training.client.get(LIVE, params={"token": SERVICE_HEADERS["Authorization"][7:]}).status_code == 401


def test_activating_and_rolling_back_change_the_model_served_and_its_etag(training):
    before = _pull(training).headers["etag"]
    other = _another_model(training)
    headers = bearer(training.client)
    assert training.client.post(f"/api/training/models/{other['id']}/activate", headers=headers).status_code == 200
    switched = _pull(training, before)
    assert switched.status_code == 200
    assert switched.headers["etag"] == f'"{other["rasa_model_id"]}"'
    assert switched.content == (training.settings.training_models_dir / other["file_name"]).read_bytes()

    assert training.client.post("/api/training/rollback", headers=headers).status_code == 200
    back = _pull(training, switched.headers["etag"])
    assert back.status_code == 200 and back.headers["etag"] == before


def test_the_latest_activation_wins_over_the_current_link(training):
    other = _another_model(training)
    training.client.post(f"/api/training/models/{other['id']}/activate", headers=bearer(training.client))
    # As scripts/train-model would, had someone removed models/activated: the database still says which is live.
    link = training.settings.training_models_dir / "current.tar.gz"
    link.unlink()
    link.symlink_to(training.live_model.name)
    assert _pull(training).headers["etag"] == f'"{other["rasa_model_id"]}"'


def test_with_nothing_activated_the_configured_live_model_is_served(training, tmp_path):
    elsewhere = tmp_path / "elsewhere" / "stack-model.tar.gz"
    model_id = write_model(elsewhere)
    training.settings.training_live_model = elsewhere
    response = _pull(training)
    assert response.headers["etag"] == f'"{model_id}"' and response.content == elsewhere.read_bytes()
    live = training.client.get("/api/training/live", headers=bearer(training.client)).json()
    assert live["model"]["file_name"] == elsewhere.name


def test_the_etag_is_the_same_on_another_api_replica(training):
    etag = _pull(training).headers["etag"]
    app = create_app(training.settings)
    try:
        with TestClient(app) as replica:
            assert replica.get(LIVE, headers=SERVICE_HEADERS | {"If-None-Match": etag}).status_code == 304
    finally:
        app.state.engine.dispose()


def test_a_new_file_at_the_same_path_gets_a_new_etag(training):
    before = _pull(training).headers["etag"]
    time.sleep(0.01)
    model_id = write_model(training.live_model)
    os.utime(training.live_model, ns=(time.time_ns(), time.time_ns()))
    response = _pull(training, before)
    assert response.status_code == 200 and response.headers["etag"] == f'"{model_id}"'
