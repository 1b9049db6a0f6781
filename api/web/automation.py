"""Console pages of the automation: the jobs and their run log (admins run, pause and resume them) and paper mail."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.automation import scheduler
from api.core.errors import DomainError
from api.core.spreadsheet import csv_download, spreadsheet_phone
from api.deps import SessionDep
from api.notices import personal
from api.web.auth import AdminForm, AdminPage, ConsolePage
from api.web.pages import error_page, render, seoul
from common.clock import utcnow
from common.masking import mask_name, mask_phone

router = APIRouter(prefix="/console", include_in_schema=False)
JOBS = "/console/admin/jobs"
# What a job's counts mean, as part of a sentence; {n} is the number. A count not listed says only "처리 n건".
COUNT_PHRASES = {
    "bookings": "예약 {n}건 확인",
    "reminded": "알림 {n}건 보냄",
    "without_messenger": "메신저 없는 예약 {n}건은 알림 못 보냄",
    "expired": "대기 신청 {n}건 만료",
    "offered": "빈자리 안내 {n}건 보냄",
    "runs_added": "투어 회차 {n}개 추가",
    "flagged": "종이 우편 대상 {n}건 표시",
    "told": "답하지 못한 메시지 {n}건 안내",
    "imported": "데이터 파일 {n}개 가져옴",
    "rejected": "데이터 파일 {n}개 거부",
    "stored": "일일 보고서 {n}건 저장",
    "sent": "보고서 메일 {n}건 보냄",
    "cases_purged": "끝난 신고 {n}건 개인정보 삭제",
    "unfiled_photos_deleted": "접수 안 된 사진 {n}장 삭제",
    "messages_deleted": "오래된 대화 메시지 {n}건 삭제",
    "message_phones_erased": "메시지 속 전화번호 {n}건 지움",
    "bookers_erased": "예약자 정보 {n}건 지움",
    "idempotency_keys_cleared": "중복 방지 키 {n}개 정리",
    "sms_records_deleted": "문자 기록 {n}건 삭제",
    "codes_deleted": "인증번호 기록 {n}건 삭제",
    "phone_links_removed": "오래 쓰지 않은 전화번호 연결 {n}건 해제",
    "personal_notices_deleted": "보관 기간 지난 공인알림 {n}건 삭제",
    "knowledge_questions_deleted": "지식베이스 질문 기록 {n}건 삭제",
    "routed_texts_forgotten": "부서 배정에 쓴 글 {n}건 지움",
    "department_corrections_deleted": "부서 바로잡기 기록 {n}건 삭제",
}
RUN_STATUSES = {"running": "실행 중이에요.", "succeeded": "끝났어요.", "failed": "실패했어요."}


def run_sentence(status: str, counts: dict | None, error: str | None) -> str:
    """A run's result for people: "끝났어요. 알림 3건 보냄, 예약 4건 확인." rather than its raw counts."""
    head = RUN_STATUSES.get(status, "상태를 알 수 없어요.")
    numbers = [
        COUNT_PHRASES.get(key, "처리 {n}건").format(n=value)
        for key, value in (counts or {}).items()
        if isinstance(value, int) and value
    ]
    if status == "succeeded" and not numbers:
        return head + " 할 일이 없었어요."
    body = f" {', '.join(numbers)}." if numbers else ""
    tail = " 다시 시도하거나 오류 내용을 담당자에게 알려 주세요." if status == "failed" else ""
    return head + body + tail


@router.get("/admin/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    paused = scheduler.paused_jobs(session)
    jobs = [
        {"name": job.name, "title": job.title, "schedule": job.schedule.describe(), "paused": job.name in paused}
        for job in scheduler.JOBS.values()
    ]
    runs = scheduler.recent_runs(session)
    context = {
        "signed": signed,
        "jobs": jobs,
        "runs": runs,
        "titles": {j.name: j.title for j in scheduler.JOBS.values()},
        "results": {run.id: run_sentence(run.status, run.counts, run.error) for run in runs},
    }
    return render(request, "jobs.html", context)


@router.post("/admin/jobs/{name}/run")
def run_job(request: Request, name: str, session: SessionDep, signed: AdminForm) -> Response:
    try:
        scheduler.run_now(
            request.app.state.sessionmaker,
            name,
            utcnow(),
            requested_by_id=signed.user.id,
            settings=request.app.state.settings,
        )
    except DomainError as error:
        return error_page(request, signed, error, JOBS)
    return RedirectResponse(JOBS, status_code=303)


@router.post("/admin/jobs/{name}/paused")
def pause_job(
    request: Request, name: str, session: SessionDep, signed: AdminForm, paused: Annotated[bool, Form()] = False
) -> Response:
    try:
        scheduler.set_paused(session, name, paused, signed.user.id)
    except DomainError as error:
        return error_page(request, signed, error, JOBS)
    return RedirectResponse(JOBS, status_code=303)


@router.get("/paper-mail", response_class=HTMLResponse)
def paper_mail_page(request: Request, session: SessionDep, signed: ConsolePage) -> HTMLResponse:
    rows = [
        {
            "id": n.id,
            "name": mask_name(n.recipient_name) if n.recipient_name else "",
            "phone": mask_phone(n.phone),
            "department": n.department,
            "title": n.title,
            "sent_at": n.sent_at,
            "paper_mail_at": n.paper_mail_at,
        }
        for n in personal.paper_mail_list(session, signed.user)
    ]
    return render(request, "paper_mail.html", {"signed": signed, "rows": rows})


@router.get("/paper-mail.csv")
def paper_mail_export(request: Request, session: SessionDep, signed: ConsolePage) -> Response:
    """The mailing office's list, unmasked: it needs the paper_mail.export permission and is in the audit log."""
    try:
        notices = personal.paper_mail_list(session, signed.user, export=True)
    except DomainError as error:
        return error_page(request, signed, error, "/console/paper-mail")
    fmt = "%Y-%m-%d %H:%M"
    rows = (
        [
            n.id,
            n.recipient_name or "",
            spreadsheet_phone(n.phone),
            n.department,
            n.title,
            seoul(n.sent_at, fmt),
            seoul(n.paper_mail_at, fmt),
        ]
        for n in notices
    )
    header = ["notice_id", "recipient_name", "phone", "department", "title", "sent_at", "flagged_at"]
    return csv_download("paper-mail.csv", header, rows)
