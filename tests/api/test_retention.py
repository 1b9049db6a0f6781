"""The daily retention job: each kind of personal data goes when its own setting says, and the run log counts it."""

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from api.automation import scheduler
from api.conversations.models import Conversation, DepartmentCorrection, Handoff, Message
from api.conversations.service import get_or_create_conversation
from api.identity.models import PhoneLink, SmsMessage, VerificationCode
from api.knowledge.models import KnowledgeAsk
from api.notices.models import PersonalNotice
from api.tours import service as tours
from api.tours.models import Booking
from tests.api.test_rasa_tracker import RASA_EVENTS
from tests.api.tours_fixtures import NOW, WEDNESDAY, run_at, seed
from tests.support.postgres import BOTH_DATABASES, migrated_database

PHONE = "01023456789"
RETENTION = {"retention": scheduler.JOBS["retention"]}


@pytest.fixture(params=BOTH_DATABASES)
def database_url(request, tmp_path) -> Iterator[str]:
    yield from migrated_database(request.param, tmp_path)


@pytest.fixture
def sessions(client):
    maker = client.app.state.sessionmaker
    with maker() as session:
        seed(session)
    return maker


def _conversation(session, user: str, silent_days: int) -> Conversation:
    conversation = get_or_create_conversation(session, "telegram", user)
    conversation.last_message_at = NOW - timedelta(days=silent_days)
    session.flush()
    return conversation


def _code(conversation: Conversation, days: int, notice: PersonalNotice | None = None) -> VerificationCode:
    issued = NOW - timedelta(days=days)
    return VerificationCode(
        conversation_id=conversation.id,
        phone=PHONE,
        purpose="open_notice" if notice else "link_phone",
        personal_notice_id=notice.id if notice else None,
        salt="00",
        code_hash="0" * 64,
        created_at=issued,
        expires_at=issued + timedelta(minutes=5),
    )


def _notice(days: int) -> PersonalNotice:
    return PersonalNotice(
        phone=PHONE,
        recipient_name="김민수",
        department="세정과",
        title="환급 안내",
        body="본문",
        content_sha256="0" * 64,
        sent_at=NOW - timedelta(days=days),
    )


def _count(sessions, table, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where))


def _tracker_store(settings, *events: tuple[str, int, dict]) -> None:
    engine = create_engine(settings.tracker_store_url)
    with engine.begin() as connection:
        connection.execute(text(RASA_EVENTS.format(id="INTEGER")))
        for sender_id, days, data in events:
            at = (NOW - timedelta(days=days)).timestamp()
            connection.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :t, :at, :d)"),
                {"s": sender_id, "t": data["event"], "at": at, "d": json.dumps(data | {"timestamp": at})},
            )
    engine.dispose()


