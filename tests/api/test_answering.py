"""Each citizen's message is answered once: its status, retries of it, and the sweep of the ones nobody answered."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.automation import scheduler
from api.automation.jobs import JOBS
from api.conversations.models import Conversation, Message, OutboxMessage
from api.conversations.service import sweep_unanswered
from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from common.clock import utcnow
from tests.api.conftest import SERVICE_HEADERS, SERVICE_TOKEN
from tests.support.postgres import temporary_database

GRACE = timedelta(minutes=2)
LEASE = 30  # seconds a delivery holds a message by default


def _incoming(client, message_id="m-1", text="DMZ 투어 예약하고 싶어요", user="citizen-1", channel="telegram", **extra):
    response = client.post(
        "/api/conversations/messages",
        json={"channel": channel, "channel_user_id": user, "channel_message_id": message_id, "text": text, **extra},
        headers=SERVICE_HEADERS,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def _reply(client, message_id: int, *texts: str, answered: bool = True) -> None:
    response = client.post(
        f"/api/conversations/messages/{message_id}/replies",
        json={"replies": [{"text": text} for text in texts], "answered": answered},
        headers=SERVICE_HEADERS,
    )
    assert response.status_code == 201, response.text


def _transcript(client, user="citizen-1", channel="telegram") -> list[dict]:
    response = client.get(f"/api/conversations/{channel}/{user}/messages", headers=SERVICE_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


def _status(client, user="citizen-1") -> str:
    return next(m["status"] for m in _transcript(client, user) if m["direction"] == "in")


def _later(seconds: float):
    """The clock moved on: a retry or a sweep that comes this long after now."""
    return time_machine.travel(utcnow() + timedelta(seconds=seconds), tick=False)


def _sweep(client, at):
    with client.app.state.sessionmaker() as session:
        told = [(m.id, m.conversation.channel_user_id) for m in sweep_unanswered(session, at, GRACE)]
        session.commit()
    return told


def _unanswered_notes(client) -> list[tuple[str, str, str]]:
    with client.app.state.sessionmaker() as session:
        rows = session.execute(
            select(Conversation.channel_user_id, OutboxMessage.status, Message.text)
            .join(Conversation, Conversation.id == OutboxMessage.conversation_id)
            .join(Message, Message.id == OutboxMessage.message_id)
            .where(OutboxMessage.kind == "unanswered")
            .order_by(OutboxMessage.id)
        )
        return [tuple(row) for row in rows]


# --- status ------------------------------------------------------------------------------------


def test_a_message_is_received_until_its_replies_are_recorded_and_then_it_is_answered(client):
    recorded = _incoming(client)
    assert (recorded["duplicate"], recorded["retry"]) == (False, False)
    assert _status(client) == "received"

    _reply(client, recorded["message_id"], "언제 방문하실 건가요?")
    assert _status(client) == "answered"


def test_a_retry_while_the_first_delivery_is_still_answering_is_a_duplicate_that_leaves_the_answer_to_it(client):
    _incoming(client)
    again = _incoming(client)
    assert (again["duplicate"], again["in_progress"], again["replies"]) == (True, True, [])


def test_a_retry_after_the_first_delivery_stopped_holding_the_message_is_processed_again(client):
    first = _incoming(client)
    with _later(LEASE + 1):  # the gateway answering it died: nobody extended its hold
        again = _incoming(client)
    assert again["message_id"] == first["message_id"]
    assert (again["duplicate"], again["retry"], again["in_progress"], again["replies"]) == (False, True, False, [])
    assert [m["direction"] for m in _transcript(client)] == ["in"], "stored once"

    _reply(client, again["message_id"], "언제 방문하실 건가요?")
    assert _status(client) == "answered"


def test_the_callers_own_retry_of_a_request_that_timed_out_goes_through_at_once(client):
    _incoming(client, delivery_id="delivery-1")
    assert _incoming(client, delivery_id="delivery-1")["retry"] is True
    assert _incoming(client, delivery_id="delivery-2")["in_progress"] is True


def test_a_slow_answer_keeps_extending_its_hold_so_nobody_takes_the_message_over(client):
    first = _incoming(client)
    with _later(LEASE - 5):
        response = client.post(
            f"/api/conversations/messages/{first['message_id']}/lease",
            json={"lease_seconds": LEASE},
            headers=SERVICE_HEADERS,
        )
        assert response.status_code == 204, response.text
    with _later(LEASE + 5):
        assert _incoming(client)["in_progress"] is True
    with _later(2 * LEASE):
        assert _incoming(client)["retry"] is True


def test_a_retry_of_an_answered_message_gets_the_recorded_replies_and_is_not_processed_again(client):
    first = _incoming(client)
    _reply(client, first["message_id"], "언제 방문하실 건가요?", "달력에서 골라 주세요")
    again = _incoming(client)
    assert (again["duplicate"], again["retry"]) == (True, False)
    assert [r["text"] for r in again["replies"]] == ["언제 방문하실 건가요?", "달력에서 골라 주세요"]


def test_an_apology_that_the_assistant_is_down_leaves_the_message_to_be_answered_by_a_retry(client):
    first = _incoming(client)
    _reply(client, first["message_id"], "죄송해요, 지금 상담봇이 잠시 응답하지 못하고 있어요.", answered=False)
    assert _status(client) == "unanswered"

    again = _incoming(client)  # at once: the apology let go of the message
    assert (again["duplicate"], again["retry"]) == (False, True)
    _reply(client, again["message_id"], "언제 방문하실 건가요?")
    assert _status(client) == "answered"
    assert _incoming(client)["duplicate"] is True


def test_a_late_apology_does_not_undo_an_answer(client):
    first = _incoming(client)
    _reply(client, first["message_id"], "언제 방문하실 건가요?")
    _reply(client, first["message_id"], "죄송해요, 지금 상담봇이 잠시 응답하지 못하고 있어요.", answered=False)
    assert _status(client) == "answered"


def test_a_retried_button_press_is_checked_against_the_buttons_offered_like_the_first_delivery(client):
    greeting = _incoming(client, "m-1", "안녕")
    client.post(
        f"/api/conversations/messages/{greeting['message_id']}/replies",
        json={"replies": [{"text": "메뉴", "buttons": [{"title": "도움말", "payload": "/help"}]}]},
        headers=SERVICE_HEADERS,
    )
    pressed = _incoming(client, "m-2", "도움말", payload={"button": "/help"})
    with _later(LEASE + 1):
        again = _incoming(client, "m-2", "도움말", payload={"button": "/help"})
    assert again["retry"] is True
    assert (
        (again["button_offered"], again["button"]) == (pressed["button_offered"], pressed["button"]) == (True, "/help")
    )


# --- the sweep ----------------------------------------------------------------------------------


def test_a_message_nobody_answered_within_the_grace_period_gets_one_note_in_the_citizens_language(client):
    recorded = _incoming(client, language="ko")
    _incoming(client, "e-1", "I want to book the DMZ tour", user="visitor-1", language="en")
    lapsed = utcnow() + timedelta(seconds=LEASE)

    assert _sweep(client, lapsed + GRACE - timedelta(seconds=5)) == [], "still within the grace period"
    told = _sweep(client, lapsed + GRACE + timedelta(seconds=5))
    assert sorted(user for _, user in told) == ["citizen-1", "visitor-1"]
    assert _status(client) == "unanswered"
    notes = dict((user, (status, text)) for user, status, text in _unanswered_notes(client))
    assert notes["citizen-1"] == (
        "pending",
        "죄송해요, 보내신 메시지(“DMZ 투어 예약하고 싶어요”)에 상담봇이 답하지 못했어요. 다시 한번 보내 주세요.",
    )
    assert notes["visitor-1"][1] == (
        'Sorry, the assistant could not answer your message ("I want to book the DMZ tour"). Please send it again.'
    )

    assert _sweep(client, lapsed + GRACE * 3) == [], "each message is swept once"
    assert len(_unanswered_notes(client)) == 2
    assert recorded["message_id"] in [message_id for message_id, _ in told]


def test_the_sweep_leaves_answered_messages_and_those_waiting_for_a_person_alone(client):
    answered = _incoming(client, user="citizen-1")
    _reply(client, answered["message_id"], "언제 방문하실 건가요?")
    _incoming(client, user="citizen-2")
    handoff = client.post(
        "/api/conversations/handoffs",
        json={"channel": "telegram", "channel_user_id": "citizen-2"},
        headers=SERVICE_HEADERS,
    )
    assert handoff.status_code == 201, handoff.text

    assert _sweep(client, utcnow() + timedelta(seconds=LEASE) + GRACE * 2) == []
    assert _unanswered_notes(client) == []


def test_a_message_still_being_answered_or_retried_is_not_swept(client):
    _incoming(client)
    start = utcnow()
    with _later(LEASE + 60):
        assert _incoming(client)["retry"] is True  # a channel retried it: it is being answered again
    assert _sweep(client, start + timedelta(seconds=LEASE) + GRACE + timedelta(seconds=5)) == []
    assert len(_sweep(client, start + timedelta(seconds=2 * LEASE + 60) + GRACE + timedelta(seconds=5))) == 1


def test_a_message_the_citizen_was_told_about_is_still_answered_when_they_retry_it(client):
    _incoming(client)
    assert len(_sweep(client, utcnow() + timedelta(seconds=LEASE) + GRACE * 2)) == 1
    again = _incoming(client)
    assert (again["duplicate"], again["retry"]) == (False, True)
    _reply(client, again["message_id"], "언제 방문하실 건가요?")
    assert _status(client) == "answered"


def test_messages_older_than_a_day_are_not_swept_up(client):
    _incoming(client)
    assert _sweep(client, utcnow() + timedelta(days=1, minutes=1)) == []


def test_the_unanswered_job_sweeps_with_the_grace_period_of_the_settings(client, settings):
    _incoming(client)
    sessions = client.app.state.sessionmaker
    jobs = {"unanswered": JOBS["unanswered"]}
    early = scheduler.run_now(sessions, "unanswered", utcnow() + timedelta(minutes=1), settings=settings, jobs=jobs)
    assert early.counts == {"told": 0}
    later = utcnow() + timedelta(seconds=LEASE, minutes=settings.unanswered_grace_minutes + 1)
    run = scheduler.run_now(sessions, "unanswered", later, settings=settings, jobs=jobs)
    assert (run.status, run.counts) == ("succeeded", {"told": 1})
    assert [user for user, _, _ in _unanswered_notes(client)] == ["citizen-1"]


def _retry_concurrently(database_url: str) -> list[dict]:
    upgrade(database_url)
    app = create_app(Settings(database_url=database_url, service_token=SERVICE_TOKEN))
    with TestClient(app) as client:
        _incoming(client)
        with _later(LEASE + 1), ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda n: _incoming(client, delivery_id=f"gateway-{n}"), range(16)))
    app.state.engine.dispose()
    return results


def test_of_sixteen_retries_at_once_after_the_hold_lapsed_one_answers_on_sqlite(tmp_path):
    results = _retry_concurrently(f"sqlite:///{tmp_path / 'paju.db'}")
    assert sum(r["retry"] for r in results) == 1
    assert sum(r["in_progress"] for r in results) == 15


@pytest.mark.postgres
def test_of_sixteen_retries_at_once_after_the_hold_lapsed_one_answers_on_postgres():
    with temporary_database() as url:
        results = _retry_concurrently(url)
    assert sum(r["retry"] for r in results) == 1
    assert sum(r["in_progress"] for r in results) == 15
