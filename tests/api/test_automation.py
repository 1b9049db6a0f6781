"""The scheduler and its jobs, driven by `run_due` with a controlled clock."""

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from api.automation import scheduler
from api.automation.models import JobRun
from api.automation.schedule import Daily, Every, Job
from api.conversations.models import Message, OutboxMessage
from api.conversations.service import get_or_create_conversation
from api.core.database import make_engine, make_sessionmaker
from api.core.migrate import upgrade
from api.core.settings import Settings
from api.notices.models import PersonalNotice
from api.opendata import service as opendata
from api.opendata.seed import SEED_DIR, seed_opendata
from api.staff.models import AuditEntry
from api.staff.service import create_user
from api.tours import service as tours
from api.tours.models import Booking, WaitlistEntry
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS
from tests.api.tours_fixtures import NOW, WEDNESDAY, leave_seats, run_at, seed
from tests.support.postgres import temporary_database

TEN = datetime(2026, 12, 1, 10, 0, tzinfo=SEOUL)


@pytest.fixture
def sessions(client):
    maker = client.app.state.sessionmaker
    with maker() as session:
        seed(session)
    return maker


def _counting_job(calls: list, fail_times: int = 0, schedule=None) -> dict[str, Job]:
    def work(ctx):
        calls.append(ctx.due_at)
        if len(calls) <= fail_times:
            raise RuntimeError("the mailing office is closed")
        return {"done": 1}

    return {"count": Job("count", "세기", schedule or Daily(time(10, 0)), work)}


def _runs(sessions, job: str | None = None) -> list[JobRun]:
    with sessions() as session:
        return list(reversed(scheduler.recent_runs(session, job)))


def _outbox(sessions, prefix: str) -> list[OutboxMessage]:
    with sessions() as session:
        found = session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(prefix)).order_by(OutboxMessage.id)
        )
        return [(o.dedupe_key, o.conversation_id, o.message.text, o.message.payload) for o in found]


# --- the runner ---------------------------------------------------------------------------------


def test_schedules_are_due_at_their_time_in_seoul():
    assert Daily(time(10, 0)).latest(TEN + timedelta(minutes=5)) == TEN
    assert Daily(time(10, 0)).latest(TEN - timedelta(seconds=1)) == TEN - timedelta(days=1)
    assert Every(5).latest(datetime(2026, 12, 1, 3, 7, 30, tzinfo=UTC)) == datetime(2026, 12, 1, 3, 5, tzinfo=UTC)


def test_a_due_job_runs_once_per_due_time_and_its_run_is_logged(sessions, settings):
    calls = []
    jobs = _counting_job(calls)
    scheduler.run_due(sessions, TEN - timedelta(minutes=1), settings=settings, jobs=jobs)
    # The previous day's 10:00 is more than the grace period ago: not run.
    assert calls == []

    for minutes in (0, 1, 30):
        scheduler.run_due(sessions, TEN + timedelta(minutes=minutes), settings=settings, jobs=jobs)
    assert calls == [TEN]
    (run,) = _runs(sessions)
    assert (run.job, run.due_at, run.status, run.counts, run.trigger) == (
        "count",
        TEN,
        "succeeded",
        {"done": 1},
        "schedule",
    )
    assert run.started_at == TEN and run.finished_at >= run.started_at

    scheduler.run_due(sessions, TEN + timedelta(days=1), settings=settings, jobs=jobs)
    assert calls == [TEN, TEN + timedelta(days=1)]


def test_a_run_missed_while_no_api_ran_is_run_once_within_the_grace_period(sessions, settings):
    calls = []
    jobs = _counting_job(calls)
    scheduler.run_due(sessions, TEN + timedelta(hours=5), settings=settings, jobs=jobs)
    scheduler.run_due(sessions, TEN + timedelta(hours=5, minutes=1), settings=settings, jobs=jobs)
    assert calls == [TEN]

    late = _counting_job(later := [])
    scheduler.run_due(sessions, TEN + timedelta(days=1, hours=7), settings=settings, jobs=late)
    assert later == []


