"""Staff sign-in and its lockout, the run manifest with audited reads and reveals, and closing a run."""

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.database import make_engine, make_sessionmaker
from api.core.migrate import upgrade
from api.core.settings import Settings
from api.seed import seed
from api.staff import service as staff_service
from api.staff.models import AuditEntry, StaffUser
from api.staff.permissions import MANIFESTS_REVEAL, RUNS_CLOSE
from api.staff.service import create_user
from tests.api.test_tours_api import _book, _future_run
from tests.support.postgres import temporary_database

PASSWORD = "correct horse battery"
PLAIN = "plain@paju.go.kr"  # a staff member no admin granted anything


@pytest.fixture
def staff(client):
    with Session(client.app.state.engine) as session:
        create_user(session, "staff@paju.go.kr", "이담당", PASSWORD, permissions=[MANIFESTS_REVEAL, RUNS_CLOSE])
        create_user(session, PLAIN, "박직원", PASSWORD)
    return client


def _sign_in(client, password=PASSWORD, email="staff@paju.go.kr"):
    return client.post("/api/auth/sign-in", json={"email": email, "password": password})


def _headers(client, email="staff@paju.go.kr") -> dict:
    return {"Authorization": f"Bearer {_sign_in(client, email=email).json()['token']}"}


def _audit(client) -> list[tuple[str, str, str, str]]:
    with Session(client.app.state.engine) as session:
        return [
            (session.get(StaffUser, e.user_id).email, e.action, e.subject, e.reason)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


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


@pytest.mark.clock("2026-12-01T10:00:00+09:00")
def test_after_a_lockout_ends_the_failures_count_from_one_again(staff):
    with Session(staff.app.state.engine) as session:
        user_id = session.scalar(select(StaffUser.id).where(StaffUser.email == PLAIN))
        locks = [staff_service.record_failed_sign_in(session, user_id) for _ in range(5)]
        assert locks == [False, False, False, False, True]
        later = session.get(StaffUser, user_id).locked_until + staff_service.LOCKOUT / 15
        assert staff_service.record_failed_sign_in(session, user_id, later) is False
        session.expire_all()
        user = session.get(StaffUser, user_id)
        assert (user.failed_sign_ins, user.locked_until) == (1, None)


@pytest.mark.postgres
def test_ten_concurrent_wrong_sign_ins_count_ten_failures_and_lock_the_account_exactly_once(monkeypatch):
    """Each thread has its own session on PostgreSQL; the count is kept in the database (failed = failed + 1), so
    no failure is lost, and only the one that reaches five sets the lock. The count goes on to ten."""
    record = staff_service.record_failed_sign_in
    locked_by: list[bool] = []

    def recording(*args, **kwargs) -> bool:
        locked_by.append(record(*args, **kwargs))
        return locked_by[-1]

    monkeypatch.setattr(staff_service, "record_failed_sign_in", recording)
    with temporary_database() as url:
        upgrade(url)
        engine = make_engine(url)
        maker = make_sessionmaker(engine)
        with maker() as session:
            create_user(session, "target@paju.go.kr", "표적", PASSWORD)
        start = threading.Barrier(10)
        outcomes: list[str] = []

        def wrong_sign_in():
            with maker() as session:
                start.wait()
                try:
                    staff_service.authenticate(session, "target@paju.go.kr", "not the password")
                except staff_service.SignInFailed:
                    outcomes.append("failed")

        threads = [threading.Thread(target=wrong_sign_in) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with maker() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.email == "target@paju.go.kr"))
            assert (outcomes.count("failed"), user.failed_sign_ins, locked_by.count(True)) == (10, 10, 1)
            assert user.locked_until is not None
            with pytest.raises(staff_service.AccountLocked):
                staff_service.authenticate(session, "target@paju.go.kr", PASSWORD)
        engine.dispose()


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
    assert _audit(staff) == [
        ("staff@paju.go.kr", "view_manifest", f"run:{run['id']}", ""),
        ("staff@paju.go.kr", "reveal_manifest", f"run:{run['id']}", "현장 명단 확인"),
    ]


def test_a_staff_member_without_manifests_reveal_reads_the_manifest_masked_and_is_refused_the_names(staff):
    run = _future_run(staff)
    _book(staff, run["id"], {"adult": 2})
    headers = _headers(staff, PLAIN) | {"Accept-Language": "ko"}
    masked = staff.get(f"/api/staff/runs/{run['id']}/manifest", headers=headers)
    assert masked.status_code == 200 and masked.json()["bookings"][0]["booker_name"] == "김*수"
    refused = staff.get(f"/api/staff/runs/{run['id']}/manifest?reveal=true&reason=궁금해서", headers=headers)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "이 작업에는 “탑승 명단 개인정보 보기” 권한이 필요해요. 관리자에게 요청해 주세요.",
        "code": "permission_denied",
    }
    assert "김민수" not in refused.text
    assert _audit(staff) == [(PLAIN, "view_manifest", f"run:{run['id']}", "")]


def test_a_closed_run_stops_selling_and_keeps_its_bookings(staff):
    run = _future_run(staff)
    code = _book(staff, run["id"]).json()["code"]
    closed = staff.post(f"/api/staff/runs/{run['id']}/close", headers=_headers(staff))
    assert closed.json()["status"] == "closed"
    assert closed.json()["seats_left"] == 0
    refused = _book(staff, run["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "run_not_open")
    assert staff.get(f"/api/bookings/{code}?phone=01012345678").json()["status"] == "confirmed"
    assert _audit(staff) == [("staff@paju.go.kr", "close_run", f"run:{run['id']}", "")]


def test_a_staff_member_without_runs_close_cannot_close_a_run_and_it_keeps_selling(staff):
    run = _future_run(staff)
    refused = staff.post(f"/api/staff/runs/{run['id']}/close", headers=_headers(staff, PLAIN))
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert _book(staff, run["id"]).status_code == 201
    assert _audit(staff) == []


def test_the_first_admin_comes_from_the_settings_once(database_url):
    settings = Settings(database_url=database_url, admin_email="Admin@Paju.go.kr", admin_password="a long admin secret")
    assert seed(settings)["admin"] == 1
    assert seed(settings)["admin"] == 0
