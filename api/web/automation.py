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
