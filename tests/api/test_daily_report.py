"""The daily report job, its console pages and the operations dashboard, on data planted at a controlled clock."""

from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.automation import scheduler
from api.automation.jobs import JOBS
from api.automation.models import DailyReport
from api.conversations.models import Handoff, Message, OutboxMessage
from api.conversations.service import get_or_create_conversation
from api.opendata.seed import seed_opendata
from api.tours.models import Booking, Course, Run
from api.training.inbox import Parse, record
from common.clock import SEOUL, utcnow
from tests.api.test_console import _signed_in
from tests.api.test_console import app as app  # the fixture with the staff accounts
from tests.api.tours_fixtures import TODAY, seed

REPORT_DAY = TODAY  # Tuesday 2026-12-01 in Seoul
EIGHT_NEXT_MORNING = datetime(2026, 12, 2, 8, 0, tzinfo=SEOUL)
JOB = {"daily_report": JOBS["daily_report"]}


def _at(hour: int, minute: int = 0, day: date = REPORT_DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SEOUL)


def _book(session, run: Run, seats: int, created_at: datetime, cancelled_at: datetime | None = None) -> None:
    number = session.scalar(select(func.count(Booking.id))) + 1
    session.add(
        Booking(
            code=f"T{number:05d}",
            run_id=run.id,
            party={"adult": seats},
            seats=seats,
            total_fee=0,
            status="cancelled" if cancelled_at else "confirmed",
            created_at=created_at,
            updated_at=cancelled_at or created_at,
            cancelled_at=cancelled_at,
        )
    )


def _handoff(session, user: str, requested_at: datetime, waited_minutes: int | None) -> None:
    conversation = get_or_create_conversation(session, "telegram", user)
    claimed = requested_at + timedelta(minutes=waited_minutes) if waited_minutes is not None else None
    session.add(
        Handoff(
            conversation_id=conversation.id,
            status="closed" if claimed else "cancelled",
            reason="request_human",
            requested_at=requested_at,
            queued_at=requested_at,
            claimed_at=claimed,
            closed_at=claimed or requested_at,
        )
    )


def _parsed(session, user: str, text: str, at: datetime, fallback: bool) -> None:
    conversation = get_or_create_conversation(session, "web", user)
    message = Message(conversation_id=conversation.id, direction="in", text=text, created_at=at)
    session.add(message)
    session.flush()
    record(
        session,
        Parse(message.id, typed=True, text=text, language="ko", intent="greet", confidence=0.3, fallback=fallback),
    )


def _run_of_a_second_course(session, like: Course) -> Run:
    columns = {c.key: getattr(like, c.key) for c in Course.__table__.columns if c.key != "id"}
    course = Course(**columns | {"code": "second", "name_ko": "두 번째 코스", "name_en": "Second"})
    run = Run(course=course, date=REPORT_DAY, starts_at=_at(13), option="walk", capacity=40)
    session.add(run)
    session.flush()
    return run


@pytest.fixture
def day_of_data(client):
    """On 1 December: 3 bookings on two courses, a cancellation, 3 handoffs, 5 parsed messages of which 3 fallbacks."""
    maker = client.app.state.sessionmaker
    with maker() as session:
        seed(session)
        runs = list(session.scalars(select(Run).where(Run.date == REPORT_DAY).order_by(Run.starts_at)))
        first = runs[0]
        other = _run_of_a_second_course(session, session.get(Course, first.course_id))
        _book(session, first, 2, _at(9))
        _book(session, first, 3, _at(23, 30))
        _book(session, other, 4, _at(12))
        _book(session, first, 1, _at(10, day=TODAY - timedelta(days=1)), cancelled_at=_at(11))
        _book(session, first, 5, _at(0, 10, day=TODAY + timedelta(days=1)))  # the next day: not counted
        for user, hour, waited in (("h1", 9, 4), ("h2", 11, 10), ("h3", 14, None)):
            _handoff(session, user, _at(hour), waited)
        session.commit()
        for n, (text, fallback) in enumerate(
            [
                ("뭐라고요", True),
                ("뭐라고요", True),
                ("010-9876-5432로 연락 주세요", True),
                ("안녕하세요", False),
                ("투어 예약", False),
            ]
        ):
            _parsed(session, f"m{n}", text, _at(15, n), fallback)
        return maker, session.get(Course, first.course_id).name_ko, "두 번째 코스", first


def _staff_settings(settings):
    return settings.model_copy(update={"staff_report_channel": "telegram", "staff_report_channel_user_id": "staff"})


