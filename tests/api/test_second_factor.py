"""Admins' second sign-in factor: enrolment at the first sign-in, a code after the password, no code twice, the
lockout, the REST sign-in and the setting that switches it off for local development."""

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pyotp
import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.core.settings import Settings
from api.main import create_app
from api.staff.models import AuditEntry, StaffUser
from api.staff.service import create_user
from tests.api.conftest import SERVICE_TOKEN

PASSWORD = "correct horse battery"
ADMIN, OTHER_ADMIN, STAFF = "admin@paju.go.kr", "second@paju.go.kr", "staff@paju.go.kr"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'data-testid="totp-secret">([A-Z2-7]+)<')
# 10:00:05 in Seoul: well inside one 30-second step, so a code made "now" is of the current step.
NINE_AM = datetime.fromisoformat("2026-12-01T10:00:05+09:00")


def _app(database_url: str, required: bool) -> FastAPI:
    settings = Settings(database_url=database_url, service_token=SERVICE_TOKEN, admin_totp_required=required)
    return create_app(settings)


@pytest.fixture
def app(database_url) -> Iterator:
    app = _app(database_url, required=True)
    with app.state.sessionmaker() as session:
        create_user(session, ADMIN, "김관리", PASSWORD, role="admin")
        create_user(session, OTHER_ADMIN, "박관리", PASSWORD, role="admin")
        create_user(session, STAFF, "이담당", PASSWORD)
    yield app
    app.state.engine.dispose()


def _password(browser: TestClient, email: str = ADMIN, password: str = PASSWORD):
    page = browser.get("/console/sign-in")
    data = {"email": email, "password": password, "csrf_token": CSRF.search(page.text).group(1)}
    return browser.post("/console/sign-in", data=data, follow_redirects=False)


def _code(browser: TestClient, code: str):
    page = browser.get("/console/sign-in/code")
    data = {"code": code, "csrf_token": CSRF.search(page.text).group(1)}
    return browser.post("/console/sign-in/code", data=data, follow_redirects=False)


def _enrolled(app, at: datetime = NINE_AM) -> str:
    """Enrols the admin's app at `at` (its first code is used then); returns the secret."""
    browser = TestClient(app)
    with time_machine.travel(at, tick=False):
        _password(browser)
        secret = SECRET.search(browser.get("/console/sign-in/code").text).group(1)
        assert _code(browser, pyotp.TOTP(secret).at(at)).status_code == 303
    return secret


def _is_signed_in(browser: TestClient) -> bool:
    return browser.get("/console/queue", follow_redirects=False).status_code == 200


def test_the_second_factor_is_required_unless_the_setting_turns_it_off():
    assert Settings.model_fields["admin_totp_required"].default is True


