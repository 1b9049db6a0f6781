"""The tours REST routes, through the real app on a seeded database."""

import json
import logging
import time
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.core.migrate import upgrade
from api.main import create_app
from api.tours.models import Run
from api.tours.seed import seed_tours
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS
from tests.api.tours_fixtures import leave_seats, run_at, seed
from tests.support.postgres import temporary_database


@pytest.fixture
def seeded(client):
    with Session(client.app.state.engine) as session:
        seed(session)
    return client


def _future_run(client, days_ahead: int = 3) -> dict:
    """An open walking run a few days from the real today, so booking-window rules pass."""
    day = datetime.now(SEOUL).date() + timedelta(days=days_ahead)
    while day.weekday() == 0:
        day += timedelta(days=1)
    with Session(client.app.state.engine) as session:
        seed_tours(session)
        session.commit()
    runs = client.get(f"/api/tours/dmz-peace/runs?date={day}&option=walk").json()
    return runs[0]


def _book(client, run_id: int, party=None, key: str | None = None, headers=None, **extra):
    body = {"run_id": run_id, "party": party or {"adult": 2}, "name": "김민수", "phone": "010-1234-5678", **extra}
    headers = {**(headers or {}), **({"Idempotency-Key": key} if key else {})}
    return client.post("/api/bookings", json=body, headers=headers)


def test_the_tour_catalogue_lists_the_dmz_course_with_fares_in_both_languages(seeded):
    [course] = seeded.get("/api/tours").json()
    assert course["code"] == "dmz-peace"
    detail = seeded.get(f"/api/tours/{course['id']}").json()
    assert "여권" in detail["id_rules_ko"] and "passport" in detail["id_rules_en"]
    adult_walk = next(f for f in detail["fares"] if (f["option"], f["fare_type"]) == ("walk", "adult"))
    assert adult_walk["amount_won"] == 9200


def test_the_tour_says_how_long_booker_data_is_kept_as_the_setting_says(seeded):
    assert seeded.get("/api/tours/dmz-peace").json()["booker_retention_days"] == 90
    seeded.app.state.settings = seeded.app.state.settings.model_copy(update={"booker_retention_days": 30})
    assert seeded.get("/api/tours/dmz-peace").json()["booker_retention_days"] == 30


def test_runs_of_a_day_show_seats_left_per_option(seeded):
    with Session(seeded.app.state.engine) as session:
        leave_seats(session, run_at(session, date(2026, 12, 2), 9, 20), 7)
    runs = seeded.get("/api/tours/dmz-peace/runs?date=2026-12-02").json()
    assert len(runs) == 8
    first_walk = next(r for r in runs if r["option"] == "walk")
    assert set(first_walk) >= {"id", "starts_at", "capacity", "seats_left"}
    assert first_walk["seats_left"] == 7
    assert first_walk["starts_at"].startswith("2026-12-02T00:20")  # 09:20 in Seoul, stored in UTC


@pytest.mark.parametrize("bad", ["2026-13-01", "tomorrow", "2026/12/02", ""])
def test_a_malformed_date_is_422_with_a_clear_detail(seeded, bad):
    response = seeded.get(f"/api/tours/dmz-peace/runs?date={bad}")
    assert response.status_code == 422
    assert "date" in str(response.json()["detail"])


def test_an_unknown_tour_is_404(seeded):
    assert seeded.get("/api/tours/no-such-tour").status_code == 404
    assert seeded.get("/api/tours/999/runs?date=2026-12-02").status_code == 404


def test_booking_returns_201_with_code_status_and_total_fee_and_masks_personal_data(seeded):
    run = _future_run(seeded)
    response = _book(seeded, run["id"], {"adult": 2, "child": 1}, key="k-1")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["total_fee"] == 24600
    assert body["booker_name"] == "김*수"
    assert body["booker_phone"] == "010-****-5678"
    assert body["run"]["seats_left"] == run["seats_left"] - 3

    again = _book(seeded, run["id"], {"adult": 2, "child": 1}, key="k-1")
    assert again.json()["code"] == body["code"]
    looked_up = seeded.get(f"/api/bookings/{body['code']}?phone=01012345678")
    assert looked_up.status_code == 200


def test_a_booking_answer_carries_its_request_id_and_the_log_names_the_route_not_the_path(seeded, caplog):
    run = _future_run(seeded)
    caplog.set_level(logging.INFO, logger="api")
    caplog.clear()
    given = _book(seeded, run["id"], headers={"X-Request-Id": "from-gateway"})
    made_up = seeded.get(f"/api/bookings/{given.json()['code']}?phone=01012345678")
    assert given.headers["x-request-id"] == "from-gateway"
    assert len(made_up.headers["x-request-id"]) == 12
    logged = [r.__dict__ for r in caplog.records if r.name == "api" and r.getMessage() == "request"]
    assert [(r["request_id"], r["method"], r["path"], r["status"]) for r in logged] == [
        ("from-gateway", "POST", "/api/bookings", 201),
        (made_up.headers["x-request-id"], "GET", "/api/bookings/{code}", 200),
    ]
    assert given.json()["code"] not in json.dumps(logged, default=str)


