"""The figures staff read each morning and on the dashboard: bookings, visitors, handoff waits, the bot's fallbacks,
the knowledge base's answers, open citizen reports.

Each figure is read through the service of the domain that owns it, grouped here by calendar day in Asia/Seoul.
"""

import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.automation.models import DailyReport
from api.conversations import handoffs
from api.core.errors import NotFound
from api.knowledge import service as knowledge
from api.opendata import service as opendata
from api.opendata.errors import DatasetNotFound
from api.reports import service as citizen_reports
from api.reports.departments import FIELD_DEPARTMENTS, department_name
from api.tours import service as tours
from api.training import inbox
from common.clock import SEOUL

DMZ_DATASET = "dmz-peace-tourism-monthly"
DMZ_COLUMNS = {"month": "통계연월", "total": "총관광객수", "korean": "내국인수", "foreign": "외국인수"}
TOP_MISUNDERSTOOD = 5
TOP_UNANSWERED = 5


class ReportNotFound(NotFound):
    code = "report_not_found"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which a Seoul calendar day starts and the next one starts."""
    start = datetime.combine(day, time(0), tzinfo=SEOUL)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def seoul_date(moment: datetime) -> date:
    return moment.astimezone(SEOUL).date()


# --- one day -------------------------------------------------------------------------------------


def daily_figures(session: Session, day: date) -> dict[str, Any]:
    """Everything the daily report says about one Seoul day, as plain JSON values."""
    return {
        "date": day.isoformat(),
        "bookings": _bookings(session, day),
        "cancellations": _cancellations(session, day),
        "handoffs": _handoffs(session, day),
        "nlu": _nlu(session, day),
        "knowledge": knowledge_figures(session, *day_bounds(day)),
        "reports": open_reports(session, day_bounds(day)[1]),
    }


def _bookings(session: Session, day: date) -> dict[str, Any]:
    """Bookings made that day, and visitors: seats of confirmed bookings on the day's departures; by course."""
    courses: dict[str, dict[str, int]] = defaultdict(lambda: {"bookings": 0, "seats": 0, "visitors": 0})
    for course, _made_at, seats in tours.bookings_made_between(session, *day_bounds(day)):
        courses[course]["bookings"] += 1
        courses[course]["seats"] += seats
    for course, visitors in tours.visitors_by_course(session, day).items():
        courses[course]["visitors"] += visitors
    by_course = [{"course": name, **counts} for name, counts in sorted(courses.items())]
    return {
        "count": sum(c["bookings"] for c in by_course),
        "seats": sum(c["seats"] for c in by_course),
        "visitors": sum(c["visitors"] for c in by_course),
        "by_course": by_course,
    }


def _cancellations(session: Session, day: date) -> dict[str, int]:
    count, seats = tours.cancellations_between(session, *day_bounds(day))
    return {"count": count, "seats": seats}


def _handoffs(session: Session, day: date) -> dict[str, Any]:
    """Handoffs requested that day and, of those claimed, how long citizens waited."""
    requested = handoffs.requested_between(session, *day_bounds(day))
    waits = [wait for _at, _department, wait in requested if wait is not None]
    return {
        "count": len(requested),
        "claimed": len(waits),
        "median_wait_seconds": round(statistics.median(waits)) if waits else None,
        "max_wait_seconds": round(max(waits)) if waits else None,
        "by_department": dict(sorted(Counter(department for _at, department, _wait in requested).items())),
        # Answers given that day to "were you satisfied?" after a closed conversation.
        "satisfaction": handoffs.satisfaction_between(session, *day_bounds(day)),
    }


def _nlu(session: Session, day: date) -> dict[str, Any]:
    """The share of parsed messages the bot did not understand, and those most often misunderstood (masked)."""
    start, end = day_bounds(day)
    parsed, fallbacks = inbox.parse_counts(session, start, end)
    return {
        "parsed": parsed,
        "fallbacks": fallbacks,
        "fallback_rate": round(fallbacks / parsed, 4) if parsed else None,
        "misunderstood": inbox.most_misunderstood(session, start, end, TOP_MISUNDERSTOOD),
    }