def test_the_daily_report_counts_yesterdays_bookings_visitors_cancellations_handoffs_and_fallbacks(
    day_of_data, settings
):
    sessions, first_course, other_course, first_run = day_of_data
    (run,) = scheduler.run_due(sessions, EIGHT_NEXT_MORNING, settings=settings, jobs=JOB)
    assert (run.status, run.counts) == ("succeeded", {"stored": 1, "sent": 0})

    with sessions() as session:
        figures = session.scalar(select(DailyReport).where(DailyReport.date == REPORT_DAY)).figures
        first_visitors = session.scalar(
            select(func.sum(Booking.seats)).where(Booking.run_id == first_run.id, Booking.status == "confirmed")
        )
    bookings = figures["bookings"]
    assert (bookings["count"], bookings["seats"]) == (3, 9)
    by_course = {c["course"]: (c["bookings"], c["seats"]) for c in bookings["by_course"]}
    assert by_course[first_course] == (2, 5) and by_course[other_course] == (1, 4)
    # Visitors are the seats of confirmed bookings on the day's departures, whenever they were booked.
    visitors = {c["course"]: c["visitors"] for c in bookings["by_course"]}
    assert visitors[first_course] == first_visitors == 2 + 3 + 5
    assert figures["cancellations"] == {"count": 1, "seats": 1}
    handoffs = figures["handoffs"]
    assert (handoffs["count"], handoffs["claimed"]) == (3, 2)
    assert (handoffs["median_wait_seconds"], handoffs["max_wait_seconds"]) == (7 * 60, 10 * 60)
    nlu = figures["nlu"]
    assert (nlu["parsed"], nlu["fallbacks"], nlu["fallback_rate"]) == (5, 3, 0.6)
    top = nlu["misunderstood"]
    assert [(m["text"], m["count"]) for m in top[:1]] == [("뭐라고요", 2)] and len(top) == 2
    assert "연락 주세요" in top[1]["text"] and "9876-5432" not in top[1]["text"]  # masked in the inbox


def test_a_second_run_for_the_same_day_stores_and_sends_nothing_more(day_of_data, settings):
    sessions = day_of_data[0]
    staff_settings = _staff_settings(settings)
    with sessions() as session:
        get_or_create_conversation(session, "telegram", "staff")
        session.commit()

    first = scheduler.run_now(sessions, "daily_report", EIGHT_NEXT_MORNING, settings=staff_settings, jobs=JOB)
    assert first.counts == {"stored": 1, "sent": 1}
    with sessions() as session:
        session.scalars(select(Booking)).first().created_at = _at(12)  # a late change to the day
        session.commit()
    again = scheduler.run_now(
        sessions, "daily_report", EIGHT_NEXT_MORNING + timedelta(hours=2), settings=staff_settings, jobs=JOB
    )
    assert again.counts == {"stored": 0, "sent": 0}

    with sessions() as session:
        assert session.scalar(select(func.count(DailyReport.id))) == 1
        (sent,) = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith("daily-report:")))
        assert sent.dedupe_key == "daily-report:2026-12-01" and sent.kind == "daily_report"
        assert sent.message.text.startswith("[파주시 도우미 일일 보고] 12월 1일")
        assert "예약 3건 (9명)" in sent.message.text and "챗봇 이해 실패율 60.0% (3/5)" in sent.message.text


def test_the_report_pages_need_a_session_and_show_the_days_figures(app, day_of_data, settings):
    sessions = day_of_data[0]
    scheduler.run_due(sessions, EIGHT_NEXT_MORNING, settings=settings, jobs=JOB)

    anonymous = TestClient(app)
    for path in ("/console/reports", "/console/reports/2026-12-01", "/console/dashboard"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/sign-in")

    staff, _ = _signed_in(app)
    listing = staff.get("/console/reports")
    assert listing.status_code == 200 and 'data-date="2026-12-01"' in listing.text
    page = staff.get("/console/reports/2026-12-01")
    assert page.status_code == 200
    assert 'data-testid="report-bookings">3<' in page.text and 'data-testid="report-median-wait">7분<' in page.text
    assert 'data-testid="report-fallback-rate">60.0%<' in page.text
    assert staff.get("/console/reports/2026-11-30").status_code == 404


def test_the_dashboard_draws_each_chart_as_inline_svg_with_the_figures_on_hover(app, client):
    with app.state.sessionmaker() as session:
        seed(session)
        seed_opendata(session)
        conversation = get_or_create_conversation(session, "telegram", "dash")
        now = utcnow()
        session.add(
            Handoff(
                conversation_id=conversation.id,
                status="closed",
                reason="request_human",
                requested_at=now,
                queued_at=now,
                claimed_at=now + timedelta(minutes=12),
            )
        )
        session.commit()
    staff, _ = _signed_in(app)
    page = staff.get("/console/dashboard")
    assert page.status_code == 200
    for chart in ("bookings", "seats", "dmz", "handoffs", "waits", "fallback"):
        start = page.text.index(f'data-testid="chart-{chart}"')
        assert page.text.index("<svg", start) < page.text.index("</figure>", start)
    assert "<script" not in page.text.split("<main>")[1].split("</main>")[0]
    assert "상담 대기 시간 중앙값" in page.text and "대기 중앙값: 12분</title>" in page.text
    assert "2024-01 · 총관광객: 18,601명</title>" in page.text  # from the open data
