"""Rate limits of the api: booking lookups, sign-ins and SMS codes, per address, citizen, code, phone and account."""

import logging
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.conversations.service import get_or_create_conversation
from api.core.settings import Settings
from api.identity.models import PhoneLink, SmsMessage
from api.main import create_app
from api.notices import personal
from api.notices.schemas import PersonalNoticeIn
from api.staff.models import StaffUser
from api.staff.service import create_user
from api.tours.models import Booking
from bot.gateway.settings import GatewaySettings
from common.clock import utcnow
from tests.api.conftest import SERVICE_HEADERS
from tests.api.test_tours_api import _book, _future_run
from tests.support.redis_server import temporary_prefix
from tests.support.stack import LOOPBACK_LIMITS

PASSWORD = "correct horse battery"
STAFF = "staff@paju.go.kr"
PHONE = "010-1234-5678"


@pytest.fixture
def make_client(settings: Settings) -> Iterator:
    """An api app with some limits changed; every app made is closed at the end."""
    apps: list = []

    def make(address: str = "203.0.113.7", **limits) -> TestClient:
        app = create_app(settings.model_copy(update=limits))
        apps.append(app)
        return TestClient(app, client=(address, 50000))

    yield make
    for app in apps:
        app.state.engine.dispose()


def _booked_code(client: TestClient) -> str:
    booked = _book(client, _future_run(client)["id"])
    assert booked.status_code == 201, booked.text
    return booked.json()["code"]


def _lookup(client: TestClient, code: str, phone: str = PHONE, **headers):
    return client.get(f"/api/bookings/{code}", params={"phone": phone}, headers=headers)


def _sign_in(client: TestClient, password: str = PASSWORD, email: str = STAFF):
    return client.post("/api/auth/sign-in", json={"email": email, "password": password})


def _staff(client: TestClient) -> None:
    with client.app.state.sessionmaker() as session:
        create_user(session, STAFF, "이담당", PASSWORD)


def _sms_count(client: TestClient) -> int:
    with client.app.state.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(SmsMessage))


def _start_link(client: TestClient, user: str, phone: str, language: str = "ko"):
    body = {"channel": "telegram", "channel_user_id": user, "phone": phone}
    return client.post("/api/phone-links", json=body, headers=SERVICE_HEADERS | {"Accept-Language": language})


def _refused_in_korean(response) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["code"] == "rate_limited"
    assert response.json()["detail"].startswith("요청이 너무 많아요.")


# --- every public request, and bookings ---------------------------------------------------------------------


def test_a_flood_of_public_requests_from_one_address_is_refused_but_service_calls_and_other_addresses_go_on(
    make_client,
):
    client = make_client(rate_limit_requests_per_client="5/minute")
    for _ in range(5):
        assert client.get("/api/tours").status_code == 200
    _refused_in_korean(client.get("/api/notices"))
    assert client.get("/api/tours", headers=SERVICE_HEADERS).status_code == 200  # the gateway acts for citizens
    assert TestClient(client.app, client=("198.51.100.2", 50000)).get("/api/tours").status_code == 200


def test_one_address_books_at_most_its_limit_and_a_refused_booking_holds_no_seat(make_client):
    client = make_client(rate_limit_booking_create_per_client="2/hour")
    run = _future_run(client)
    assert _book(client, run["id"]).status_code == 201
    assert _book(client, run["id"]).status_code == 201
    _refused_in_korean(_book(client, run["id"]))
    with client.app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 2


# --- booking lookups -----------------------------------------------------------------------------------------


def test_the_eleventh_booking_lookup_from_one_address_in_a_minute_is_refused_in_korean_with_retry_after(
    make_client,
):
    client = make_client()
    code = _booked_code(client)
    for _ in range(10):
        assert _lookup(client, code).status_code == 200
    refused = _lookup(client, code)
    _refused_in_korean(refused)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    english = _lookup(client, code, **{"Accept-Language": "en"})
    assert english.status_code == 429 and english.json()["detail"].startswith("Too many requests.")
    elsewhere = TestClient(client.app, client=("198.51.100.2", 50000))
    assert _lookup(elsewhere, code).status_code == 200  # another address is not held


