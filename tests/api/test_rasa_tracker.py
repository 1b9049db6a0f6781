"""Retention in Rasa's SQL tracker store, on the table Rasa's SQLTrackerStore creates (SQLite and PostgreSQL)."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from api.conversations import rasa_tracker
from tests.support.postgres import temporary_database

NOW = datetime(2027, 3, 3, 18, 0, tzinfo=UTC)
DELETE_BEFORE = NOW - timedelta(days=180)
BLANK_BEFORE = NOW - timedelta(days=90)
# rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent
RASA_EVENTS = """
CREATE TABLE events (
    id {id} PRIMARY KEY,
    sender_id VARCHAR(255) NOT NULL,
    type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT,
    intent_name VARCHAR(255),
    action_name VARCHAR(255),
    data TEXT
)"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
        _create(url, "INTEGER")
        yield url
        return
    with temporary_database() as url:
        _create(url, "SERIAL")
        yield url


def _create(url: str, id_type: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(RASA_EVENTS.format(id=id_type)))
        connection.execute(text("CREATE INDEX ix_events_sender_id ON events (sender_id)"))
    engine.dispose()


def _events(url: str, sender_id: str, *events: tuple[datetime, dict]) -> None:
    """Rows as SQLTrackerStore.save writes them: the event's as_dict() as JSON, its type and Unix timestamp."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for at, data in events:
            data = {**data, "timestamp": at.timestamp()}
            connection.execute(
                text(
                    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                    "VALUES (:sender, :type, :at, :intent, :action, :data)"
                ),
                {
                    "sender": sender_id,
                    "type": data["event"],
                    "at": data["timestamp"],
                    "intent": data.get("parse_data", {}).get("intent", {}).get("name"),
                    "action": data.get("name"),
                    "data": json.dumps(data),
                },
            )
    engine.dispose()


def _stored(url: str, sender_id: str) -> list[dict]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"), {"sender": sender_id}
        )
        found = [json.loads(row.data) for row in rows]
    engine.dispose()
    return found


def session_started() -> dict:
    return {"event": "session_started"}


def user(said: str, *entities: dict, intent: str = "inform") -> dict:
    return {
        "event": "user",
        "text": said,
        "parse_data": {"intent": {"name": intent, "confidence": 0.98}, "entities": list(entities), "text": said},
        "input_channel": "rest",
        "message_id": "5f0c2a1e9b7d4c3a8e6f0123456789ab",
        "metadata": {"channel": "telegram"},
    }


def slot(name: str, value) -> dict:
    return {"event": "slot", "name": name, "value": value}


def bot(said: str) -> dict:
    return {"event": "bot", "text": said, "data": {"buttons": []}, "metadata": {"utter_action": "utter_x"}}


def test_conversations_silent_past_the_transcript_period_are_deleted_but_a_live_session_is_never_cut(store):
    long_ago, recently = NOW - timedelta(days=200), NOW - timedelta(days=2)
    _events(store, "telegram:1", (long_ago, session_started()), (long_ago, user("안녕")), (long_ago, bot("안녕하세요")))
    # An earlier session of a citizen who still writes goes; the current one stays whole, old start and all,
    # because Rasa appends after as many rows as the current session has.
    _events(
        store,
        "telegram:2",
        (long_ago, session_started()),
        (long_ago, user("예전 얘기")),
        (long_ago + timedelta(days=1), session_started()),
        (long_ago + timedelta(days=1), user("오래 이어진 대화")),
        (recently, user("오늘 얘기")),
    )
    _events(store, "web:3", (recently, session_started()), (recently, user("새 대화")))

    counts = rasa_tracker.apply_retention(store, DELETE_BEFORE, BLANK_BEFORE)

    assert counts["tracker_events_deleted"] == 5
    assert _stored(store, "telegram:1") == []
    assert [e.get("text") for e in _stored(store, "telegram:2")] == [None, "오래 이어진 대화", "오늘 얘기"]
    assert len(_stored(store, "web:3")) == 2
    assert rasa_tracker.apply_retention(store, DELETE_BEFORE, BLANK_BEFORE)["tracker_events_deleted"] == 0


def test_names_phones_and_codes_are_blanked_in_events_older_than_the_booking_period(store):
    said_at, lately = NOW - timedelta(days=91), NOW - timedelta(days=89)
    phone = {"entity": "phone", "value": "010-2345-6789", "resolved": "01023456789"}
    _events(
        store,
        "telegram:42",
        (said_at, session_started()),
        (said_at, user("김민수입니다")),
        (said_at, slot("booker_name", "김민수")),
        (said_at, user("010-2345-6789", phone)),
        (said_at, slot("booker_phone", "01023456789")),
        (said_at, bot("예약 내용을 확인해 주세요.\n• 예약자: 김민수 / 010-****-6789\n문의: 031-940-4114")),
        (said_at, user("482913")),
        (said_at, slot("link_code", "482913")),
        (said_at, slot("link_code", "ok")),
        (said_at, slot("run_id", "17")),
        (said_at, user("다음주 토요일 어른 2명", intent="book_tour")),
        (lately, user("제 번호는 010-9876-5432예요")),
    )

    counts = rasa_tracker.apply_retention(store, DELETE_BEFORE, BLANK_BEFORE)

    events = _stored(store, "telegram:42")
    assert counts == {"tracker_events_deleted": 0, "tracker_events_blanked": 8}
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {"booker_name": None, "booker_phone": None, "link_code": None, "run_id": "17"}
    texts = [e["text"] for e in events if e["event"] in ("user", "bot")]
    assert texts == [
        "***입니다",
        "***-****-****",
        "예약 내용을 확인해 주세요.\n• 예약자: *** / ***-****-****\n문의: 031-940-4114",  # the city's own number stays
        "******",
        "다음주 토요일 어른 2명",
        "제 번호는 010-9876-5432예요",  # said 89 days ago: kept for now
    ]
    parsed = events[3]["parse_data"]
    assert parsed["text"] == "***-****-****" and parsed["entities"][0] | {"entity": "phone"} == {
        "entity": "phone",
        "value": "***-****-****",
        "resolved": "***********",
    }
    assert (
        events[3]["message_id"] == "5f0c2a1e9b7d4c3a8e6f0123456789ab" and events[3]["timestamp"] == said_at.timestamp()
    )
    assert rasa_tracker.apply_retention(store, DELETE_BEFORE, BLANK_BEFORE)["tracker_events_blanked"] == 0


def test_only_events_since_the_given_moment_are_read_again(store):
    said_at = NOW - timedelta(days=120)
    _events(store, "telegram:42", (said_at, user("010-2345-6789")))
    since = NOW - timedelta(days=100)
    assert rasa_tracker.apply_retention(store, DELETE_BEFORE, BLANK_BEFORE, since)["tracker_events_blanked"] == 0
    assert rasa_tracker.apply_retention(store, DELETE_BEFORE, BLANK_BEFORE)["tracker_events_blanked"] == 1


def test_a_tracker_store_rasa_has_not_created_is_left_alone(tmp_path):
    missing = tmp_path / "rasa_tracker.db"
    counts = rasa_tracker.apply_retention(f"sqlite:///{missing}", DELETE_BEFORE, BLANK_BEFORE)
    assert counts == {"tracker_events_deleted": 0, "tracker_events_blanked": 0}
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    create_engine(f"sqlite:///{empty}").connect().close()
    assert (
        rasa_tracker.apply_retention(f"sqlite:///{empty}", DELETE_BEFORE, BLANK_BEFORE)["tracker_events_deleted"] == 0
    )
