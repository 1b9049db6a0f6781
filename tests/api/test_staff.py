"""Staff sign-in, the run manifest with audited reveals, and closing a run."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.settings import Settings
from api.seed import seed
from api.staff.models import AuditEntry, StaffUser
from api.staff.service import create_user
from tests.api.test_tours_api import _book, _future_run

PASSWORD = "correct horse battery"


@pytest.fixture
def staff(client):
    with Session(client.app.state.engine) as session:
        create_user(session, "staff@paju.go.kr", "이담당", PASSWORD)
    return client


def _sign_in(client, password=PASSWORD, email="staff@paju.go.kr"):
    return client.post("/api/auth/sign-in", json={"email": email, "password": password})


def _headers(client) -> dict:
    return {"Authorization": f"Bearer {_sign_in(client).json()['token']}"}


def test_staff_sign_in_with_the_right_password_and_not_with_a_wrong_one(staff):
    signed_in = _sign_in(staff)
    assert signed_in.status_code == 200 and signed_in.json()["role"] == "staff"
    wrong = staff.post(
        "/api/auth/sign-in", json={"email": "staff@paju.go.kr", "password": "nope"}, headers={"Accept-Language": "ko"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "이메일 또는 비밀번호가 맞지 않아요."
    assert _sign_in(staff, email="nobody@paju.go.kr").status_code == 401


def test_five_failed_sign_ins_lock_the_account_even_for_the_right_password(staff):
    for _ in range(5):
        assert _sign_in(staff, password="wrong password").status_code == 401
    assert _sign_in(staff).status_code == 423


def test_the_manifest_needs_a_signed_in_staff_member(staff):
    assert staff.get("/api/staff/runs/1/manifest").status_code == 401
    assert staff.get("/api/staff/runs/1/manifest", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_the_manifest_masks_names_and_phones_unless_revealed_with_a_reason_which_is_audited(staff):
    run = _future_run(staff)
    _book(staff, run["id"], {"adult": 2})
    headers = _headers(staff)

    masked = staff.get(f"/api/staff/runs/{run['id']}/manifest", headers=headers).json()
    assert masked["seats_booked"] == 2
    assert masked["bookings"][0]["booker_name"] == "김*수"
    assert masked["bookings"][0]["booker_phone"] == "010-****-5678"

    no_reason = staff.get(f"/api/staff/runs/{run['id']}/manifest?reveal=true", headers=headers)
    assert no_reason.status_code == 422

    revealed = staff.get(
        f"/api/staff/runs/{run['id']}/manifest?reveal=true&reason=현장 명단 확인", headers=headers
    ).json()
    assert revealed["bookings"][0]["booker_name"] == "김민수"
    assert revealed["bookings"][0]["booker_phone"] == "01012345678"
    with Session(staff.app.state.engine) as session:
        [entry] = session.scalars(select(AuditEntry)).all()
        who = session.get(StaffUser, entry.user_id)
        assert (who.email, entry.action, entry.subject, entry.reason) == (
            "staff@paju.go.kr",
            "reveal_manifest",
            f"run:{run['id']}",
            "현장 명단 확인",
        )


def test_a_closed_run_stops_selling_and_keeps_its_bookings(staff):
    run = _future_run(staff)
    code = _book(staff, run["id"]).json()["code"]
    closed = staff.post(f"/api/staff/runs/{run['id']}/close", headers=_headers(staff))
    assert closed.json()["status"] == "closed"
    assert closed.json()["seats_left"] == 0
    refused = _book(staff, run["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "run_not_open")
    assert staff.get(f"/api/bookings/{code}?phone=01012345678").json()["status"] == "confirmed"


def test_the_first_admin_comes_from_the_settings_once(database_url):
    settings = Settings(database_url=database_url, admin_email="Admin@Paju.go.kr", admin_password="a long admin secret")
    assert seed(settings)["admin"] == 1
    assert seed(settings)["admin"] == 0