def knowledge_figures(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Questions the knowledge base was asked in [start, end): answered, the answer rate, answers marked not
    helpful, and the topics it most often could not answer (masked)."""
    return knowledge.daily_figures(session, start, end, top=TOP_UNANSWERED)


def open_reports(session: Session, at: datetime) -> dict[str, Any]:
    """Citizen reports open at `at` and those of them past their first-answer deadline, in all and per field
    department (those with any open)."""
    counts: dict[str, dict[str, int]] = {}
    for department, overdue in citizen_reports.open_at(session, at):
        department_counts = counts.setdefault(department, {"open": 0, "overdue": 0})
        department_counts["open"] += 1
        department_counts["overdue"] += int(overdue)
    # In the departments' own order; a department no longer listed last.
    by_department = {code: counts.pop(code) for code in FIELD_DEPARTMENTS if code in counts} | counts
    return {
        "open": sum(c["open"] for c in by_department.values()),
        "overdue": sum(c["overdue"] for c in by_department.values()),
        "by_department": by_department,
    }


def store_daily_report(session: Session, day: date) -> tuple[DailyReport, bool]:
    """Writes the day's report unless it exists; returns it and whether it was written now."""
    existing = get_report(session, day, missing_ok=True)
    if existing:
        return existing, False
    report = DailyReport(date=day, figures=daily_figures(session, day))
    try:
        with session.begin_nested():
            session.add(report)
    except IntegrityError:  # written at the same moment by another run
        return get_report(session, day), False
    return report, True


def get_report(session: Session, day: date, *, missing_ok: bool = False) -> DailyReport | None:
    report = session.scalar(select(DailyReport).where(DailyReport.date == day))
    if report is None and not missing_ok:
        raise ReportNotFound(f"no daily report for {day}", f"{day} 일일 보고가 없어요")
    return report


def list_reports(session: Session, limit: int = 90) -> list[DailyReport]:
    return list(session.scalars(select(DailyReport).order_by(DailyReport.date.desc()).limit(limit)))


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds / 60)
    return f"{whole // 60}시간 {whole % 60}분" if whole >= 60 else f"{whole}분"


def satisfaction_line(satisfaction: dict[str, Any]) -> str:
    """상담 만족도 4.5점 (응답 2건 · 5점 1, 4점 1): the scores given, most first; "응답 없음" when none were."""
    if not satisfaction["count"]:
        return "상담 만족도: 응답 없음"
    given = ", ".join(
        f"{score}점 {count}" for score, count in sorted(satisfaction["distribution"].items(), reverse=True) if count
    )
    return f"상담 만족도 {satisfaction['average']:.1f}점 (응답 {satisfaction['count']}건 · {given})"


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def report_text(figures: dict[str, Any]) -> str:
    """The report as one Korean chat message for the staff channel."""
    day = date.fromisoformat(figures["date"])
    bookings, cancelled = figures["bookings"], figures["cancellations"]
    handoffs, nlu = figures["handoffs"], figures["nlu"]
    lines = [
        f"[파주시 도우미 일일 보고] {day.month}월 {day.day}일",
        f"예약 {bookings['count']}건 ({bookings['seats']}명) · 방문객 {bookings['visitors']}명 · "
        f"취소 {cancelled['count']}건 ({cancelled['seats']}명)",
    ]
    lines += [
        f"- {c['course']}: 예약 {c['bookings']}건 {c['seats']}명, 방문 {c['visitors']}명" for c in bookings["by_course"]
    ]
    lines.append(
        f"상담 연결 {handoffs['count']}건 (응대 {handoffs['claimed']}건) · 대기 중앙값 "
        f"{minutes(handoffs['median_wait_seconds'])}, 최대 {minutes(handoffs['max_wait_seconds'])}"
    )
    if "satisfaction" in handoffs:  # reports stored before the question was asked have none
        lines.append(satisfaction_line(handoffs["satisfaction"]))
    lines.append(f"챗봇 이해 실패율 {percent(nlu['fallback_rate'])} ({nlu['fallbacks']}/{nlu['parsed']})")
    if nlu["misunderstood"]:
        lines.append("자주 이해하지 못한 말:")
        lines += [f"{n}. {m['text']} ({m['count']}회)" for n, m in enumerate(nlu["misunderstood"], 1)]
    if "knowledge" in figures:  # reports stored before the knowledge base existed have none
        lines += _knowledge_lines(figures["knowledge"])
    if "reports" in figures:  # reports stored before citizen reports existed have none
        cases = figures["reports"]
        lines.append(f"생활불편 신고: 열린 신고 {cases['open']}건 · 답변 기한 넘김 {cases['overdue']}건")
        lines += [
            f"- {department_name(code, 'ko')}: 열린 신고 {c['open']}건, 기한 넘김 {c['overdue']}건"
            for code, c in cases["by_department"].items()
        ]
    return "\n".join(lines)