def test_sold_out_is_409_with_a_code_and_a_korean_detail_on_request(seeded):
    run = _future_run(seeded)
    with Session(seeded.app.state.engine) as session:
        leave_seats(session, session.get(Run, run["id"]), 1)
    response = _book(seeded, run["id"], {"adult": 2}, headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert response.status_code == 409
    assert response.json() == {"detail": "이 회차에는 남은 좌석이 부족해요.", "code": "sold_out"}


@pytest.mark.parametrize(
    ("body_change", "status"),
    [
        ({"party": {"adult": 11}}, 422),
        ({"party": {"dog": 1}}, 422),
        ({"phone": "12345"}, 422),
        ({"name": ""}, 422),
        ({"run_id": 999999}, 404),
    ],
)
def test_bad_booking_input_is_refused_and_books_nothing(seeded, body_change, status):
    run = _future_run(seeded)
    body = {"run_id": run["id"], "party": {"adult": 1}, "name": "김민수", "phone": "010-1234-5678", **body_change}
    response = seeded.post("/api/bookings", json=body)
    assert response.status_code == status
    assert response.json()["detail"]
    runs = seeded.get(f"/api/tours/dmz-peace/runs?date={run['date']}&option=walk").json()
    assert runs[0]["seats_left"] == run["seats_left"]


def test_only_service_calls_can_tie_a_booking_to_a_messenger_user(seeded):
    run = _future_run(seeded)
    _book(seeded, run["id"], channel="telegram", channel_user_id="42")
    mine = seeded.get("/api/bookings?channel=telegram&channel_user_id=42", headers=SERVICE_HEADERS).json()
    assert mine == []
    _book(seeded, run["id"], headers=SERVICE_HEADERS, channel="telegram", channel_user_id="42")
    mine = seeded.get("/api/bookings?channel=telegram&channel_user_id=42", headers=SERVICE_HEADERS).json()
    assert len(mine) == 1
    assert seeded.get("/api/bookings?channel=telegram&channel_user_id=42").status_code == 401


def test_cancel_and_change_through_the_api(seeded):
    run = _future_run(seeded)
    code = _book(seeded, run["id"], {"adult": 2}).json()["code"]
    later = _future_run(seeded, days_ahead=5)
    changed = seeded.post(f"/api/bookings/{code}/change", json={"phone": "010-1234-5678", "run_id": later["id"]})
    assert changed.status_code == 200
    assert changed.json()["run"]["id"] == later["id"]
    wrong_phone = seeded.post(f"/api/bookings/{code}/cancel", json={"phone": "010-0000-0000"})
    assert wrong_phone.status_code == 404
    cancelled = seeded.post(f"/api/bookings/{code}/cancel", json={"phone": "010-1234-5678"})
    assert cancelled.json()["status"] == "cancelled"
    assert seeded.post(f"/api/bookings/{code}/cancel", json={"phone": "010-1234-5678"}).status_code == 409


def test_checking_a_half_filled_booking_gives_the_fee_or_the_reason(seeded):
    run = _future_run(seeded)
    ok = seeded.post("/api/bookings/check", json={"run_id": run["id"], "party": {"adult": 2, "child": 1}})
    assert ok.json() == {"ok": True, "total_fee": 24600}
    assert seeded.post("/api/bookings/check", json={"name": "홍길동"}).json()["total_fee"] is None
    bad_phone = seeded.post("/api/bookings/check", json={"phone": "1234"}, headers={"Accept-Language": "ko"})
    assert (bad_phone.status_code, bad_phone.json()["code"]) == (422, "invalid_phone")
    assert "010-1234-5678" in bad_phone.json()["detail"]
    too_many = seeded.post("/api/bookings/check", json={"party": {"adult": 15}})
    assert too_many.json()["code"] == "group_booking_required"
    runs = seeded.get(f"/api/tours/dmz-peace/runs?date={run['date']}&option=walk").json()
    assert runs[0]["seats_left"] == run["seats_left"], "a check takes no seats"


def test_available_runs_skip_full_ones_and_start_from_the_given_day(seeded):
    run = _future_run(seeded)
    with Session(seeded.app.state.engine) as session:
        leave_seats(session, session.get(Run, run["id"]), 1)
    found = seeded.get(f"/api/tours/dmz-peace/runs/available?from={run['date']}&seats=2&limit=3").json()
    assert len(found) == 3
    assert run["id"] not in [r["id"] for r in found]
    assert all(r["date"] >= run["date"] and r["seats_left"] >= 2 for r in found)


@pytest.mark.postgres
def test_a_booking_after_postgresql_closed_the_pooled_connections_is_made_on_a_new_one(settings):
    with temporary_database() as url:
        upgrade(url)
        app = create_app(settings.model_copy(update={"database_url": url}))
        with TestClient(app) as client:
            run = _future_run(client)
            assert _book(client, run["id"], {"adult": 1}).status_code == 201
            # As a restart does: the server ends every session, among them the api's idle ones in its pool.
            admin = create_engine(url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                others = "datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                connection.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}"))
                while connection.scalar(text(f"SELECT count(*) FROM pg_stat_activity WHERE {others}")):
                    time.sleep(0.05)
            admin.dispose()
            assert _book(client, run["id"], {"adult": 1}).status_code == 201
        app.state.engine.dispose()