def test_an_admin_enrols_an_authenticator_at_the_first_sign_in_and_its_secret_is_never_shown_again(app):
    browser = TestClient(app)
    with time_machine.travel(NINE_AM, tick=False):
        after_password = _password(browser)
        assert after_password.headers["location"] == "/console/sign-in/code?next=/console/queue"
        assert not _is_signed_in(browser)  # the password alone signs nobody in

        page = browser.get("/console/sign-in/code").text
        secret = SECRET.search(page).group(1)
        assert f"otpauth://totp/Paju%20City%20console:admin%40paju.go.kr?secret={secret}" in page
        assert SECRET.search(browser.get("/console/sign-in/code").text).group(1) == secret  # same until confirmed
        wrong = _code(browser, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        assert wrong.status_code == 401 and "인증 코드가 맞지 않거나" in wrong.text
        assert _code(browser, pyotp.TOTP(secret).now()).headers["location"] == "/console/queue"
        assert _is_signed_in(browser)  # at the test's own clock: the session lasts hours, not days
    with app.state.sessionmaker() as session:
        admin = session.scalar(select(StaffUser).where(StaffUser.email == ADMIN))
        assert admin.totp_enrolled_at is not None and admin.failed_sign_ins == 0

    later = TestClient(app)
    with time_machine.travel(NINE_AM + timedelta(minutes=5), tick=False):
        _password(later)
        page = later.get("/console/sign-in/code").text
        users = browser.get("/console/admin/users", follow_redirects=False)
    assert secret not in page and 'data-testid="totp-secret"' not in page
    assert users.status_code == 200 and secret not in users.text


def test_an_admin_signs_in_with_the_current_code_and_the_same_code_is_refused_a_second_time(app):
    secret = _enrolled(app)
    totp = pyotp.TOTP(secret)
    at = NINE_AM + timedelta(minutes=10)
    first, replay = TestClient(app), TestClient(app)
    with time_machine.travel(at, tick=False):
        _password(first)
        assert _code(first, totp.at(at)).status_code == 303
        _password(replay)
        refused = _code(replay, totp.at(at))
        assert _is_signed_in(first) and not _is_signed_in(replay)
    assert refused.status_code == 401 and "이미 쓴 코드" in refused.text


def test_a_code_of_the_step_before_still_counts_but_an_older_one_does_not(app):
    secret = _enrolled(app)
    totp = pyotp.TOTP(secret)
    at = NINE_AM + timedelta(minutes=20)
    late, stale = TestClient(app), TestClient(app)
    with time_machine.travel(at, tick=False):
        _password(stale)
        assert _code(stale, totp.at(at - timedelta(seconds=90))).status_code == 401
        _password(late)
        assert _code(late, totp.at(at - timedelta(seconds=30))).status_code == 303  # a phone clock a bit behind


def test_wrong_codes_count_with_wrong_passwords_towards_the_lockout(app):
    secret = _enrolled(app)
    browser = TestClient(app)
    at = NINE_AM + timedelta(minutes=30)
    with time_machine.travel(at, tick=False):
        _password(browser, password="not the password")
        _password(browser)
        for _ in range(3):
            assert _code(browser, "123456" if pyotp.TOTP(secret).at(at) != "123456" else "654321").status_code == 401
        # Entering the right password again does not forgive the wrong codes.
        _password(browser)
        locked = _code(browser, "000001" if pyotp.TOTP(secret).at(at) != "000001" else "000002")
        assert locked.status_code == 401
        assert _password(browser).status_code == 423
        assert not _is_signed_in(browser)


def test_staff_sign_in_with_their_password_alone(app):
    browser = TestClient(app)
    assert _password(browser, STAFF).headers["location"] == "/console/queue"
    assert _is_signed_in(browser)


def test_without_the_setting_an_admin_signs_in_with_the_password_alone(database_url):
    app = _app(database_url, required=False)
    with app.state.sessionmaker() as session:
        create_user(session, ADMIN, "김관리", PASSWORD, role="admin")
    browser = TestClient(app)
    assert _password(browser).headers["location"] == "/console/queue"
    assert _is_signed_in(browser)
    app.state.engine.dispose()


def test_over_rest_an_admin_enrols_in_the_console_first_and_then_gives_the_code_with_the_password(app):
    with TestClient(app) as client:
        body = {"email": ADMIN, "password": PASSWORD}
        not_enrolled = client.post("/api/auth/sign-in", json=body, headers={"Accept-Language": "ko"})
        assert not_enrolled.status_code == 403 and not_enrolled.json()["code"] == "second_factor_not_enrolled"
        secret = _enrolled(app)
        at = NINE_AM + timedelta(minutes=40)
        with time_machine.travel(at, tick=False):
            assert client.post("/api/auth/sign-in", json=body).json()["code"] == "second_factor_required"
            assert client.post("/api/auth/sign-in", json=body | {"totp_code": "12345"}).status_code == 401
            signed_in = client.post("/api/auth/sign-in", json=body | {"totp_code": pyotp.TOTP(secret).at(at)})
            assert signed_in.status_code == 200 and signed_in.json()["role"] == "admin"
            again = client.post("/api/auth/sign-in", json=body | {"totp_code": pyotp.TOTP(secret).at(at)})
            assert again.json()["code"] == "wrong_second_factor"
        assert client.post("/api/auth/sign-in", json={"email": STAFF, "password": PASSWORD}).status_code == 200


def test_an_admin_resets_a_lost_authenticator_and_its_owner_enrols_a_new_one(app):
    old_secret = _enrolled(app)
    other = TestClient(app)
    at = NINE_AM + timedelta(minutes=50)
    with time_machine.travel(at, tick=False):
        _password(other, OTHER_ADMIN)
        other_secret = SECRET.search(other.get("/console/sign-in/code").text).group(1)
        _code(other, pyotp.TOTP(other_secret).at(at))
        with app.state.sessionmaker() as session:
            admin_id = session.scalar(select(StaffUser.id).where(StaffUser.email == ADMIN))
        csrf = CSRF.search(other.get("/console/admin/users").text).group(1)
        reset = other.post(f"/console/admin/users/{admin_id}/second-factor/reset", data={"csrf_token": csrf})
        assert reset.status_code == 200

        browser = TestClient(app)
        _password(browser)
        new_secret = SECRET.search(browser.get("/console/sign-in/code").text).group(1)
    assert new_secret != old_secret
    with app.state.sessionmaker() as session:
        assert session.scalar(select(AuditEntry.action).where(AuditEntry.subject == f"staff:{admin_id}")) == (
            "reset_second_factor"
        )


def test_the_code_page_without_a_right_password_first_sends_back_to_the_sign_in(app):
    browser = TestClient(app)
    assert (
        browser.get("/console/sign-in/code", follow_redirects=False)
        .headers["location"]
        .startswith("/console/sign-in?next=")
    )
    response = browser.post("/console/sign-in/code", data={"code": "123456", "csrf_token": "x"}, follow_redirects=False)
    assert response.headers["location"].startswith("/console/sign-in?next=")