def test_a_failing_job_is_retried_with_backoff_and_each_failure_is_recorded(sessions, settings):
    calls = []
    jobs = _counting_job(calls, fail_times=2)
    scheduler.run_due(sessions, TEN, settings=settings, jobs=jobs)
    scheduler.run_due(sessions, TEN + timedelta(seconds=30), settings=settings, jobs=jobs)
    assert len(calls) == 1  # the first retry waits a minute

    scheduler.run_due(sessions, TEN + timedelta(seconds=61), settings=settings, jobs=jobs)
    scheduler.run_due(sessions, TEN + timedelta(seconds=62 + 60), settings=settings, jobs=jobs)
    assert len(calls) == 2  # the second waits two
    scheduler.run_due(sessions, TEN + timedelta(seconds=62 + 121), settings=settings, jobs=jobs)
    scheduler.run_due(sessions, TEN + timedelta(hours=1), settings=settings, jobs=jobs)
    assert calls == [TEN, TEN, TEN]

    runs = _runs(sessions)
    assert [(r.attempt, r.trigger, r.status) for r in runs] == [
        (1, "schedule", "failed"),
        (2, "retry", "failed"),
        (3, "retry", "succeeded"),
    ]
    assert runs[0].error == "RuntimeError: the mailing office is closed"


def test_a_job_that_keeps_failing_stops_after_the_last_attempt(sessions, settings):
    calls = []
    jobs = _counting_job(calls, fail_times=100)
    for minutes in range(0, 120, 5):
        scheduler.run_due(sessions, TEN + timedelta(minutes=minutes), settings=settings, jobs=jobs)
    assert len(calls) == settings.scheduler_max_attempts
    assert {r.status for r in _runs(sessions)} == {"failed"}


def test_a_run_left_running_by_a_dead_process_is_retried(sessions, settings):
    with sessions() as session:
        session.add(JobRun(job="count", due_at=TEN, attempt=1, started_at=TEN, counts={}))
        session.commit()
    calls = []
    jobs = _counting_job(calls)
    scheduler.run_due(sessions, TEN + timedelta(minutes=30), settings=settings, jobs=jobs)
    assert calls == []
    scheduler.run_due(sessions, TEN + timedelta(minutes=62), settings=settings, jobs=jobs)
    scheduler.run_due(sessions, TEN + timedelta(minutes=64), settings=settings, jobs=jobs)
    assert [(r.attempt, r.status) for r in _runs(sessions)] == [(1, "failed"), (2, "succeeded")]
    assert _runs(sessions)[0].error.startswith("abandoned")


def test_a_paused_job_is_skipped_until_resumed_but_can_be_run_by_hand(sessions, settings, monkeypatch):
    calls = []
    jobs = _counting_job(calls)
    monkeypatch.setattr(scheduler, "JOBS", jobs)
    with sessions() as session:
        scheduler.set_paused(session, "count", True, None)
    scheduler.run_due(sessions, TEN, settings=settings)
    assert calls == []

    run = scheduler.run_now(sessions, "count", TEN + timedelta(minutes=1), settings=settings)
    assert (run.trigger, run.status, len(calls)) == ("manual", "succeeded", 1)

    with sessions() as session:
        scheduler.set_paused(session, "count", False, None)
    scheduler.run_due(sessions, TEN + timedelta(minutes=2), settings=settings)
    assert len(calls) == 2


