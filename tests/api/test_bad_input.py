"""Input no row or text can be is refused as bad input (422) or found nowhere (404), never a server error."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.core.settings import Settings, public_holidays
from api.staff.service import create_user
from api.tours.seed import COURSE_CODE, seed_tours
from tests.api.conftest import SERVICE_HEADERS, SERVICE_TOKEN

PASSWORD = "correct horse battery"
TOO_LARGE = "99999999999999999999"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url, service_token=SERVICE_TOKEN, rasa_url="http://127.0.0.1:9", admin_totp_required=False
    )


def _signed_in(client: TestClient, email: str, role: str) -> dict[str, str]:
    with Session(client.app.state.engine) as session:
        create_user(session, email, "김관리", PASSWORD, role=role)
    token = client.post("/api/auth/sign-in", json={"email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", [f"/api/notices/{TOO_LARGE}", "/api/notices/0", "/api/notices/²"])
def test_a_notice_id_no_row_can_have_is_refused_as_bad_input(client, path):
    answer = client.get(path)

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["path", "notice_id"]


@pytest.mark.parametrize("run_id", ["1e22", "10000000000000000000000", "2147483648"])
def test_a_run_id_no_row_can_have_is_refused_as_bad_input_before_any_lookup(client, run_id):
    body = '{"run_id": ' + run_id + ', "party": {"adult": 1}}'

    answer = client.post("/api/bookings/check", content=body, headers={"Content-Type": "application/json"})

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "run_id"]


def test_a_tour_is_found_by_its_id_or_its_code_and_anything_else_is_a_tour_not_found(client):
    with Session(client.app.state.engine) as session:
        seed_tours(session, holidays=public_holidays(client.app.state.settings))
        session.commit()
    by_code = client.get(f"/api/tours/{COURSE_CODE}").json()

    assert client.get(f"/api/tours/{by_code['id']}").json() == by_code
    for key in ("²", "٣", TOO_LARGE, "0", "-1"):
        answer = client.get(f"/api/tours/{key}", headers={"Accept-Language": "ko"})
        assert answer.status_code == 404, key
        assert answer.json()["code"] == "tour_not_found"
        assert "투어" in answer.json()["detail"] and key not in answer.json()["detail"]


def test_an_inbox_offset_past_any_row_is_refused_as_bad_input(client):
    admin = _signed_in(client, "admin@paju.go.kr", "admin")

    answer = client.get("/api/training/inbox", params={"offset": TOO_LARGE}, headers=admin)

    assert answer.status_code == 422


def test_console_pages_refuse_ids_no_row_can_have(client):
    with Session(client.app.state.engine) as session:
        create_user(session, "admin@paju.go.kr", "김관리", PASSWORD, role="admin")
    browser = TestClient(client.app)
    form = browser.get("/console/sign-in").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    signed = {"email": "admin@paju.go.kr", "password": PASSWORD, "csrf_token": csrf}
    assert browser.post("/console/sign-in", data=signed, follow_redirects=False).status_code == 303

    for path in (
        f"/console/conversations/{TOO_LARGE}",
        f"/console/notices/{TOO_LARGE}",
        f"/console/admin/training/models/{TOO_LARGE}",
        f"/console/conversations/1/events?after={TOO_LARGE}",
        "/console/admin/audit?user_id=²",
    ):
        assert browser.get(path).status_code == 422, path
    assert browser.get("/console/admin/audit?user_id=").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        '{"channel": "web", "channel_user_id": "u1", "text": "\\ud800"}',
        '{"channel": "web", "channel_user_id": "u1", "payload": {"button": "\\udc00"}}',
        '{"channel": "web", "channel_user_id": "u1", "payload": {"\\ud800": 1}}',
        # PostgreSQL's text columns cannot hold a NUL character.
        '{"channel": "web", "channel_user_id": "u1", "text": "tour\\u0000"}',
        '{"channel": "web", "channel_user_id": "u1", "payload": {"button": ["\\u0000"]}}',
    ],
)
def test_json_with_half_a_surrogate_pair_or_a_nul_is_refused_and_nothing_is_stored(client, body):
    headers = SERVICE_HEADERS | {"Content-Type": "application/json", "Accept-Language": "ko"}

    answer = client.post("/api/conversations/messages", content=body, headers=headers)

    assert answer.status_code == 422
    assert answer.json() == {"detail": "요청에 올바르지 않은 문자가 들어 있어요.", "code": "invalid_text"}
    assert client.get("/api/conversations/web/u1/messages", headers=SERVICE_HEADERS).status_code == 404


def test_json_with_a_whole_surrogate_pair_is_text_like_any_other(client):
    body = '{"channel": "web", "channel_user_id": "u1", "text": "\\ud83d\\ude00 \\ud22c\\uc5b4"}'
    headers = SERVICE_HEADERS | {"Content-Type": "application/json"}

    assert client.post("/api/conversations/messages", content=body, headers=headers).status_code == 201
    transcript = client.get("/api/conversations/web/u1/messages", headers=SERVICE_HEADERS).json()
    assert transcript[0]["text"] == "😀 투어"


def test_a_notice_title_that_is_one_character_after_trimming_is_refused_not_a_server_error(client):
    staff = _signed_in(client, "writer@paju.go.kr", "staff")
    body = {"category": "tax", "department": "세정과", "title": "0\r", "body": "본문입니다"}
    assert client.post("/api/notices", json=body, headers=staff).status_code == 422
    body["title"] = "  "
    assert client.post("/api/notices", json=body, headers=staff).status_code == 422
