"""Rendering of console pages: Jinja2 templates, times in Asia/Seoul, and headers that keep pages private."""

from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.core.errors import DomainError
from common.calendar import weekday_name
from common.clock import SEOUL, utcnow

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Pages show personal data: never cached, never framed, scripts only from this origin.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
REASONS = {
    "request_human": "상담원 요청",
    "fallback": "챗봇이 이해하지 못함",
    "button": "상담 버튼",
    "staff_initiated": "직원이 먼저 연락",
}
STATUSES = {"waiting": "대기 중", "claimed": "상담 중", "closed": "종료", "cancelled": "시민이 취소"}
LANGUAGES = {"ko": "한국어", "en": "영어"}
CHANNELS = {"telegram": "텔레그램", "web": "웹 채팅", "kakao": "카카오톡"}


def seoul(value: datetime | None, fmt: str = "%m월 %d일 %H:%M") -> str:
    return value.astimezone(SEOUL).strftime(fmt) if value else ""


def seoul_day(value: datetime | None) -> str:
    """ "11월 25일 (수) 09:00"."""
    if value is None:
        return ""
    local = value.astimezone(SEOUL)
    return f"{local.month}월 {local.day}일 ({weekday_name(local, 'ko')}) {local:%H:%M}"


def waited(since: datetime | None) -> str:
    """How long ago, in words: "방금", "3분", "1시간 5분"."""
    if since is None:
        return ""
    minutes = max(0, int((utcnow() - since).total_seconds() // 60))
    if minutes == 0:
        return "방금"
    if minutes < 60:
        return f"{minutes}분"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}시간 {minutes}분" if hours < 24 else f"{hours // 24}일 {hours % 24}시간"


TEMPLATES.env.filters.update(seoul=seoul, seoul_day=seoul_day, waited=waited)
TEMPLATES.env.globals.update(REASONS=REASONS, STATUSES=STATUSES, LANGUAGES=LANGUAGES, CHANNELS=CHANNELS)


def render(request: Request, template: str, context: dict, status_code: int = 200) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code, headers=SECURITY_HEADERS)


def error_page(request: Request, signed, error: DomainError | str, back: str, status_code: int = 400) -> HTMLResponse:
    """A rule said no: the reason in Korean and a way back; the status tells tests and tools the same."""
    if isinstance(error, DomainError):
        message, status_code = error.message("ko"), error.status_code
    else:
        message = error
    return render(request, "error.html", {"signed": signed, "message": message, "back": back}, status_code=status_code)