@pytest.mark.postgres
def test_two_schedulers_on_one_postgres_database_run_a_due_job_once():
    with temporary_database() as url:
        upgrade(url)
        engine = make_engine(url)
        maker = make_sessionmaker(engine)
        calls = []
        lock = threading.Lock()

        def work(ctx):
            with lock:
                calls.append(ctx.due_at)
            return {}

        jobs = {"count": Job("count", "세기", Daily(time(10, 0)), work)}
        start = threading.Barrier(4)

        def replica():
            start.wait()
            for seconds in range(5):
                scheduler.run_due(maker, TEN + timedelta(seconds=seconds), settings=Settings(), jobs=jobs)

        threads = [threading.Thread(target=replica) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert calls == [TEN]
        with maker() as session:
            assert session.scalar(select(func.count()).select_from(JobRun)) == 1
        engine.dispose()


@pytest.mark.postgres
def test_on_postgres_an_attempt_is_abandoned_as_soon_as_its_runner_is_gone_and_never_while_it_lives():
    with temporary_database() as url:
        upgrade(url)
        engine = make_engine(url)
        maker = make_sessionmaker(engine)
        calls = []
        jobs = {
            "dead": Job("dead", "죽은 작업", Daily(time(10, 0)), lambda ctx: calls.append("dead") or {}),
            "alive": Job("alive", "살아 있는 작업", Daily(time(10, 0)), lambda ctx: calls.append("alive") or {}),
        }
        with maker() as session:
            session.add_all(
                JobRun(job=name, due_at=TEN, attempt=1, started_at=TEN, counts={}) for name in ("dead", "alive")
            )
            session.commit()
            alive_id = session.scalar(select(JobRun.id).where(JobRun.job == "alive"))
        # The live runner of "alive": another process's connection holding the attempt's lock.
        runner = engine.connect()
        runner.execute(select(func.pg_advisory_lock(scheduler.RUNNER_LOCKS, alive_id)))
        runner.commit()

        settings = Settings(scheduler_stale_minutes=60, scheduler_retry_seconds=60)
        later = TEN + timedelta(hours=3)  # long past the stale minutes, which only SQLite goes by
        for seconds in (0, 61):
            scheduler.run_due(maker, later + timedelta(seconds=seconds), settings=settings, jobs=jobs)
        assert calls == ["dead"]
        with maker() as session:
            found = session.scalars(select(JobRun).order_by(JobRun.job, JobRun.attempt))
            assert [(r.job, r.attempt, r.status, r.error) for r in found] == [
                ("alive", 1, "running", None),
                ("dead", 1, "failed", scheduler.ABANDONED),
                ("dead", 2, "succeeded", None),
            ]

        runner.invalidate()  # the process dies: the server drops its locks
        runner.close()
        for seconds in (62, 123):
            scheduler.run_due(maker, later + timedelta(seconds=seconds), settings=settings, jobs=jobs)
        assert calls == ["dead", "alive"]
        engine.dispose()


# --- tour reminders -----------------------------------------------------------------------------


def _booker(user: str | None, name: str = "김민수") -> tours.Booker:
    return tours.Booker(name, "010-1234-5678", "telegram" if user else None, user)


def _conversation(sessions, user: str, language: str) -> int:
    with sessions() as session:
        conversation = get_or_create_conversation(session, "telegram", user)
        conversation.preferred_language = language
        session.commit()
        return conversation.id


def test_bookers_get_one_reminder_the_day_before_in_their_language_with_cancel_and_question_buttons(sessions, settings):
    korean, english = _conversation(sessions, "111", "ko"), _conversation(sessions, "222", "en")
    with sessions() as session:
        run = run_at(session, WEDNESDAY, 9, 20)
        first = tours.book(session, run.id, {"adult": 2}, _booker("111"), now=NOW)[0]
        second = tours.book(session, run.id, {"adult": 1}, _booker("222", "Jane Doe"), now=NOW)[0]
        tours.book(session, run.id, {"adult": 1}, _booker(None), now=NOW)  # booked on the web: no messenger
        cancelled = tours.book(session, run.id, {"adult": 1}, _booker("111"), now=NOW)[0]
        tours.cancel(session, cancelled.code, "01012345678", now=NOW)
        later = run_at(session, WEDNESDAY + timedelta(days=1), 9, 20)
        tours.book(session, later.id, {"adult": 1}, _booker("111"), now=NOW)

    (run_log,) = scheduler.run_due(sessions, TEN, settings=settings, jobs=_only("tour_reminders"))
    assert run_log.counts == {"bookings": 3, "reminded": 2, "without_messenger": 1}

    sent = _outbox(sessions, "reminder:")
    assert [(key, conversation) for key, conversation, _, _ in sent] == [
        (f"reminder:booking:{first.id}:run:{run.id}", korean),
        (f"reminder:booking:{second.id}:run:{run.id}", english),
    ]
    ko_text, en_text = sent[0][2], sent[1][2]
    assert "12월 2일 (수) 09:20" in ko_text and first.code in ko_text and "집결지" in ko_text and "신분증" in ko_text
    assert "Wed 02 Dec at 09:20" in en_text and "Meeting point" in en_text and "ID:" in en_text
    assert [b["payload"] for b in sent[0][3]["buttons"]] == [
        f'/cancel_booking{{"booking_code":"{first.code}"}}',
        "/request_human",
    ]
    assert sent[1][3]["buttons"][0]["title"] == "Cancel booking"

    again = scheduler.run_now(sessions, "tour_reminders", TEN + timedelta(minutes=5), settings=settings)
    assert again.counts["reminded"] == 0
    assert len(_outbox(sessions, "reminder:")) == 2


def test_a_sunday_tour_is_reminded_on_saturday_at_ten_and_not_before(sessions, settings):
    conversation = _conversation(sessions, "111", "ko")
    sunday = datetime(2026, 12, 6, 10, 0, tzinfo=SEOUL).date()
    with sessions() as session:
        booking = tours.book(session, run_at(session, sunday, 9, 20).id, {"adult": 1}, _booker("111"), now=NOW)[0]

    friday_ten, saturday = datetime(2026, 12, 4, 10, 0, tzinfo=SEOUL), datetime(2026, 12, 5, 9, 59, tzinfo=SEOUL)
    (friday,) = scheduler.run_due(sessions, friday_ten, settings=settings, jobs=_only("tour_reminders"))
    assert friday.counts["reminded"] == 0
    assert scheduler.run_due(sessions, saturday, settings=settings, jobs=_only("tour_reminders")) == []
    (on_time,) = scheduler.run_due(
        sessions, saturday + timedelta(minutes=1), settings=settings, jobs=_only("tour_reminders")
    )
    assert on_time.counts["reminded"] == 1
    [(key, to, text, _)] = _outbox(sessions, "reminder:")
    assert (key, to) == (f"reminder:booking:{booking.id}:run:{booking.run_id}", conversation)
    assert "12월 6일 (일) 09:20" in text


def test_each_night_the_runs_of_the_day_that_enters_the_booking_window_are_opened(sessions, settings):
    new_year = datetime(2027, 1, 1, 0, 5, tzinfo=SEOUL)
    with sessions() as session:
        assert tours.list_runs(session, tours.get_course(session, "dmz-peace"), date(2027, 2, 2)) == []
    (log,) = scheduler.run_due(sessions, new_year, settings=settings, jobs=_only("tour_runs"))
    assert log.status == "succeeded" and log.counts["runs_added"] > 0
    with sessions() as session:
        course = tours.get_course(session, "dmz-peace")
        assert len(tours.list_runs(session, course, date(2027, 2, 2))) == 8  # a Tuesday: 4 times x 2 options
        assert tours.list_runs(session, course, date(2027, 2, 8)) == []  # a Monday
        assert tours.list_runs(session, course, date(2027, 2, 9)) == []  # Seollal's substitute holiday
    again = scheduler.run_now(sessions, "tour_runs", new_year + timedelta(minutes=1), settings=settings)
    assert again.counts["runs_added"] == 0


def _only(name: str) -> dict[str, Job]:
    return {name: scheduler.JOBS[name]}


# --- waitlist offers ----------------------------------------------------------------------------


def test_offered_waitlist_places_are_notified_once_and_expired_offers_pass_to_the_next_in_line(
    client, sessions, settings
):
    korean, english = _conversation(sessions, "111", "ko"), _conversation(sessions, "222", "en")
    with sessions() as session:
        run = run_at(session, WEDNESDAY, 9, 20)
        leave_seats(session, run, 2)
        booking = tours.book(session, run.id, {"adult": 2}, _booker(None), now=NOW)[0]
        first = tours.join_waitlist(session, run.id, {"adult": 2}, _booker("111"))
        second = tours.join_waitlist(session, run.id, {"adult": 2}, _booker("222", "Jane Doe"))
        tours.cancel(session, booking.code, "01012345678", now=NOW)
    jobs = _only("waitlist_offers")

    (log,) = scheduler.run_due(sessions, NOW, settings=settings, jobs=jobs)
    assert log.counts == {"expired": 0, "offered": 1, "without_messenger": 0}
    scheduler.run_due(sessions, NOW + timedelta(minutes=1), settings=settings, jobs=jobs)
    sent = _outbox(sessions, "waitlist:")
    assert [(key, conversation) for key, conversation, _, _ in sent] == [(f"waitlist:offer:{first.id}", korean)]
    assert sent[0][3]["buttons"] == [
        {"title": "예약 확정", "payload": f'/confirm_waitlist{{"waitlist_id":"{first.id}"}}'}
    ]
    assert "08:30까지" in sent[0][2]

    (log,) = scheduler.run_due(sessions, NOW + timedelta(minutes=31), settings=settings, jobs=jobs)
    assert log.counts == {"expired": 1, "offered": 1, "without_messenger": 0}
    sent = _outbox(sessions, "waitlist:")
    assert [(key, conversation) for key, conversation, _, _ in sent][1] == (f"waitlist:offer:{second.id}", english)
    with sessions() as session:
        assert session.get(WaitlistEntry, first.id).status == "expired"
        assert session.get(WaitlistEntry, second.id).status == "offered"
        assert session.get(type(run), run.id).seats_left == 0

    body = {"channel": "telegram", "channel_user_id": "111"}
    refused = client.post(f"/api/waitlist/{second.id}/confirm", json=body, headers=SERVICE_HEADERS)
    assert refused.status_code == 404
    assert client.post(f"/api/waitlist/{second.id}/confirm", json=body | {"channel_user_id": "222"}).status_code == 401
    with sessions() as session:
        entry = session.get(WaitlistEntry, second.id)
        entry.offered_until = datetime.now(UTC) + timedelta(minutes=30)  # the route runs on the real clock
        session.commit()
    confirmed = client.post(
        f"/api/waitlist/{second.id}/confirm", json=body | {"channel_user_id": "222"}, headers=SERVICE_HEADERS
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["seats"]) == ("confirmed", 2)


# --- certified notices, retention ---------------------------------------------------------------


def test_certified_notices_unread_after_the_set_days_are_flagged_for_paper_mail_once(sessions, settings):
    with sessions() as session:
        for days, read in ((4, False), (4, True), (1, False)):
            session.add(
                PersonalNotice(
                    phone="01012345678",
                    department="세무과",
                    title="고지",
                    body="본문",
                    content_sha256="0" * 64,
                    sent_at=NOW - timedelta(days=days),
                    read_at=NOW if read else None,
                )
            )
        session.commit()
    jobs = _only("paper_mail")
    (log,) = scheduler.run_due(sessions, NOW, settings=settings, jobs=jobs)
    assert log.counts == {"flagged": 1}
    assert scheduler.run_now(sessions, "paper_mail", NOW + timedelta(minutes=1), settings=settings).counts == {
        "flagged": 0
    }


def test_retention_deletes_old_transcripts_and_erases_past_bookers_but_keeps_the_audit_log(sessions, settings):
    conversation_id = _conversation(sessions, "111", "ko")
    with sessions() as session:
        session.add_all(
            [
                Message(
                    conversation_id=conversation_id, direction="in", text="old", created_at=NOW - timedelta(days=181)
                ),
                Message(
                    conversation_id=conversation_id, direction="in", text="new", created_at=NOW - timedelta(days=179)
                ),
            ]
        )
        run = run_at(session, WEDNESDAY, 9, 20)
        booking = tours.book(session, run.id, {"adult": 2}, _booker("111"), now=NOW)[0]
        user = create_user(session, "admin@paju.go.kr", "김관리", "correct horse battery", role="admin")
        session.add(AuditEntry(user_id=user.id, action="reveal", subject="x", reason="y", at=NOW - timedelta(days=700)))
        session.commit()
    jobs = _only("retention")
    (log,) = scheduler.run_due(sessions, NOW, settings=settings, jobs=jobs)
    assert log.counts == {
        "messages_deleted": 1,
        "message_phones_erased": 0,
        "bookers_erased": 0,
        "idempotency_keys_cleared": 0,
        "sms_records_deleted": 0,
        "codes_deleted": 0,
        "phone_links_removed": 0,
        "personal_notices_deleted": 0,
        "knowledge_questions_deleted": 0,
        "routed_texts_forgotten": 0,
        "department_corrections_deleted": 0,
        "tracker_events_deleted": 0,
        "tracker_events_blanked": 0,
    }

    after_tour = datetime(2027, 3, 3, 4, 0, tzinfo=SEOUL)  # 91 days after the tour
    (log,) = scheduler.run_due(sessions, after_tour, settings=settings, jobs=jobs)
    assert log.counts["bookers_erased"] == 1
    with sessions() as session:
        erased = session.get(Booking, booking.id)
        assert (erased.booker_name, erased.booker_phone, erased.status) == (None, None, "confirmed")
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
        assert session.scalar(select(func.count()).select_from(Message).where(Message.text == "old")) == 0
    assert scheduler.run_now(sessions, "retention", after_tour, settings=settings).counts["bookers_erased"] == 0


# --- dataset refresh ----------------------------------------------------------------------------


def test_csv_files_dropped_in_the_inbox_become_new_versions_and_bad_ones_are_rejected_with_a_reason(
    sessions, settings, tmp_path
):
    with sessions() as session:
        seed_opendata(session)
        session.commit()
        before = opendata.live_version(session, "dmz-peace-tourism-monthly").number
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "dmz-peace-tourism-monthly.csv").write_bytes((SEED_DIR / "dmz_peace_tourism_monthly.csv").read_bytes())
    (inbox / "paju-public-parking-sample.csv").write_text("wrong,header\n1,2\n", encoding="utf-8")
    (inbox / "no-such-dataset.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    settings = settings.model_copy(update={"dataset_inbox_dir": inbox})

    (log,) = scheduler.run_due(sessions, NOW, settings=settings, jobs=_only("dataset_refresh"))
    assert log.counts == {"imported": 1, "rejected": 2}
    with sessions() as session:
        assert opendata.live_version(session, "dmz-peace-tourism-monthly").number == before + 1
    assert list(inbox.glob("*.csv")) == []
    assert [p.name.split("-2026")[0] for p in (inbox / "done").iterdir()] == ["dmz-peace-tourism-monthly"]
    reasons = sorted((inbox / "rejected").glob("*.reason.txt"))
    assert len(reasons) == 2 and len(list((inbox / "rejected").glob("*.csv"))) == 2
    assert "no-such-dataset" in reasons[0].read_text(encoding="utf-8")

    again = scheduler.run_now(sessions, "dataset_refresh", NOW + timedelta(minutes=1), settings=settings)
    assert again.counts == {"imported": 0, "rejected": 0}
