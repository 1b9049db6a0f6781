"""The training pages of the admin console, and who may use training at all: admins only."""

import re
import uuid

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.training import data
from api.training import router as training_api
from api.training.models import TrainingRun
from api.web import training as training_pages
from tests.api.conftest import SERVICE_HEADERS
from tests.api.training_fixtures import (
    ADMIN,
    PASSWORD,
    STAFF,
    answer_new_topic,
    bearer,
    training_environment,
    wait_for_run,
)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HOME = "/console/admin/training"


@pytest.fixture
def training(database_url, tmp_path):
    with training_environment(database_url, tmp_path) as environment:
        yield environment


def _signed_in(client: TestClient, email: str) -> tuple[TestClient, str]:
    browser = TestClient(client.app)
    page = browser.get("/console/sign-in")
    response = browser.post(
        "/console/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": CSRF.search(page.text).group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return browser, CSRF.search(browser.get("/console/queue").text).group(1)


def _routes(router) -> list[tuple[str, str]]:
    return [
        (method, re.sub(r"\{[^}]+\}", "1", route.path))
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    ]


def _citizen_said(client: TestClient, text: str, confidence: float = 0.2) -> None:
    body = {"channel": "web", "channel_user_id": "c1", "channel_message_id": uuid.uuid4().hex, "text": text}
    message_id = client.post("/api/conversations/messages", json=body, headers=SERVICE_HEADERS).json()["message_id"]
    report = {"message_id": message_id, "text": text, "language": "ko", "intent": "tour_info", "confidence": confidence}
    assert client.post("/api/training/inbox", json=report, headers=SERVICE_HEADERS).status_code == 202


# --- who may -------------------------------------------------------------------------------------------------


def test_staff_cannot_reach_any_training_page_or_form(training):
    browser, csrf = _signed_in(training.client, STAFF)
    routes = _routes(training_pages.router)
    assert len(routes) >= 14
    for method, path in routes:
        response = browser.request(method, path, data={"csrf_token": csrf, "intent": "x"}, follow_redirects=False)
        assert response.status_code == 403, (method, path)
        assert "관리자만" in response.text
    assert 'data-testid="nav-admin-training"' not in browser.get("/console/queue").text


def test_staff_and_strangers_cannot_reach_any_training_route_of_the_api(training):
    routes = _routes(training_api.router)
    assert len(routes) >= 15
    staff = bearer(training.client, STAFF)
    for method, path in routes:
        for headers, expected in ((staff, 403), ({}, 401)):
            response = training.client.request(method, path, json={}, headers=headers)
            assert response.status_code == expected, (method, path, headers, response.text)


def test_the_service_token_may_only_report_parses_and_pull_the_live_model(training):
    for method, path in _routes(training_api.router):
        if (method, path) not in {("POST", "/api/training/inbox"), ("GET", "/api/models/live")}:
            response = training.client.request(method, path, json={}, headers=SERVICE_HEADERS)
            assert response.status_code == 401, (method, path)


def test_training_pages_need_a_session(training):
    for method, path in _routes(training_pages.router):
        response = TestClient(training.client.app).request(method, path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/sign-in"), path


# --- the pages ---------------------------------------------------------------------------------------------


def test_an_admin_labels_a_message_in_the_inbox_and_it_becomes_an_example(training):
    _citizen_said(training.client, "반려견 놀이터 어디 있어요?")
    browser, csrf = _signed_in(training.client, ADMIN)
    assert 'data-testid="nav-admin-training"' in browser.get("/console/queue").text
    page = browser.get(f"{HOME}/inbox")
    assert "반려견 놀이터 어디 있어요?" in page.text and 'data-testid="inbox-row"' in page.text
    item_id = re.search(r'data-testid="inbox-row" data-item-id="(\d+)"', page.text).group(1)
    back = f"{HOME}/inbox?language=ko"
    form = {"csrf_token": csrf, "intent": "pet_park", "text": "[반려견 놀이터](place) 어디 있어요?", "back": back}
    # A name nobody used before is asked about first: a typo does not silently start a topic.
    asked = browser.post(f"{HOME}/inbox/{item_id}/label", data=form, follow_redirects=False)
    assert asked.status_code == 409 and "새 의도를 만들까요?" in asked.text
    assert data.search(data.load(training.settings), intent="pet_park") == []
    response = browser.post(f"{HOME}/inbox/{item_id}/label", data=form | {"new_intent": "1"}, follow_redirects=False)
    # Created, it goes on to its answer.
    assert (response.status_code, response.headers["location"]) == (303, f"{HOME}/answers/pet_park?created=1")
    answer_page = browser.get(response.headers["location"]).text
    assert 'data-testid="answer-needed"' in answer_page and 'data-testid="answer-form"' in answer_page
    overview = browser.get(HOME).text
    assert 'data-testid="unanswered-intent"' in overview and "pet_park" in overview
    saved = browser.post(
        f"{HOME}/answers/pet_park",
        data={"csrf_token": csrf, "text_ko": "운정호수공원에 있어요.", "text_en": "It is in Unjeong Lake Park."},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert 'data-testid="unanswered-intent"' not in browser.get(HOME).text
    assert "반려견 놀이터 어디 있어요?" not in browser.get(f"{HOME}/inbox").text
    examples = browser.get(f"{HOME}/examples", params={"intent": "pet_park"}).text
    assert "[반려견 놀이터](place) 어디 있어요?" in examples
    assert "&#39;pet_park&#39; 의도의 한국어 예문이 1개뿐이에요" in examples


def test_a_form_without_the_csrf_token_changes_nothing(training):
    browser, _csrf = _signed_in(training.client, ADMIN)
    response = browser.post(f"{HOME}/examples", data={"language": "ko", "intent": "pet_park", "text": "강아지 공원"})
    assert response.status_code == 403
    assert data.search(data.load(training.settings), intent="pet_park") == []


def test_examples_are_added_and_removed_in_the_console_and_other_files_say_why_not(training):
    browser, csrf = _signed_in(training.client, ADMIN)
    form = {"csrf_token": csrf, "language": "ko", "intent": "pet_park", "text": "강아지 공원 있나요", "new_intent": "1"}
    assert browser.post(f"{HOME}/examples", data=form, follow_redirects=False).status_code == 303
    page = browser.get(f"{HOME}/examples", params={"q": "강아지 공원"}).text
    assert page.count('data-testid="example-remove-button"') == 1
    assert "admin.yml</code>)만 지울 수 있어요" in page
    assert browser.post(f"{HOME}/examples/remove", data=form, follow_redirects=False).status_code == 303
    greeting = form | {"language": "en", "intent": "greet", "text": "Hi"}
    refused = browser.post(f"{HOME}/examples/remove", data=greeting)
    assert refused.status_code == 409 and "저장소에서 고쳐야 해요" in refused.text


def test_an_admin_trains_compares_activates_and_rolls_back_from_the_console(training):
    data.add_example(training.settings, "ko", "pet_park", "반려견 놀이터 어디 있어요")
    answer_new_topic(training.settings)
    browser, csrf = _signed_in(training.client, ADMIN)
    overview = browser.get(HOME).text
    assert training.live_model.name in overview
    assert "운영 중인 모델이 어떤 예문으로 학습했는지 알 수 없어요" in overview
    started = browser.post(f"{HOME}/runs", data={"csrf_token": csrf}, follow_redirects=False)
    run_id = int(started.headers["location"].rsplit("/", 1)[1])
    assert wait_for_run(training.client, run_id).status == "succeeded"
    run_page = browser.get(started.headers["location"]).text
    assert 'data-status="succeeded"' in run_page and "Starting to train component" in run_page
    assert 'http-equiv="refresh"' not in run_page

    model_id = re.search(r'href="/console/admin/training/models/(\d+)" data-testid="run-model"', run_page).group(1)
    model_page = browser.get(f"{HOME}/models/{model_id}").text
    for report in ("held_out", "regression"):
        assert f'data-report="{report}"' in model_page
    assert 'data-testid="summary-live"' in model_page  # the live model's regression figures beside
    assert "<code>greet</code> → <code>out_of_scope</code>" in model_page

    activated = browser.post(f"{HOME}/models/{model_id}/activate", data={"csrf_token": csrf}, follow_redirects=False)
    assert activated.status_code == 303
    models = browser.get(f"{HOME}/models").text
    assert re.search(rf'data-model-id="{model_id}" data-live="true"', models)
    # Replicas pull it: the page says within how long, and which one has not yet (the stand-in never pulls).
    assert f"{training.settings.model_pull_seconds}초 안에" in models and 'data-testid="replica-pulling"' in models
    overview = browser.get(HOME).text
    assert 'data-testid="no-changes"' in overview  # the live model learnt exactly the current data
    assert 'data-testid="rollback-button"' in overview

    assert browser.post(f"{HOME}/rollback", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert training.client.get("/api/training/live", headers=bearer(training.client)).json()["model"]["file_name"] == (
        training.live_model.name
    )
    history = browser.get(f"{HOME}/models").text
    assert history.count('data-testid="activation-row"') == 2 and 'data-kind="rollback"' in history


def test_a_running_training_is_shown_and_a_second_one_refused(training):
    browser, csrf = _signed_in(training.client, ADMIN)
    with training.client.app.state.sessionmaker() as session:
        session.add(TrainingRun(status="running", stage="모델 학습: DIETClassifier (에포크 40%)", progress=30))
        session.commit()
    overview = browser.get(HOME).text
    assert 'data-testid="running-run-link"' in overview and "에포크 40%" in overview
    refused = browser.post(f"{HOME}/runs", data={"csrf_token": csrf})
    assert refused.status_code == 409 and "이미 학습이 진행 중이에요" in refused.text
    run_page = browser.get(f"{HOME}/runs/1").text
    assert 'http-equiv="refresh"' in run_page
