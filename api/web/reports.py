"""Console pages of the figures: the daily reports and the operations dashboard with its charts."""

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.automation import reports
from api.conversations.handoffs import satisfaction_between
from api.core.errors import DomainError
from api.deps import SessionDep
from api.reports.departments import department_name
from api.web.auth import ConsolePage
from api.web.pages import error_page, render
from api.web.svg_charts import Series, bar_chart, line_chart
from common.clock import utcnow

router = APIRouter(prefix="/console", include_in_schema=False)
REPORTS = "/console/reports"
TRAILING_DAYS = 30
COMING_DAYS = 14


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, session: SessionDep, signed: ConsolePage) -> HTMLResponse:
    return render(request, "reports.html", {"signed": signed, "reports": reports.list_reports(session)})


@router.get("/reports/{day}", response_class=HTMLResponse)
def report_page(request: Request, day: date, session: SessionDep, signed: ConsolePage) -> HTMLResponse:
    try:
        report = reports.get_report(session, day)
    except DomainError as error:
        return error_page(request, signed, error, REPORTS)
    context = {
        "signed": signed,
        "report": report,
        "figures": report.figures,
        "minutes": reports.minutes,
        "percent": reports.percent,
        "department_name": department_name,
        "satisfaction_line": reports.satisfaction_line,
    }
    return render(request, "report.html", context)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, session: SessionDep, signed: ConsolePage) -> HTMLResponse:
    today = reports.seoul_date(utcnow())
    past = reports.days_back(today, TRAILING_DAYS)
    coming = [today + timedelta(days=n) for n in range(COMING_DAYS)]
    context = {
        "signed": signed,
        "charts": _charts(session, past, coming),
        "open_reports": reports.open_reports(session, utcnow()),
        "knowledge": reports.knowledge_figures(session, *reports.day_bounds(today)),
        "satisfaction": _satisfaction(session, past),
        "satisfaction_line": reports.satisfaction_line,
        "percent": reports.percent,
        "department_name": department_name,
    }
    return render(request, "dashboard.html", context)


def _satisfaction(session: Session, past: list[date]) -> dict:
    """The answers to the satisfaction question over the dashboard's trailing days."""
    return satisfaction_between(session, reports.day_bounds(past[0])[0], reports.day_bounds(past[-1])[1])


def _day(day: date) -> str:
    return f"{day.month}/{day.day}"


def _charts(session: Session, past: list[date], coming: list[date]) -> dict[str, str]:
    past_labels, coming_labels = [_day(d) for d in past], [_day(d) for d in coming]
    by_course = reports.bookings_per_day(session, past)
    sold, capacity = reports.seats_per_day(session, coming)
    handoffs, waits = reports.handoffs_per_day(session, past)
    months = reports.dmz_visitors(session)
    return {
        "bookings": bar_chart(
            "코스별 하루 예약 (최근 30일)",
            past_labels,
            [Series(course, counts) for course, counts in by_course.items()],
            x_label="예약한 날",
            y_label="예약",
            unit="건",
            stacked=True,
        ),
        "seats": bar_chart(
            "판매 좌석과 정원 (앞으로 14일)",
            coming_labels,
            [Series("판매 좌석", sold), Series("정원", capacity)],
            x_label="출발일",
            y_label="좌석",
            unit="석",
        ),
        "dmz": line_chart(
            "DMZ 평화관광 월별 관광객 (공공데이터)",
            [m["month"] for m in months],
            [
                Series("총관광객", [m["total"] for m in months]),
                Series("내국인", [m["korean"] for m in months]),
                Series("외국인", [m["foreign"] for m in months]),
            ],
            x_label="통계연월",
            y_label="관광객",
            unit="명",
        ),
        "handoffs": bar_chart(
            "하루 상담 연결 (최근 30일)",
            past_labels,
            [Series("상담 연결", handoffs)],
            x_label="요청한 날",
            y_label="상담 연결",
            unit="건",
        ),
        "waits": line_chart(
            "상담 대기 시간 중앙값 (최근 30일)",
            past_labels,
            [Series("대기 중앙값", waits)],
            x_label="요청한 날",
            y_label="대기",
            unit="분",
        ),
        "fallback": line_chart(
            "챗봇 이해 실패율 (최근 30일)",
            past_labels,
            [Series("이해 실패율", reports.fallback_rate_per_day(session, past))],
            x_label="메시지를 받은 날",
            y_label="이해 실패율",
            unit="%",
        ),
    }