def test_a_refused_cancel_changes_nothing(make_client):
    client = make_client(rate_limit_booking_lookup_per_client="1/minute")
    code = _booked_code(client)
    assert _lookup(client, code).status_code == 200
    refused = client.post(f"/api/bookings/{code}/cancel", json={"phone": PHONE})
    _refused_in_korean(refused)
    with client.app.state.sessionmaker() as session:
        assert session.scalar(select(Booking.status).where(Booking.code == code)) == "confirmed"


def test_guesses_at_one_booking_code_are_limited_across_addresses(make_client):
    client = make_client(rate_limit_booking_lookup_per_code="3/hour")
    code = _booked_code(client)
    answers = [
        _lookup(TestClient(client.app, client=(f"198.51.100.{n}", 50000)), code, f"010-0000-000{n}") for n in range(4)
    ]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    _refused_in_korean(answers[-1])
    assert _lookup(client, _booked_code(client)).status_code == 200  # another code is not held


def test_service_calls_count_for_the_phone_they_look_up_not_for_the_gateways_address(make_client):
    client = make_client(rate_limit_booking_lookup_per_client="2/minute")
    code = _booked_code(client)
    for phone in ("010-1111-2222", "010-3333-4444", PHONE):
        assert _lookup(client, code, phone, **SERVICE_HEADERS).status_code in (200, 404)
        assert _lookup(client, code, phone, **SERVICE_HEADERS).status_code in (200, 404)
    assert _lookup(client, code, PHONE, **SERVICE_HEADERS).status_code == 429
    assert _lookup(client, code, "010-5555-6666", **SERVICE_HEADERS).status_code == 404


# --- sign-in -----------------------------------------------------------------------------------------------------


def test_the_eleventh_sign_in_from_one_address_is_refused_even_with_the_right_password_and_counts_no_failure(
    make_client,
):
    client = make_client()
    _staff(client)
    for n in range(10):
        _sign_in(client, email=f"nobody{n}@paju.go.kr")
    refused = _sign_in(client)
    _refused_in_korean(refused)
    assert "token" not in refused.json()
    with client.app.state.sessionmaker() as session:
        assert session.scalar(select(StaffUser.failed_sign_ins).where(StaffUser.email == STAFF)) == 0


def test_one_account_gets_at_most_its_hourly_sign_ins_from_any_number_of_addresses(make_client):
    client = make_client(rate_limit_sign_in_per_account="3/hour")
    _staff(client)
    answers = [
        TestClient(client.app, client=(f"198.51.100.{n}", 50000)).post(
            "/api/auth/sign-in", json={"email": STAFF.upper(), "password": "guess"}
        )
        for n in range(4)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]


