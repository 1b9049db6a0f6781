"""Request bodies over the limit are refused with 413 before the api parses them, declared or streamed."""

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.core.settings import Settings
from api.main import create_app
from api.opendata.models import Dataset
from api.staff.models import StaffUser
from api.staff.service import create_user
from api.tours.models import Booking
from tests.api.test_tours_api import _future_run
from tests.support.fake_telegram import LoopbackServer
from tests.support.raw_http import TWO_MB, status_after_declaring, status_while_streaming

STAFF = "staff@paju.go.kr"


def _count(client: TestClient, column) -> int:
    with client.app.state.sessionmaker() as session:
        return session.scalar(select(func.count(column)))


def _booking_body(run_id: int, padding: int) -> bytes:
    body = {"run_id": run_id, "party": {"adult": 2}, "name": "김민수", "phone": "010-1234-5678", "note": "x" * padding}
    return json.dumps(body).encode()


def _in_chunks(body: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_sign_in_body_of_two_megabytes_is_refused_with_413_before_the_password_is_checked(client):
    with client.app.state.sessionmaker() as session:
        create_user(session, STAFF, "이담당", "correct horse battery")
    body = json.dumps({"email": STAFF, "password": "wrong", "padding": "x" * TWO_MB}).encode()
    refused = client.post("/api/auth/sign-in", content=body, headers={"Content-Type": "application/json"})
    assert refused.status_code == 413
    assert refused.json() == {"detail": "요청이 너무 커요. 64 KiB까지만 받을 수 있어요.", "code": "body_too_large"}
    with client.app.state.sessionmaker() as session:
        assert session.scalar(select(StaffUser.failed_sign_ins).where(StaffUser.email == STAFF)) == 0


def test_an_oversized_booking_without_a_content_length_is_cut_off_while_streaming_and_nothing_is_booked(client):
    body = _booking_body(_future_run(client)["id"], TWO_MB)
    refused = client.post(
        "/api/bookings",
        content=_in_chunks(body),
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert refused.status_code == 413
    assert refused.json()["detail"] == "The request is too large: at most 64 KiB is accepted."
    assert _count(client, Booking.id) == 0


def test_a_booking_under_the_limit_is_still_taken(client):
    body = _booking_body(_future_run(client)["id"], 1000)
    booked = client.post("/api/bookings", content=_in_chunks(body, 256), headers={"Content-Type": "application/json"})
    assert booked.status_code == 201, booked.text


@pytest.fixture
def small_uploads(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"opendata_max_upload_bytes": 256 * 1024}))
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def _csv(size: int) -> bytes:
    rows = b"".join(b"2025-%02d,%d\n" % (n % 12 + 1, n) for n in range(size // 10))
    return b"month,visitors\n" + rows


def test_a_dataset_upload_has_its_own_larger_limit(small_uploads):
    # Above the 64 KiB of JSON routes, below the upload limit: it reaches the route, which wants an admin.
    accepted = small_uploads.post(
        "/api/datasets", data={"metadata": "{}"}, files={"file": ("visits.csv", _csv(100 * 1024), "text/csv")}
    )
    assert accepted.status_code == 401


def test_a_dataset_upload_over_its_limit_is_refused_while_streaming_and_nothing_is_stored(small_uploads):
    before = _count(small_uploads, Dataset.id)
    boundary = "paju-upload-boundary"
    metadata = json.dumps({"id": "visits", "title_ko": "방문객"})
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{metadata}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="visits.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body = head + _csv(1024 * 1024) + f"\r\n--{boundary}--\r\n".encode()
    refused = small_uploads.post(
        "/api/datasets",
        content=_in_chunks(body),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert refused.status_code == 413
    assert refused.json()["code"] == "body_too_large"
    assert _count(small_uploads, Dataset.id) == before


def test_the_console_sign_in_refuses_a_large_form_with_a_korean_page(client):
    refused = client.post(
        "/console/sign-in",
        content=b"email=a&password=" + b"x" * 100_000,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html,*/*"},
    )
    assert refused.status_code == 413 and refused.headers["content-type"].startswith("text/html")
    assert "요청이 너무 커요. 64 KiB까지만 받을 수 있어요." in refused.text


def test_a_long_notice_written_in_the_console_is_within_the_staff_limit(client):
    # 20,000 Korean characters are ~180 KB as a form: past the public limit, within the staff one (then sign-in).
    form = {"title": "공지", "body": "가" * 20_000}
    answer = client.post("/console/notices", data=form, follow_redirects=False)
    assert answer.status_code == 303 and "/console/sign-in" in answer.headers["location"]


# --- through a real server: the bytes arrive over a socket --------------------------------------------------------


@pytest.fixture
def served(settings: Settings) -> Iterator[LoopbackServer]:
    app = create_app(settings)
    server = LoopbackServer(app)
    server.start()
    yield server
    server.stop()
    app.state.engine.dispose()


def test_a_declared_length_over_the_limit_is_refused_before_any_of_the_body_is_sent(served):
    assert status_after_declaring(served.port, "/api/auth/sign-in") == 413


def test_a_chunked_body_over_the_limit_is_refused_while_it_is_still_arriving(served):
    assert status_while_streaming(served.port, "/api/auth/sign-in") == 413
