"""The rules a chat's booking follows, which live in the api and not in the actions: the departures offered for a
day (past and not-yet-open days, the noon split, seat and status filters), a chat's own Idempotency-Key, and which
of its bookings a chat lists."""

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy.orm import Session

from api.tours.models import Run
from tests.api.conftest import SERVICE_HEADERS
from tests.api.tours_fixtures import NOW, TODAY, WEDNESDAY, leave_seats, run_at, seed

CHOICES = "/api/tours/dmz-peace/runs/choices"
MONDAY = date(2026, 12, 7)


@pytest.fixture
def seeded(client):
    with Session(client.app.state.engine) as session:
        seed(session)
    with time_machine.travel(NOW, tick=False):
        yield client


def _choices(client, day: date, language: str = "ko", **params):
    return client.get(CHOICES, params={"date": day.isoformat(), **params}, headers={"Accept-Language": language})


def test_a_past_day_is_refused_with_its_own_code_in_the_citizens_language(seeded):
    refused = _choices(seeded, TODAY - timedelta(days=1))
    assert (refused.status_code, refused.json()["code"]) == (422, "past_date")
    assert refused.json()["detail"] == "이미 지난 날짜예요."


def test_a_day_whose_month_is_not_open_yet_is_refused_with_the_day_it_opens(seeded):
    refused = _choices(seeded, date(2027, 2, 3), "en")
    assert (refused.status_code, refused.json()["code"]) == (422, "booking_closed")
    assert "January 1, 2027" in refused.json()["detail"]


def test_today_after_the_last_cut_off_is_closed_for_booking(client):
    with Session(client.app.state.engine) as session:
        seed(session)
    with time_machine.travel(NOW.replace(hour=15), tick=False):
        refused = _choices(client, TODAY)
    assert (refused.status_code, refused.json()["code"]) == (422, "booking_closed")


def test_a_day_with_room_lists_its_departures_with_labels_in_both_languages(seeded):
    day = _choices(seeded, WEDNESDAY).json()
    assert (day["day_ko"], day["day_en"], day["closed"], day["nearest"]) == ("12월 2일(수)", "Dec 2 (Wed)", False, [])
    first = day["runs"][0]
    assert (first["time"], first["option"], first["part_of_day"]) == ("09:20", "walk", "morning")
    assert first["label_ko"] == f"09:20 도보 · {first['seats_left']}석"
    assert first["label_en"] == f"09:20 on foot · {first['seats_left']} seats"
    assert (first["option_ko"], first["option_en"]) == ("도보", "on foot")


def test_afternoon_means_departures_from_noon_and_morning_those_before(seeded):
    afternoon = _choices(seeded, WEDNESDAY, part_of_day="afternoon").json()["runs"]
    morning = _choices(seeded, WEDNESDAY, part_of_day="morning").json()["runs"]
    assert {r["time"] for r in afternoon} == {"13:30", "14:40"}
    assert {r["time"] for r in morning} == {"09:20", "10:30"}
    assert {r["part_of_day"] for r in afternoon} == {"afternoon"}


def test_the_option_and_part_of_day_narrow_the_choices_but_never_to_nothing(seeded):
    monorail = _choices(seeded, WEDNESDAY, option="monorail", part_of_day="afternoon").json()["runs"]
    assert [(r["time"], r["option"]) for r in monorail] == [("13:30", "monorail"), ("14:40", "monorail")]
    with Session(seeded.app.state.engine) as session:
        for hour, minute in ((13, 30), (14, 40)):
            for option in ("walk", "monorail"):
                run_at(session, WEDNESDAY, hour, minute, option).status = "closed"
        session.commit()
    everything = _choices(seeded, WEDNESDAY, part_of_day="afternoon").json()["runs"]
    assert {r["time"] for r in everything} == {"09:20", "10:30"}


def test_departures_without_room_for_the_party_or_closed_by_staff_are_not_choices(seeded):
    with Session(seeded.app.state.engine) as session:
        leave_seats(session, run_at(session, WEDNESDAY, 9, 20), 2)
        run_at(session, WEDNESDAY, 10, 30).status = "closed"
        session.commit()
    walks = [r["time"] for r in _choices(seeded, WEDNESDAY, seats=3, option="walk").json()["runs"]]
    assert walks == ["13:30", "14:40"]
    assert "09:20" in [r["time"] for r in _choices(seeded, WEDNESDAY, seats=2, option="walk").json()["runs"]]


def test_a_full_day_offers_the_nearest_departures_with_room_from_that_day(seeded):
    with Session(seeded.app.state.engine) as session:
        for run in session.query(Run).filter(Run.date == WEDNESDAY):
            leave_seats(session, run, 1)
    day = _choices(seeded, WEDNESDAY, seats=2).json()
    assert (day["runs"], day["closed"]) == ([], False)
    assert day["nearest"] and all(r["date"] > WEDNESDAY.isoformat() for r in day["nearest"])


def test_a_day_without_a_tour_is_closed_and_offers_the_nearest_departures(seeded):
    day = _choices(seeded, MONDAY).json()
    assert (day["closed"], day["runs"]) == (True, [])
    assert day["nearest"][0]["date"] == (MONDAY + timedelta(days=1)).isoformat()


def _chat_booking(client, run_id: int, user: str = "42", **headers):
    body = {"run_id": run_id, "party": {"adult": 2}, "name": "김민수", "phone": "010-1234-5678"}
    body |= {"channel": "telegram", "channel_user_id": user}
    return client.post("/api/bookings", json=body, headers=SERVICE_HEADERS | headers)


def test_the_same_answers_sent_twice_from_one_chat_make_one_booking(seeded):
    run_id = _choices(seeded, WEDNESDAY).json()["runs"][0]["id"]
    first, again = _chat_booking(seeded, run_id), _chat_booking(seeded, run_id)
    assert first.status_code == again.status_code == 201
    assert first.json()["code"] == again.json()["code"]
    assert _chat_booking(seeded, run_id, user="43").json()["code"] != first.json()["code"]
    explicit = _chat_booking(seeded, run_id, **{"Idempotency-Key": "own-key"})
    assert explicit.json()["code"] != first.json()["code"], "a key the caller sends is the one used"


def test_a_chat_asks_for_its_confirmed_bookings_and_gets_no_cancelled_one(seeded):
    [first, second] = _choices(seeded, WEDNESDAY, option="walk").json()["runs"][:2]
    kept, cancelled = _chat_booking(seeded, first["id"]).json(), _chat_booking(seeded, second["id"]).json()
    seeded.post(f"/api/bookings/{cancelled['code']}/cancel", json={"phone": "010-1234-5678"})
    mine = "/api/bookings?channel=telegram&channel_user_id=42"
    assert len(seeded.get(mine, headers=SERVICE_HEADERS).json()) == 2
    confirmed = seeded.get(f"{mine}&status=confirmed", headers=SERVICE_HEADERS).json()
    assert [b["code"] for b in confirmed] == [kept["code"]]