def test_the_console_sign_in_answers_a_korean_page_with_retry_after_when_the_address_is_over_its_limit(
    make_client,
):
    client = make_client(rate_limit_sign_in_per_client="2/minute")
    _staff(client)
    statuses = []
    for password in ("wrong", "wrong", PASSWORD):
        page = client.get("/console/sign-in")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        answer = client.post(
            "/console/sign-in",
            data={"email": STAFF, "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        statuses.append(answer.status_code)
    assert statuses == [401, 401, 429]
    assert "요청이 너무 많아요." in answer.text and answer.headers["content-type"].startswith("text/html")
    assert int(answer.headers["Retry-After"]) >= 1
    assert "paju_console=" not in answer.headers.get("set-cookie", "")


# --- SMS codes -----------------------------------------------------------------------------------------------------


def test_a_fourth_code_to_one_phone_in_ten_minutes_is_refused_and_not_sent(make_client):
    client = make_client()
    for user in ("41", "42", "43"):
        assert _start_link(client, user, PHONE).status_code == 202
    refused = _start_link(client, "44", "+82 10-1234-5678")  # the same number, written otherwise
    _refused_in_korean(refused)
    assert _sms_count(client) == 3
    english = _start_link(client, "44", PHONE, language="en")
    assert english.status_code == 429 and english.json()["detail"].startswith("Too many requests.")


def test_one_conversation_cannot_send_codes_to_many_phones(make_client):
    client = make_client(rate_limit_sms_code_per_client="2/hour")
    assert [_start_link(client, "42", f"010-2000-000{n}").status_code for n in range(3)] == [202, 202, 429]
    assert _start_link(client, "43", "010-2000-0009").status_code == 202  # another conversation is not held
    assert _sms_count(client) == 3


def test_an_identity_code_for_a_personal_notice_counts_for_its_phone_but_a_strangers_asking_does_not(make_client):
    client = make_client(rate_limit_sms_code_per_phone="1/10 minutes")
    with client.app.state.sessionmaker() as session:
        conversation = get_or_create_conversation(session, "telegram", "42")
        session.add(PhoneLink(phone="01012345678", conversation_id=conversation.id, linked_at=utcnow()))
        session.commit()
        notice = personal.send(
            session, PersonalNoticeIn(phone=PHONE, department="세정과", title="고지서", body="내용"), None
        )
    path = f"/api/personal-notices/{notice.id}/code"
    stranger = {"channel": "telegram", "channel_user_id": "99"}
    # A stranger asking for the code is refused, and does not use up the citizen's count.
    assert [client.post(path, json=stranger, headers=SERVICE_HEADERS).status_code for _ in range(2)] == [409, 409]
    body = {"channel": "telegram", "channel_user_id": "42"}
    assert client.post(path, json=body, headers=SERVICE_HEADERS).status_code == 202
    _refused_in_korean(client.post(path, json=body, headers=SERVICE_HEADERS))
    _refused_in_korean(_start_link(client, "43", PHONE))  # linking the same phone elsewhere shares its count
    assert _sms_count(client) == 1


# --- the store ------------------------------------------------------------------------------------------------------


def test_a_limit_holds_across_two_api_instances_sharing_redis(make_client):
    with temporary_prefix() as (url, prefix):
        shared = {"redis_url": url, "rate_limit_prefix": prefix, "rate_limit_booking_lookup_per_client": "4/minute"}
        one, two = make_client(**shared), make_client(**shared)
        code = _booked_code(one)
        answers = [_lookup(replica, code).status_code for replica in (one, two, one, two, one, two)]
        assert answers == [200, 200, 200, 200, 429, 429]


def test_limits_reset_after_their_window(make_client):
    with temporary_prefix() as (url, prefix):
        client = make_client(redis_url=url, rate_limit_prefix=prefix, rate_limit_booking_lookup_per_client="2/second")
        code = _booked_code(client)
        assert [_lookup(client, code).status_code for _ in range(3)] == [200, 200, 429]
        time.sleep(1.1)
        assert _lookup(client, code).status_code == 200


def test_memory_limits_reset_after_their_window_too(make_client):
    client = make_client(rate_limit_booking_lookup_per_client="2/second")
    code = _booked_code(client)
    assert [_lookup(client, code).status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(1.1)
    assert _lookup(client, code).status_code == 200


def test_when_redis_is_down_requests_are_let_through_and_the_log_says_so(make_client, caplog):
    client = make_client(redis_url="redis://127.0.0.1:9/0", rate_limit_booking_lookup_per_client="1/minute")
    code = _booked_code(client)
    logging.getLogger().addHandler(caplog.handler)  # the app's logging setup replaced the root's handlers
    with caplog.at_level(logging.WARNING, logger="api.core.rate_limits"):
        assert [_lookup(client, code).status_code for _ in range(2)] == [200, 200]
    assert "rate limit store unreachable" in caplog.text


def test_the_test_stack_lifts_every_rate_limit_there_is():
    fields = [*Settings.model_fields, *GatewaySettings.model_fields]
    limits = {name.upper() for name in fields if name.startswith("rate_limit_") and name != "rate_limit_prefix"}
    assert set(LOOPBACK_LIMITS) == limits