def _knowledge_lines(answers: dict[str, Any]) -> list[str]:
    rate = percent(answers["answer_rate"])
    lines = [
        f"지식베이스 질문 {answers['asked']}건 · 답변 {answers['answered']}건 (답변율 {rate})"
        f" · 도움이 안 됐다는 답 {answers['unhelpful']}건"
    ]
    if answers["top_unanswered"]:
        lines.append("자주 답하지 못한 질문:")
        lines += [f"{n}. {t['text']} ({t['count']}회)" for n, t in enumerate(answers["top_unanswered"], 1)]
    return lines


# --- the dashboard's series -----------------------------------------------------------------------


def days_back(today: date, count: int) -> list[date]:
    """The `count` days up to and including `today`, oldest first."""
    return [today - timedelta(days=n) for n in range(count - 1, -1, -1)]


def _span(days: list[date]) -> tuple[datetime, datetime]:
    return day_bounds(days[0])[0], day_bounds(days[-1])[1]


def bookings_per_day(session: Session, days: list[date]) -> dict[str, list[int]]:
    """Bookings made per day, per course (Korean name)."""
    index = {day: n for n, day in enumerate(days)}
    per_course: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for course, made_at, _seats in tours.bookings_made_between(session, *_span(days)):
        per_course[course][index[seoul_date(made_at)]] += 1
    return dict(sorted(per_course.items()))


def seats_per_day(session: Session, days: list[date]) -> tuple[list[int], list[int]]:
    """Seats sold and seats offered on the days' departures (cancelled runs left out)."""
    seats = tours.seats_by_day(session, days[0], days[-1])
    sold_and_offered = [seats.get(day, (0, 0)) for day in days]
    return [sold for sold, _offered in sold_and_offered], [offered for _sold, offered in sold_and_offered]


def handoffs_per_day(session: Session, days: list[date]) -> tuple[list[int], list[float | None]]:
    """Handoffs requested per day, and the median wait (minutes) of those claimed."""
    index = {day: n for n, day in enumerate(days)}
    counts = [0] * len(days)
    waits: list[list[float]] = [[] for _ in days]
    for requested_at, _department, wait in handoffs.requested_between(session, *_span(days)):
        n = index[seoul_date(requested_at)]
        counts[n] += 1
        if wait is not None:
            waits[n].append(wait / 60)
    return counts, [round(statistics.median(w), 1) if w else None for w in waits]


def fallback_rate_per_day(session: Session, days: list[date]) -> list[float | None]:
    """Percent of parsed messages that were fallbacks, per day; None on a day with none parsed."""
    index = {day: n for n, day in enumerate(days)}
    parsed, fallbacks = [0] * len(days), [0] * len(days)
    for seen_at, fallback in inbox.sightings_between(session, *_span(days)):
        n = index[seoul_date(seen_at)]
        parsed[n] += 1
        fallbacks[n] += 1 if fallback else 0
    return [round(100 * f / p, 1) if p else None for f, p in zip(fallbacks, parsed, strict=True)]


def dmz_visitors(session: Session) -> list[dict[str, Any]]:
    """Visitors per month of the DMZ peace tourism open data; empty while the dataset has no data."""
    try:
        rows = opendata.dataset_rows(session, DMZ_DATASET)
    except DatasetNotFound:
        return []
    months = [{key: row.get(column) for key, column in DMZ_COLUMNS.items()} for row in rows if row.get("통계연월")]
    for month in months:
        month["month"] = str(month["month"])[:7]  # "2024-01", whichever way the month column is typed
    return sorted(months, key=lambda month: month["month"])
