"""Console pages for notices: write, publish, edit and withdraw city notices; send certified personal notices and
download their delivery certificates."""

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.conversations import outbox
from api.core.errors import DomainError, InvalidInput
from api.core.ids import Id
from api.deps import SessionDep
from api.notices import personal, service
from api.notices.categories import CATEGORIES
from api.notices.models import Notice
from api.notices.router import certificate_response
from api.notices.schemas import NoticeIn, PersonalNoticeIn
from api.staff import permissions
from api.web.auth import ConsoleForm, ConsolePage
from api.web.pages import error_page, render
from common.clock import SEOUL, utcnow
from common.masking import mask_name, mask_phone

router = APIRouter(prefix="/console", include_in_schema=False)
NOTICES = "/console/notices"
PERSONAL = "/console/personal-notices"
NOTICE_STATUSES = {"draft": "작성 중", "published": "게시 중", "withdrawn": "철회됨"}


def notice_status(notice: Notice) -> str:
    """A published notice whose day has not come yet is "게시 예정", one past its end "게시 끝남"."""
    now = utcnow()
    if notice.status == "published" and notice.published_at and notice.published_at > now:
        return "게시 예정"
    if notice.status == "published" and notice.expires_at and notice.expires_at <= now:
        return "게시 끝남"
    return NOTICE_STATUSES.get(notice.status, "상태 확인 필요")


FIELD_NAMES = {
    "category": "분야",
    "department": "부서",
    "title": "제목",
    "body": "본문",
    "summary": "요약",
    "title_en": "영문 제목",
    "summary_en": "영문 요약",
    "attachments": "첨부 링크",
    "expires_at": "게시 종료일",
    "phone": "휴대폰 번호",
    "recipient_name": "받는 분",
}
Text = Annotated[str, Form(max_length=20_000)]
Line = Annotated[str, Form(max_length=300)]


class NoticeForm:
    """The notice form's fields as posted."""

    def __init__(
        self,
        category: Line = "",
        department: Line = "",
        title: Line = "",
        body: Text = "",
        summary: Line = "",
        title_en: Line = "",
        summary_en: Annotated[str, Form(max_length=1000)] = "",
        attachments: Annotated[str, Form(max_length=4000)] = "",
        expires_on: Annotated[str, Form(max_length=10)] = "",
    ) -> None:
        self.values = {
            "category": category,
            "department": department,
            "title": title,
            "body": body,
            "summary": summary,
            "title_en": title_en,
            "summary_en": summary_en,
        }
        self.attachments = attachments
        self.expires_on = expires_on

    def parsed(self) -> NoticeIn:
        """The notice to save; bad input raises InvalidInput with the reason in Korean."""
        links = []
        for line in self.attachments.splitlines():
            if line.strip():
                title, _, url = line.rpartition("|")
                links.append({"title": title.strip() or url.strip(), "url": url.strip()})
        expires_at = None
        if self.expires_on.strip():
            try:
                day = date.fromisoformat(self.expires_on.strip())
            except ValueError as error:
                raise InvalidInput(
                    "Give the expiry as YYYY-MM-DD.", "게시 종료일을 YYYY-MM-DD로 적어 주세요."
                ) from error
            # Shown until the end of that day in Korea.
            expires_at = datetime.combine(day + timedelta(days=1), time(0), SEOUL)
        return _validated(NoticeIn, self.values | {"attachments": links, "expires_at": expires_at})


def _validated(model, data: dict):
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = sorted({FIELD_NAMES.get(str(e["loc"][0]), str(e["loc"][0])) for e in error.errors()})
        raise InvalidInput("Check the form.", f"입력을 확인해 주세요: {', '.join(fields)}") from error


def _form_values(notice: Notice | None) -> dict:
    if notice is None:
        return {"category": "administration", "attachments": "", "expires_on": ""}
    expires_on = ""
    if notice.expires_at:
        expires_on = (notice.expires_at.astimezone(SEOUL) - timedelta(seconds=1)).date().isoformat()
    return {
        "category": notice.category,
        "department": notice.department,
        "title": notice.title,
        "body": notice.body,
        "summary": notice.summary or "",
        "title_en": notice.title_en or "",
        "summary_en": notice.summary_en or "",
        "attachments": "\n".join(f"{a['title']} | {a['url']}" for a in notice.attachments or []),
        "expires_on": expires_on,
    }


def _context(signed, **extra) -> dict:
    categories = {code: category.name_ko for code, category in CATEGORIES.items()}
    return {
        "signed": signed,
        "categories": categories,
        "notice_statuses": NOTICE_STATUSES,
        "notice_status": notice_status,
        **extra,
    }


@router.get("/notices", response_class=HTMLResponse)
def notices_page(
    request: Request,
    session: SessionDep,
    signed: ConsolePage,
    q: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=12)] = "",
) -> HTMLResponse:
    notices = service.staff_list(session, q, status if status in NOTICE_STATUSES else None)
    return render(request, "notices.html", _context(signed, notices=notices, q=q, status=status))