def test_each_kind_of_personal_data_goes_when_its_own_period_ends_and_the_run_log_counts_it(sessions, settings):
    assert (
        settings.sms_retention_days,
        settings.verification_code_retention_days,
        settings.phone_link_retention_days,
        settings.personal_notice_retention_days,
        settings.idempotency_key_retention_days,
        settings.booker_retention_days,
    ) == (30, 7, 365, 365, 1, 90)
    with sessions() as session:
        silent, active = _conversation(session, "1", silent_days=366), _conversation(session, "2", silent_days=364)
        session.add_all(
            [
                PhoneLink(phone=PHONE, conversation_id=silent.id),
                PhoneLink(phone="01099998888", conversation_id=active.id),
            ]
        )
        for days in (31, 29):
            session.add(
                SmsMessage(
                    phone=PHONE, text="[파주시] 인증번호 ******", sender="log", created_at=NOW - timedelta(days=days)
                )
            )
        old_notice, kept_notice = _notice(366), _notice(364)
        session.add_all([old_notice, kept_notice])
        session.flush()
        # The old notice's own code is a day old: it goes with its notice, not by its age.
        session.add_all(
            [_code(active, 8), _code(active, 6), _code(active, 1, old_notice), _code(active, 1, kept_notice)]
        )
        for days, direction, said in (
            (91, "in", "제 번호는 010-2345-6789예요"),
            (89, "in", "010-9876-5432로 연락 주세요"),
            (91, "in", "감사합니다"),
            (91, "out", "010-****-6789로 인증번호를 보냈어요. 문의: 031-940-4114"),
        ):
            session.add(
                Message(
                    conversation_id=active.id, direction=direction, text=said, created_at=NOW - timedelta(days=days)
                )
            )
        for days in (181, 179):
            asked = NOW - timedelta(days=days)
            session.add(KnowledgeAsk(asked_at=asked, language="ko", question="여권", answered=True, score=0.9))
            conversation = _conversation(session, f"routed-{days}", silent_days=days)
            handoff = Handoff(
                conversation_id=conversation.id,
                status="closed",
                reason="request_human",
                routed_text="임진각 단체 방문",
                requested_at=asked,
                queued_at=asked,
            )
            session.add(handoff)
            session.flush()
            session.add(
                DepartmentCorrection(
                    conversation_id=conversation.id,
                    handoff_id=handoff.id,
                    from_department="tourism",
                    to_department="open_data",
                    text="임진각 단체 방문",
                    created_at=asked,
                )
            )
        run = run_at(session, WEDNESDAY, 9, 20)
        for key in ("double-tap-1", "double-tap-2"):
            tours.book(session, run.id, {"adult": 1}, tours.Booker("김민수", PHONE, None, None), key, now=NOW)
        session.scalar(select(Booking).where(Booking.idempotency_key == "double-tap-1")).created_at = NOW - timedelta(
            days=1, seconds=1
        )
        session.commit()
    _tracker_store(
        settings,
        ("telegram:1", 181, {"event": "user", "text": "안녕"}),
        ("telegram:2", 91, {"event": "slot", "name": "booker_phone", "value": PHONE}),
    )

    (log,) = scheduler.run_due(sessions, NOW, settings=settings, jobs=RETENTION)

    assert log.status == "succeeded"
    assert log.counts == {
        "messages_deleted": 0,
        "message_phones_erased": 2,
        "bookers_erased": 0,
        "idempotency_keys_cleared": 1,
        "sms_records_deleted": 1,
        "codes_deleted": 1,  # the 8-day-old one; the old notice's code goes with it, uncounted
        "phone_links_removed": 1,
        "personal_notices_deleted": 1,
        "knowledge_questions_deleted": 1,  # the 181-day-old one, as old as transcripts are kept
        "routed_texts_forgotten": 1,  # the words routed for the 181-day-old handoff, with the transcript
        "department_corrections_deleted": 1,
        "tracker_events_deleted": 1,
        "tracker_events_blanked": 1,
    }
    with sessions() as session:
        assert session.scalar(select(PhoneLink.conversation_id)) == active.id
        assert [n.id for n in session.scalars(select(PersonalNotice))] == [kept_notice.id]
        assert session.scalar(select(func.count()).select_from(VerificationCode)) == 2
        assert set(session.scalars(select(Booking.idempotency_key))) == {None, "double-tap-2"}
        assert len(session.scalars(select(KnowledgeAsk)).all()) == 1
        assert sorted(session.scalars(select(Handoff.routed_text)), key=str) == [None, "임진각 단체 방문"]
        assert len(session.scalars(select(DepartmentCorrection)).all()) == 1
        texts = set(session.scalars(select(Message.text)))
        assert texts == {
            "제 번호는 ***-****-****예요",
            "010-9876-5432로 연락 주세요",  # 89 days old: kept for now
            "감사합니다",
            "***-****-****로 인증번호를 보냈어요. 문의: 031-940-4114",  # the city's own number stays
        }

    later = scheduler.run_now(sessions, "retention", NOW + timedelta(minutes=1), settings=settings)
    assert set(later.counts.values()) == {0}


def test_the_period_the_booking_consent_shows_is_the_one_the_job_applies(client, sessions, settings):
    settings = settings.model_copy(update={"booker_retention_days": 30})
    client.app.state.settings = settings
    assert client.get("/api/tours/dmz-peace").json()["booker_retention_days"] == 30
    with sessions() as session:
        run = run_at(session, WEDNESDAY, 9, 20)
        tours.book(session, run.id, {"adult": 2}, tours.Booker("김민수", PHONE, None, None), now=NOW)

    def erased_on(day: date) -> int:
        at = datetime(day.year, day.month, day.day, 3, 0, tzinfo=NOW.tzinfo)
        return scheduler.run_now(sessions, "retention", at, settings=settings).counts["bookers_erased"]

    assert erased_on(WEDNESDAY + timedelta(days=30)) == 0  # the 30th day after the tour: still kept
    assert erased_on(WEDNESDAY + timedelta(days=31)) == 1
    assert _count(sessions, Booking, Booking.booker_phone.is_not(None)) == 0
