"""Every operation of the OpenAPI, fuzzed by schemathesis as a service, a staff member and an admin: no server error.

Each role gets an api of its own on seeded data (tours, notices, open data) plus one row of each kind the seeds
lack (a conversation, a training inbox item, a personal notice, a booking, a registered model), so ids the
fuzzer draws find real rows. Rasa is at a port nothing listens on: no request needs it (replicas pull their model;
health and the console report it unreachable), so none may answer a server error either.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.migrate import upgrade
from api.core.settings import Settings, public_holidays
from api.main import create_app
from api.notices.seed import seed_notices
from api.opendata.seed import seed_opendata
from api.staff.service import create_user
from api.tours.seed import COURSE_CODE, seed_tours
from api.training.models import TrainingRun
from common.clock import today
from tests.api.conftest import SERVICE_HEADERS, SERVICE_TOKEN
from tests.api.training_fixtures import copy_project, fake_rasa_env, wait_for_run, write_model

PASSWORD = "a long fuzzing secret"
ROLES = ("service", "staff", "admin")
SIGN_OUT = "/api/auth/sign-out"

# Only the OpenAPI of this app is read (its engine never connects); each role's run gets an app of its own.
schema = schemathesis.openapi.from_dict(create_app(Settings(service_token=SERVICE_TOKEN)).openapi())
# Counted against the wall clock, limits would answer later examples 429 or not depending on timing: lifted,
# every example reaches the code behind them and every run is the same.
NO_RATE_LIMITS = {
    name: "1000000/minute"
    for name, field in Settings.model_fields.items()
    if name.startswith("rate_limit_") and "/" in str(field.default)
}


@dataclass
class Fuzzed:
    app: FastAPI
    headers: dict[str, str]
    sign_in: Callable[[], dict[str, str]]


def _settings(directory) -> Settings:
    write_model(directory / "models" / "paju-0123456789abcdef.tar.gz")
    return Settings(
        database_url=f"sqlite:///{directory / 'paju.db'}",
        service_token=SERVICE_TOKEN,
        rasa_url="http://127.0.0.1:9",
        admin_totp_required=False,
        # Training writes only into this copy, and `rasa train` is a stand-in that takes milliseconds.
        training_project_dir=copy_project(directory / "project"),
        training_models_dir=directory / "models",
        training_runs_dir=directory / "runs",
        training_rasa_env=fake_rasa_env(directory / "rasa-env"),
        dataset_inbox_dir=directory / "inbox",
        **NO_RATE_LIMITS,
    )


def _signed_in(client: TestClient, email: str) -> dict[str, str]:
    answer = client.post("/api/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _add_one_of_each(client: TestClient, admin: dict[str, str]) -> None:
    """The rows the seeds lack, made the way the gateway, actions and staff make them."""
    citizen = {"channel": "telegram", "channel_user_id": "1001"}
    message = client.post(
        "/api/conversations/messages",
        json=citizen | {"channel_message_id": "1", "text": "투어 예약"},
        headers=SERVICE_HEADERS,
    )
    report = {"message_id": message.json()["message_id"], "text": "투어 예약", "language": "ko", "confidence": 0.2}
    run = client.get(f"/api/tours/{COURSE_CODE}/runs/available", params={"from": today().isoformat()}).json()[0]
    booking = {"run_id": run["id"], "party": {"adult": 2}, "name": "김민수", "phone": "010-1234-5678"}
    notice = {"phone": "010-1234-5678", "department": "세무과", "title": "재산세 안내", "body": "7월 재산세 안내예요."}
    answers = [
        message,
        client.post("/api/training/inbox", json=report, headers=SERVICE_HEADERS),
        client.post("/api/outbox", json=citizen | {"text": "안내"}, headers=SERVICE_HEADERS),
        client.post("/api/bookings", json=booking),
        client.post("/api/personal-notices", json=notice, headers=admin),
        client.get("/api/training/models", headers=admin),
    ]
    assert all(answer.status_code < 300 for answer in answers), [answer.text for answer in answers]


@pytest.fixture(scope="module", params=ROLES)
def fuzzed(request, tmp_path_factory) -> Iterator[Fuzzed]:
    app_settings = _settings(tmp_path_factory.mktemp(request.param))
    upgrade(app_settings.database_url)
    app = create_app(app_settings)
    with Session(app.state.engine) as session:
        seed_tours(session, holidays=public_holidays(app_settings))
        seed_notices(session)
        seed_opendata(session)
        session.commit()
        create_user(session, "staff@paju.go.kr", "이담당", PASSWORD)
        create_user(session, "admin@paju.go.kr", "김관리", PASSWORD, role="admin")
    with TestClient(app) as client:
        _add_one_of_each(client, _signed_in(client, "admin@paju.go.kr"))

        def sign_in() -> dict[str, str]:
            return SERVICE_HEADERS if request.param == "service" else _signed_in(client, f"{request.param}@paju.go.kr")

        yield Fuzzed(app, sign_in(), sign_in)
        # A training run the fuzzer started goes on in a thread of its own: let it finish, not cut it off mid-write.
        with app.state.sessionmaker() as session:
            running = session.scalars(select(TrainingRun.id).where(TrainingRun.status == "running")).all()
        for run_id in running:
            wait_for_run(client, run_id, timeout=120)
    app.state.engine.dispose()


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case, fuzzed):
    # Signing out ends the session it is given: it gets one of its own, and the operations after it keep theirs.
    headers = fuzzed.sign_in() if case.operation.path == SIGN_OUT else fuzzed.headers
    case.call_and_validate(app=fuzzed.app, headers=headers, checks=[not_a_server_error])
