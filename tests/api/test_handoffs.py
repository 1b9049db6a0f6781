"""Handoff queue rules: office hours, queue places and waits, claims (also racing), transfer, close, cancel, start."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.conversations import handoffs
from api.conversations.handoffs import OfficeHours
from api.conversations.models import Conversation, Handoff, Message, OutboxMessage
from api.conversations.service import get_or_create_conversation
from api.core.database import make_engine, make_sessionmaker
from api.core.errors import InvalidInput
from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from api.staff.models import StaffUser
from api.staff.permissions import TRANSCRIPTS_READ, PermissionDenied
from api.staff.service import create_user
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS, SERVICE_TOKEN
from tests.support.postgres import temporary_database

HOURS = OfficeHours()
# Wednesday 2026-12-02, in Seoul.
WEDNESDAY_10 = datetime(2026, 12, 2, 10, 0, tzinfo=SEOUL)
PASSWORD = "correct horse battery"


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def session(sessions):
    with sessions() as session:
        yield session


def _staff(session, name="이담당", email=None, role="staff", permissions=()) -> StaffUser:
    count = session.scalar(select(func.count()).select_from(StaffUser))
    return create_user(session, email or f"staff{count}@paju.go.kr", name, PASSWORD, role, permissions)


def _request(session, user="111", department=None, now=WEDNESDAY_10, channel="telegram", reason="request_human"):
    return handoffs.request(session, channel, user, reason, department, HOURS, 5, now)


# --- office hours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "is_open", "next_opening"),
    [
        # A Wednesday morning: open.
        (datetime(2026, 12, 2, 10, 0), True, datetime(2026, 12, 3, 9, 0)),
        # Opening and closing minutes: 09:00 is open, 18:00 is closed.
        (datetime(2026, 12, 2, 9, 0), True, datetime(2026, 12, 3, 9, 0)),
        (datetime(2026, 12, 2, 18, 0), False, datetime(2026, 12, 3, 9, 0)),
        # Early morning: it opens today.
        (datetime(2026, 12, 2, 7, 30), False, datetime(2026, 12, 2, 9, 0)),
        # A Friday evening and a Saturday: next Monday.
        (datetime(2026, 12, 4, 20, 0), False, datetime(2026, 12, 7, 9, 0)),
        (datetime(2026, 12, 5, 11, 0), False, datetime(2026, 12, 7, 9, 0)),
        # Christmas Day, a Friday: closed at noon, open again on Monday.
        (datetime(2026, 12, 25, 12, 0), False, datetime(2026, 12, 28, 9, 0)),
        # The last minute of a Friday is open; its evening waits for Monday.
        (datetime(2026, 12, 4, 17, 59), True, datetime(2026, 12, 7, 9, 0)),
        # Seollal 2027 (Saturday 6 to Tuesday 9 February, a substitute day included): from Friday evening to Wednesday.
        (datetime(2027, 2, 5, 18, 30), False, datetime(2027, 2, 10, 9, 0)),
        (datetime(2027, 2, 9, 10, 0), False, datetime(2027, 2, 10, 9, 0)),
        # Chuseok: Thursday to Saturday, so Monday.
        (datetime(2026, 9, 23, 19, 0), False, datetime(2026, 9, 28, 9, 0)),
    ],
)
def test_office_hours_are_weekdays_nine_to_six_in_seoul_without_public_holidays(at, is_open, next_opening):
    at = at.replace(tzinfo=SEOUL)
    assert HOURS.is_open(at) is is_open
    assert HOURS.next_opening(at) == next_opening.replace(tzinfo=SEOUL)


def test_office_hours_read_utc_times_in_seoul_time():
    # 00:30 UTC is 09:30 in Seoul.
    utc = datetime.fromisoformat("2026-12-02T00:30:00+00:00")
    assert HOURS.is_open(utc)
    assert not HOURS.is_open(utc - timedelta(hours=1))


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 2, 17),  # Seollal
        date(2027, 2, 9),  # Seollal's substitute holiday (Seollal fell on a Sunday)
        date(2028, 1, 27),  # Seollal
        date(2028, 4, 12),  # the National Assembly election
        date(2028, 10, 5),  # Chuseok's substitute holiday (Chuseok and National Foundation Day on one day)
        date(2031, 10, 1),  # Chuseok, years past any hand-written list
        date(2041, 1, 1),
    ],
)
def test_office_hours_follow_korean_public_holidays_in_any_year(day):
    assert day.weekday() < 5
    assert not HOURS.is_working_day(day)
    assert not HOURS.is_open(datetime.combine(day, time(10, 0), SEOUL))


def test_the_day_after_chuseok_2028_the_office_opens_again_at_nine():
    # Chuseok 2028 runs Monday 2 to Thursday 5 October (3 October is also National Foundation Day).
    assert HOURS.next_opening(datetime(2028, 9, 29, 18, 30, tzinfo=SEOUL)) == datetime(2028, 10, 6, 9, 0, tzinfo=SEOUL)


def test_holidays_are_named_in_the_citizens_language():
    assert HOURS.holidays.name(date(2027, 9, 15), "ko") == "추석"
    assert HOURS.holidays.name(date(2027, 9, 15), "en") == "Chuseok"
    assert HOURS.holidays.name(date(2027, 9, 17)) is None


def test_settings_add_the_citys_own_days_off_and_change_the_hours():
    configured = OfficeHours.from_settings(
        Settings(
            office_opens=time(10, 0),
            office_closes=time(16, 0),
            office_weekdays=[0, 1, 2, 3, 4, 5],
            public_holidays=[date(2026, 12, 2)],
        )
    )
    assert not configured.is_open(WEDNESDAY_10)  # the city's temporary holiday
    assert configured.holidays.name(date(2026, 12, 2), "ko") == "임시공휴일"
    assert not configured.is_open(datetime(2026, 12, 25, 12, 0, tzinfo=SEOUL))  # Christmas stays a holiday
    assert configured.is_open(datetime(2026, 12, 5, 12, 0, tzinfo=SEOUL))  # Saturdays configured as open
    assert not configured.is_open(datetime(2026, 12, 3, 9, 30, tzinfo=SEOUL))  # before 10:00


# --- requesting a person --------------------------------------------------------------------------


def test_the_departments_are_listed_in_both_languages_with_the_one_a_request_goes_to_by_default(client):
    departments = client.get("/api/conversations/departments", headers={"Accept-Language": "en", **SERVICE_HEADERS})
    assert departments.json()[1] == {
        "code": "civil_affairs",
        "name": "Civil affairs",
        "name_ko": "민원",
        "name_en": "Civil affairs",
        "default": True,
    }
    assert [d["default"] for d in departments.json()].count(True) == 1


def test_a_request_hands_the_conversation_to_staff_and_queues_it_in_its_department(session):
    ticket = _request(session, department="tourism")
    conversation = session.get(Conversation, ticket.handoff.conversation_id)
    assert conversation.mode == "human"
    assert (ticket.handoff.status, ticket.handoff.department, ticket.waiting_ahead) == ("waiting", "tourism", 0)
    assert _request(session, user="222", department="tourism").waiting_ahead == 1
    # Another department has its own queue.
    assert _request(session, user="333", department="open_data").waiting_ahead == 0
    # Without a guess it goes to civil affairs.
    assert _request(session, user="444").handoff.department == "civil_affairs"


def test_a_second_request_while_waiting_is_the_same_request(session):
    first = _request(session)
    again = _request(session, department="tourism")
    assert again.handoff.id == first.handoff.id
    assert again.handoff.department == "civil_affairs"
    assert session.scalar(select(Handoff.id).where(Handoff.id != first.handoff.id)) is None


def test_inside_office_hours_the_citizen_hears_the_expected_wait_of_five_minutes_per_person(session):
    for user in ("1", "2"):
        _request(session, user=user)
    ticket = _request(session, user="3")
    assert (ticket.office_open, ticket.waiting_ahead, ticket.expected_wait_minutes) == (True, 2, 15)
    assert ticket.next_opening is None


def test_outside_office_hours_the_citizen_hears_when_the_office_opens(session):
    friday_evening = datetime(2026, 12, 4, 19, 0, tzinfo=SEOUL)
    ticket = _request(session, now=friday_evening)
    assert ticket.office_open is False
    assert ticket.expected_wait_minutes is None
    assert ticket.next_opening == datetime(2026, 12, 7, 9, 0, tzinfo=SEOUL)
    assert ticket.handoff.status == "waiting"  # the message is left for the next working day


def test_the_expected_wait_follows_the_median_of_recent_claims_per_person_ahead(session):
    staff = _staff(session)
    # Three claims: 2 minutes with nobody ahead, 8 minutes with one ahead (4 per person), 3 minutes alone.
    for user, ahead, minutes in (("a", 0, 2), ("b", 1, 8), ("c", 0, 3)):
        queued = WEDNESDAY_10 - timedelta(hours=1)
        handoff = _request(session, user=user, now=queued).handoff
        handoff.ahead_when_queued = ahead
        session.commit()
        handoffs.claim(session, handoff.id, staff, now=queued + timedelta(minutes=minutes))
    ticket = _request(session, user="waiting-1")
    assert ticket.expected_wait_minutes == 3  # median of 2, 4, 3 per person, nobody ahead
    assert _request(session, user="waiting-2").expected_wait_minutes == 6


def test_the_request_route_answers_what_the_action_needs_to_tell_the_citizen(client):
    response = client.post(
        "/api/conversations/handoffs",
        json={"channel": "telegram", "channel_user_id": "555", "reason": "fallback", "department": "open_data"},
        headers=SERVICE_HEADERS,
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"waiting_ahead", "expected_wait_minutes", "office_open", "next_opening", "transcript_url"}
    assert (body["department"], body["reason"], body["status"]) == ("open_data", "fallback", "waiting")
    assert body["transcript_url"].startswith("/console/conversations/")
    recorded = client.post(
        "/api/conversations/messages",
        json={"channel": "telegram", "channel_user_id": "555", "channel_message_id": "9", "text": "여보세요"},
        headers=SERVICE_HEADERS,
    ).json()
    assert recorded["mode"] == "human"


def test_the_request_route_refuses_an_unknown_department(client):
    response = client.post(
        "/api/conversations/handoffs",
        json={"channel": "telegram", "channel_user_id": "555", "department": "police"},
        headers=SERVICE_HEADERS,
    )
    assert response.status_code == 422


def test_the_request_route_tells_the_next_opening_when_the_office_is_closed(database_url):
    # Opening and closing at the same minute: the office is never open.
    settings = Settings(
        database_url=database_url, service_token=SERVICE_TOKEN, office_opens=time(9), office_closes=time(9)
    )
    app = create_app(settings)
    with TestClient(app) as client:
        body = client.post(
            "/api/conversations/handoffs", json={"channel": "web", "channel_user_id": "w1"}, headers=SERVICE_HEADERS
        ).json()
    app.state.engine.dispose()
    assert body["office_open"] is False and body["expected_wait_minutes"] is None
    opening = datetime.fromisoformat(body["next_opening"]).astimezone(SEOUL)
    assert opening.time() == time(9) and opening > datetime.now(SEOUL)


def test_a_waiting_request_survives_a_restart_of_the_api(database_url):
    settings = Settings(database_url=database_url, service_token=SERVICE_TOKEN)
    first = create_app(settings)
    with TestClient(first) as client:
        client.post(
            "/api/conversations/handoffs", json={"channel": "web", "channel_user_id": "w1"}, headers=SERVICE_HEADERS
        )
    first.state.engine.dispose()
    second = create_app(settings)
    with second.state.sessionmaker() as session:
        [handoff] = handoffs.waiting_queue(session)
        assert handoff.conversation.channel_user_id == "w1"
    second.state.engine.dispose()


def test_two_requests_of_one_citizen_at_once_queue_one_handoff(sessions):
    barrier = threading.Barrier(8, timeout=10)

    def attempt(_):
        with sessions() as session:
            barrier.wait()
            return _request(session, user="same").handoff.id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(attempt, range(8)))
    assert len(ids) == 1


# --- cancelling -----------------------------------------------------------------------------------


def test_the_citizen_cancels_while_waiting_and_the_assistant_takes_over_afresh(session):
    handoff = _request(session).handoff
    cancelled = handoffs.cancel(session, "telegram", "111")
    assert (cancelled.id, cancelled.status) == (handoff.id, "cancelled")
    assert cancelled.closed_at is not None
    conversation = session.get(Conversation, handoff.conversation_id)
    assert (conversation.mode, conversation.bot_reset_pending) == ("bot", True)
    assert handoffs.waiting_queue(session) == []
    # Pressing cancel again changes nothing.
    assert handoffs.cancel(session, "telegram", "111").id == handoff.id


def test_the_cancel_route_cancels_and_refuses_once_staff_have_the_conversation(client):
    def cancel(user):
        return client.post(f"/api/conversations/telegram/{user}/handoff/cancel", headers=SERVICE_HEADERS)

    for user in ("c1", "c2"):
        client.post(
            "/api/conversations/handoffs",
            json={"channel": "telegram", "channel_user_id": user},
            headers=SERVICE_HEADERS,
        )
    response = cancel("c1")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    with client.app.state.sessionmaker() as session:
        staff = _staff(session)
        [waiting] = handoffs.waiting_queue(session)
        handoffs.claim(session, waiting.id, staff)
    claimed = cancel("c2")
    assert claimed.status_code == 409 and claimed.json()["code"] == "already_claimed"
    assert cancel("nobody").status_code == 404
    assert client.post("/api/conversations/telegram/c1/handoff/cancel").status_code == 401


def test_a_cancel_and_a_claim_at_the_same_moment_never_both_succeed(sessions):
    with sessions() as session:
        staff = _staff(session)
        handoff_ids = [_request(session, user=f"u{n}").handoff.id for n in range(6)]

    def cancel(n: int) -> str:
        with sessions() as session:
            try:
                return handoffs.cancel(session, "telegram", f"u{n}").status
            except handoffs.AlreadyClaimed:
                return "refused"

    def claim(handoff_id: int) -> str:
        with sessions() as session:
            try:
                return handoffs.claim(session, handoff_id, session.get(StaffUser, staff.id)).status
            except handoffs.HandoffNotOpen:
                return "refused"

    with ThreadPoolExecutor(max_workers=12) as pool:
        cancels = [pool.submit(cancel, n) for n in range(6)]
        claims = [pool.submit(claim, handoff_id) for handoff_id in handoff_ids]
        outcomes = [(c.result(), k.result()) for c, k in zip(cancels, claims, strict=True)]
    assert all(outcome in {("cancelled", "refused"), ("refused", "claimed")} for outcome in outcomes), outcomes


# --- claiming -------------------------------------------------------------------------------------


def test_a_claim_takes_a_waiting_request_and_a_second_claim_learns_who_has_it(session):
    first, second = _staff(session, "김하나"), _staff(session, "박두리")
    handoff = _request(session).handoff
    claimed = handoffs.claim(session, handoff.id, first)
    assert (claimed.status, claimed.claimed_by_id) == ("claimed", first.id)
    with pytest.raises(handoffs.AlreadyClaimed) as refused:
        handoffs.claim(session, handoff.id, second)
    assert refused.value.message("ko") == "이미 김하나 님이 맡은 대화예요."
    assert refused.value.message("en") == "Already claimed by 김하나."
    # Claiming one's own again is harmless.
    assert handoffs.claim(session, handoff.id, first).claimed_by_id == first.id


def _race_to_claim(sessions, handoff_id: int, staff_ids: list[int]) -> list[str]:
    barrier = threading.Barrier(len(staff_ids), timeout=20)

    def attempt(staff_id: int) -> str:
        with sessions() as session:
            user = session.get(StaffUser, staff_id)
            barrier.wait()
            try:
                handoffs.claim(session, handoff_id, user)
                return "claimed"
            except handoffs.AlreadyClaimed:
                return "already claimed"

    with ThreadPoolExecutor(max_workers=len(staff_ids)) as pool:
        return list(pool.map(attempt, staff_ids))


def _assert_one_claim_wins(sessions) -> None:
    with sessions() as session:
        handoff = _request(session).handoff
        staff_ids = [_staff(session, f"직원{n}", f"s{n}@paju.go.kr").id for n in range(8)]
    outcomes = _race_to_claim(sessions, handoff.id, staff_ids)
    assert sorted(outcomes) == ["already claimed"] * 7 + ["claimed"]
    with sessions() as session:
        stored = session.get(Handoff, handoff.id)
        assert stored.status == "claimed"
        assert stored.claimed_by_id == staff_ids[outcomes.index("claimed")]


def test_of_eight_staff_claiming_one_request_at_once_exactly_one_gets_it_on_sqlite(sessions):
    _assert_one_claim_wins(sessions)


@pytest.mark.postgres
def test_of_eight_staff_claiming_one_request_at_once_exactly_one_gets_it_on_postgres():
    with temporary_database() as url:
        upgrade(url)
        engine = make_engine(url)
        _assert_one_claim_wins(make_sessionmaker(engine))
        engine.dispose()


# --- transfer, reply, close -------------------------------------------------------------------------


def test_a_transfer_puts_the_request_back_in_another_departments_queue_in_its_place(session):
    staff = _staff(session)
    early = _request(session, user="early", now=WEDNESDAY_10 - timedelta(minutes=30)).handoff
    _request(session, user="later", department="tourism", now=WEDNESDAY_10 - timedelta(minutes=10))
    handoffs.claim(session, early.id, staff)
    moved = handoffs.transfer(session, early.id, staff, "tourism", now=WEDNESDAY_10)
    assert (moved.status, moved.department, moved.claimed_by_id, moved.claimed_at) == ("waiting", "tourism", None, None)
    assert handoffs.waiting_ahead(session, moved) == 0  # asked before the one already in that queue
    assert session.get(Conversation, moved.conversation_id).mode == "human"


def test_only_the_staff_member_who_has_it_or_an_admin_may_transfer_or_close(session):
    owner, other, admin = _staff(session, "김하나"), _staff(session, "박두리"), _staff(session, "관리자", role="admin")
    handoff = _request(session).handoff
    handoffs.claim(session, handoff.id, owner)
    with pytest.raises(handoffs.NotYourHandoff):
        handoffs.transfer(session, handoff.id, other, "tourism")
    with pytest.raises(handoffs.NotYourHandoff):
        handoffs.close(session, handoff.id, other, "처리함")
    with pytest.raises(handoffs.NotYourHandoff):
        handoffs.reply(session, handoff.conversation_id, other, "안녕하세요")
    assert handoffs.close(session, handoff.id, admin, "관리자가 종료").status == "closed"


def test_a_staff_reply_goes_through_the_outbox_into_the_citizens_chat(session):
    staff = _staff(session)
    handoff = _request(session).handoff
    with pytest.raises(handoffs.NotYourHandoff):
        handoffs.reply(session, handoff.conversation_id, staff, "먼저 맡아야 해요")
    handoffs.claim(session, handoff.id, staff)
    outbox = handoffs.reply(session, handoff.conversation_id, staff, "  안녕하세요, 파주시청입니다.  ")
    assert (outbox.kind, outbox.status) == ("staff_reply", "pending")
    message = session.get(Message, outbox.message_id)
    assert (message.direction, message.text, message.payload["staff_id"]) == (
        "out",
        "안녕하세요, 파주시청입니다.",
        staff.id,
    )
    with pytest.raises(InvalidInput):
        handoffs.reply(session, handoff.conversation_id, staff, "   ")


@pytest.mark.parametrize(("language", "expected"), [("en", "The assistant is back"), ("ko", "다시 챗봇이")])
def test_closing_hands_back_to_the_assistant_and_tells_the_citizen_in_their_language(session, language, expected):
    staff = _staff(session)
    handoff = _request(session).handoff
    conversation = session.get(Conversation, handoff.conversation_id)
    conversation.language = language
    session.commit()
    handoffs.claim(session, handoff.id, staff)
    with pytest.raises(InvalidInput):
        handoffs.close(session, handoff.id, staff, " ")
    closed = handoffs.close(session, handoff.id, staff, "예약 변경 안내함", now=WEDNESDAY_10)
    assert (closed.status, closed.outcome, closed.closed_at) == ("closed", "예약 변경 안내함", WEDNESDAY_10)
    session.refresh(conversation)
    assert (conversation.mode, conversation.bot_reset_pending) == ("bot", True)
    [outbox] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "handoff_closed")).all()
    assert expected in outbox.message.text
    with pytest.raises(handoffs.HandoffNotOpen):
        handoffs.close(session, handoff.id, staff, "또 종료")


# --- staff write first ------------------------------------------------------------------------------


def test_staff_can_start_a_conversation_and_the_citizens_answer_comes_back_to_them(client):
    client.post(
        "/api/conversations/messages",
        json={"channel": "telegram", "channel_user_id": "777", "channel_message_id": "1", "text": "예약 문의"},
        headers=SERVICE_HEADERS,
    )
    with client.app.state.sessionmaker() as session:
        staff = _staff(session, permissions=[TRANSCRIPTS_READ])
        conversation_id = handoffs.find_conversations(session, "telegram:777")[0].id
        handoff = handoffs.start(session, conversation_id, staff, "예약 관련해 연락드렸어요.", "tourism")
        assert (handoff.status, handoff.reason, handoff.claimed_by_id) == ("claimed", "staff_initiated", staff.id)
        [outbox] = session.scalars(select(OutboxMessage)).all()
        assert (outbox.kind, outbox.message.text) == ("staff_reply", "예약 관련해 연락드렸어요.")
    answer = client.post(
        "/api/conversations/messages",
        json={"channel": "telegram", "channel_user_id": "777", "channel_message_id": "2", "text": "네 말씀하세요"},
        headers=SERVICE_HEADERS,
    ).json()
    assert answer["mode"] == "human"
    with client.app.state.sessionmaker() as session:
        assert [m.text for m in handoffs.transcript(session, conversation_id)][-1] == "네 말씀하세요"
        assert handoffs.claimed_by(session, staff)[0].conversation_id == conversation_id


def test_starting_a_conversation_not_on_ones_desk_needs_transcripts_read_and_opens_nothing(session):
    staff = _staff(session)
    conversation = get_or_create_conversation(session, "telegram", "888")
    session.commit()
    with pytest.raises(PermissionDenied):
        handoffs.start(session, conversation.id, staff, "안녕하세요")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Handoff)) == 0
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_starting_a_conversation_someone_else_has_is_refused(session):
    owner, other = _staff(session, "김하나"), _staff(session, "박두리", permissions=[TRANSCRIPTS_READ])
    handoff = _request(session).handoff
    handoffs.claim(session, handoff.id, owner)
    with pytest.raises(handoffs.AlreadyClaimed):
        handoffs.start(session, handoff.conversation_id, other, "안녕하세요")


def test_starting_a_conversation_with_a_waiting_citizen_claims_their_request(session):
    staff = _staff(session)
    handoff = _request(session).handoff
    started = handoffs.start(session, handoff.conversation_id, staff, "기다려 주셔서 감사해요.")
    assert (started.id, started.status, started.claimed_by_id) == (handoff.id, "claimed", staff.id)