@router.get("/notices/new", response_class=HTMLResponse)
def new_notice_page(request: Request, signed: ConsolePage) -> HTMLResponse:
    return render(request, "notice_form.html", _context(signed, notice=None, form=_form_values(None)))


@router.post("/notices")
def create_notice(
    request: Request,
    session: SessionDep,
    signed: ConsoleForm,
    form: Annotated[NoticeForm, Depends()],
    action: Annotated[str, Form(max_length=10)] = "save",
) -> Response:
    try:
        if action == "publish":
            permissions.require(signed.user, permissions.NOTICES_PUBLISH)
        notice = service.create(session, form.parsed(), signed.user)
        if action == "publish":
            quiet = service.QuietHours.from_settings(request.app.state.settings)
            service.publish(session, notice.id, quiet, by=signed.user)
    except DomainError as error:
        return error_page(request, signed, error, f"{NOTICES}/new")
    return RedirectResponse(f"{NOTICES}/{notice.id}", status_code=303)


@router.get("/notices/{notice_id}", response_class=HTMLResponse)
def notice_page(request: Request, notice_id: Id, session: SessionDep, signed: ConsolePage) -> Response:
    try:
        notice = service.get_notice(session, notice_id)
    except DomainError as error:
        return error_page(request, signed, error, NOTICES)
    context = _context(
        signed,
        notice=notice,
        form=_form_values(notice),
        urgent=service.is_urgent(notice),
        subscribers=service.subscriber_count(session, notice.category),
        messages=len(outbox.dedupe_keys(session, f"notice:{notice.id}:")),
    )
    return render(request, "notice_form.html", context)


@router.post("/notices/{notice_id}")
def edit_notice(
    request: Request,
    notice_id: Id,
    session: SessionDep,
    signed: ConsoleForm,
    form: Annotated[NoticeForm, Depends()],
) -> Response:
    back = f"{NOTICES}/{notice_id}"
    try:
        service.update(session, notice_id, form.parsed())
    except DomainError as error:
        return error_page(request, signed, error, back)
    return RedirectResponse(back, status_code=303)


@router.post("/notices/{notice_id}/publish")
def publish_notice(request: Request, notice_id: Id, session: SessionDep, signed: ConsoleForm) -> Response:
    back = f"{NOTICES}/{notice_id}"
    try:
        quiet = service.QuietHours.from_settings(request.app.state.settings)
        service.publish(session, notice_id, quiet, by=signed.user)
    except DomainError as error:
        return error_page(request, signed, error, back)
    return RedirectResponse(back, status_code=303)


@router.post("/notices/{notice_id}/withdraw")
def withdraw_notice(request: Request, notice_id: Id, session: SessionDep, signed: ConsoleForm) -> Response:
    back = f"{NOTICES}/{notice_id}"
    try:
        service.withdraw(session, notice_id)
    except DomainError as error:
        return error_page(request, signed, error, back)
    return RedirectResponse(back, status_code=303)


# --- certified personal notices -------------------------------------------------------------------------------


@router.get("/personal-notices", response_class=HTMLResponse)
def personal_notices_page(request: Request, session: SessionDep, signed: ConsolePage) -> HTMLResponse:
    rows = [
        {
            "id": n.id,
            "phone": mask_phone(n.phone),
            "name": mask_name(n.recipient_name) if n.recipient_name else "",
            "department": n.department,
            "title": n.title,
            "sent_at": n.sent_at,
            "delivered_at": personal.delivered_at(session, n),
            "identity_confirmed_at": n.identity_confirmed_at,
            "read_at": n.read_at,
            "paper_mail_at": n.paper_mail_at,
        }
        for n in personal.staff_list(session, signed.user)
    ]
    return render(request, "personal_notices.html", {"signed": signed, "rows": rows})


@router.post("/personal-notices")
def send_personal_notice(
    request: Request,
    session: SessionDep,
    signed: ConsoleForm,
    phone: Line = "",
    recipient_name: Line = "",
    department: Line = "",
    title: Line = "",
    body: Text = "",
) -> Response:
    data = {"phone": phone, "recipient_name": recipient_name.strip() or None, "department": department.strip()}
    data |= {"title": title.strip(), "body": body.strip()}
    try:
        fields = _validated(PersonalNoticeIn, data)
        personal.send(session, fields, signed.user, service.QuietHours.from_settings(request.app.state.settings))
    except DomainError as error:
        return error_page(request, signed, error, PERSONAL)
    return RedirectResponse(PERSONAL, status_code=303)


@router.get("/personal-notices/{notice_id}/certificate")
def certificate(request: Request, notice_id: Id, session: SessionDep, signed: ConsolePage) -> Response:
    try:
        return certificate_response(session, notice_id, signed.user)
    except DomainError as error:
        return error_page(request, signed, error, PERSONAL)
