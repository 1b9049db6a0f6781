"""Console pages of the knowledge base: staff write and edit entries, admins publish and withdraw them, and the
questions the assistant could not answer come back as candidates for new entries."""

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.core.errors import DomainError
from api.core.ids import MAX_ID, Id
from api.deps import SessionDep
from api.knowledge import service
from api.knowledge.errors import InvalidEntry
from api.knowledge.models import KnowledgeEntry
from api.knowledge.schemas import EntryFields
from api.staff import service as staff_service
from api.web.auth import ConsoleForbidden, ConsoleForm, ConsolePage, Signed
from api.web.pages import error_page, render
from common.clock import today

router = APIRouter(prefix="/console/knowledge", include_in_schema=False)
HOME = "/console/knowledge"
CANDIDATES = f"{HOME}/candidates"
ENTRY_STATUSES = {"published": "게시 중", "draft": "임시 저장", "withdrawn": "게시 중단"}
# The status changes of an entry's page: its button, and the audit log's action.
STATUS_BUTTONS = {"published": "게시", "withdrawn": "게시 중단", "draft": "임시 저장으로 되돌리기"}
AUDIT_ACTIONS = {
    "published": "publish_knowledge_entry",
    "withdrawn": "withdraw_knowledge_entry",
    "draft": "draft_knowledge_entry",
}
SAVED = {
    "created": "임시 저장했어요. 관리자가 게시하면 챗봇이 이 항목으로 답해요.",
    "saved": "저장했어요.",
    "published": "게시했어요. 이제 챗봇이 이 항목으로 답해요.",
    "withdrawn": "게시를 중단했어요. 챗봇이 더는 이 항목으로 답하지 않아요.",
    "draft": "임시 저장으로 되돌렸어요. 고친 뒤 다시 게시할 수 있어요.",
    "dismissed": "무시한 질문은 후보에서 빠졌어요.",
}
REASONS = {"unanswered": "답하지 못함", "unhelpful": "“도움이 안 됐어요”"}
PAGE_SIZE = 50
CANDIDATE_LIMIT = 100
# The most asks of one candidate its "새 항목으로 만들기" link carries (a link's length is bounded); the rest stay.
CARRIED_ASKS = 200
ONLY_ADMINS = "게시와 게시 중단은 관리자만 할 수 있어요. 관리자에게 요청해 주세요."
Line = Annotated[str, Form(max_length=1000)]  # past the service's own limits, so that it says in Korean what is long
Text = Annotated[str, Form(max_length=20_000)]


class EntryForm:
    """The entry form's fields as posted, kept as typed so a refused form comes back as it was."""

    def __init__(
        self,
        title_ko: Line = "",
        title_en: Line = "",
        questions: Text = "",
        answer_ko: Text = "",
        answer_en: Text = "",
        department_ko: Line = "",
        department_en: Line = "",
        phone: Line = "",
        link: Line = "",
        review_on: Annotated[str, Form(max_length=40)] = "",
        ask_id: Annotated[list[str] | None, Form()] = None,
    ) -> None:
        self.values = {
            "title_ko": title_ko,
            "title_en": title_en,
            "questions": questions,
            "answer_ko": answer_ko,
            "answer_en": answer_en,
            "department_ko": department_ko,
            "department_en": department_en,
            "phone": phone,
            "link": link,
            "review_on": review_on,
        }
        self.ask_ids = _ids(ask_id or [])

    def fields(self) -> EntryFields:
        """The entry to save: blanks of the optional fields are "none"; the service checks the rest."""
        values = {name: value.strip() for name, value in self.values.items()}
        review_on = None
        if values["review_on"]:
            try:
                review_on = date.fromisoformat(values["review_on"])
            except ValueError as error:
                raise InvalidEntry(
                    "Give the review date as YYYY-MM-DD.", "검토일을 YYYY-MM-DD로 적어 주세요.", "review_on"
                ) from error
        optional = ("title_en", "answer_en", "department_en", "phone", "link")
        return EntryFields(
            **{name: values[name] for name in ("title_ko", "answer_ko", "department_ko")},
            **{name: values[name] or None for name in optional},
            questions=[line.strip() for line in self.values["questions"].splitlines() if line.strip()],
            review_on=review_on,
        )


def _ids(values: list[str]) -> list[int]:
    """The ask ids a form or link carried; anything else in the list is dropped."""
    return [int(v) for v in values if v.isascii() and v.isdigit() and 0 < int(v) <= MAX_ID][:CARRIED_ASKS]


def _may_publish(signed: Signed) -> bool:
    return signed.user.role == "admin"


def _require_publisher(signed: Signed) -> None:
    if not _may_publish(signed):
        raise ConsoleForbidden(ONLY_ADMINS, signed)


def _form_values(entry: KnowledgeEntry) -> dict:
    return {
        "title_ko": entry.title_ko,
        "title_en": entry.title_en or "",
        "questions": "\n".join(entry.question_list()),
        "answer_ko": entry.answer_ko,
        "answer_en": entry.answer_en or "",
        "department_ko": entry.department_ko,
        "department_en": entry.department_en or "",
        "phone": entry.phone or "",
        "link": entry.link or "",
        "review_on": entry.review_on.isoformat() if entry.review_on else "",
    }


def _form_page(
    request: Request,
    session: Session,
    signed: Signed,
    entry: KnowledgeEntry | None,
    form: dict,
    *,
    ask_ids: list[int] | None = None,
    error: DomainError | None = None,
    saved: str | None = None,
) -> HTMLResponse:
    """The new-entry or edit form; after a refusal, with the reason, the field at fault and what was typed."""
    context = {
        "signed": signed,
        "entry": entry,
        "form": form,
        "ask_ids": ask_ids or [],
        "error": error.message("ko") if error else None,
        "error_field": getattr(error, "field", None),
        "saved": saved,
        "entry_statuses": ENTRY_STATUSES,
        "status_buttons": STATUS_BUTTONS,
        "may_publish": _may_publish(signed),
        "review_due": entry is not None and entry in service.due_for_review(session, today()),
        "updated_by": _updated_by(session, entry),
    }
    return render(request, "knowledge_form.html", context, status_code=error.status_code if error else 200)


def _updated_by(session: Session, entry: KnowledgeEntry | None) -> str:
    if entry is None or entry.updated_by_id is None:
        return ""
    try:
        return staff_service.get_user(session, entry.updated_by_id).name
    except DomainError:
        return ""


# --- the list ------------------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def entries_page(
    request: Request,
    session: SessionDep,
    signed: ConsolePage,
    q: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=12)] = "",
    review: Annotated[str, Query(max_length=1)] = "",
    page: Annotated[str, Query(max_length=6)] = "1",
) -> HTMLResponse:
    """Entries by title or question, one status or all; those past their review date first and marked, or alone."""
    status = status if status in ENTRY_STATUSES else ""
    entries = service.list_entries(session, status=status or None, query=q.strip() or None)
    due = {entry.id for entry in service.due_for_review(session, today())}
    # Those due for review first (a stable sort: otherwise the service's order, the latest changed first).
    entries = sorted(entries, key=lambda entry: entry.id not in due)
    if review == "1":
        entries = [entry for entry in entries if entry.id in due]
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = min(int(page), pages) if page.isascii() and page.isdigit() and int(page) > 0 else 1
    filters = {"q": q, "status": status, "review": "1" if review == "1" else ""}
    context = {
        "signed": signed,
        "entries": entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "total": len(entries),
        "due": due,
        "due_here": sum(1 for entry in entries if entry.id in due),
        "review_link": f"{HOME}?{urlencode({k: v for k, v in filters.items() if v} | {'review': '1'})}",
        "filters": filters,
        "page": page,
        "pages": pages,
        "page_link": lambda n: f"{HOME}?{urlencode({k: v for k, v in filters.items() if v} | {'page': n})}",
        "entry_statuses": ENTRY_STATUSES,
        "candidate_count": len(service.candidates(session, limit=CANDIDATE_LIMIT)),
    }
    return render(request, "knowledge.html", context)


# --- candidates (declared before /{entry_id}, which would take "candidates" for an id) -----------------------


@router.get("/candidates", response_class=HTMLResponse)
def candidates_page(
    request: Request,
    session: SessionDep,
    signed: ConsolePage,
    saved: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """Questions the assistant could not answer, or whose answer did not help, grouped and masked."""
    rows = [
        {
            "text": candidate.text,
            "count": candidate.count,
            "last_asked_at": candidate.last_asked_at,
            "reason": REASONS.get(candidate.reason, candidate.reason),
            "reason_code": candidate.reason,
            "language": candidate.language,
            "ask_ids": candidate.ask_ids,
            "new_link": f"{HOME}/new?"
            + urlencode([("question", candidate.text), *(("ask_id", n) for n in candidate.ask_ids[:CARRIED_ASKS])]),
        }
        for candidate in service.candidates(session, limit=CANDIDATE_LIMIT)
    ]
    context = {"signed": signed, "rows": rows, "limit": CANDIDATE_LIMIT, "saved": SAVED.get(saved)}
    return render(request, "knowledge_candidates.html", context)


@router.post("/candidates/dismiss")
def dismiss_candidate(
    session: SessionDep,
    signed: ConsoleForm,
    ask_id: Annotated[list[str] | None, Form()] = None,
) -> Response:
    service.dismiss_candidates(session, _ids(ask_id or []))
    session.commit()
    return RedirectResponse(f"{CANDIDATES}?saved=dismissed", status_code=303)


# --- one entry -----------------------------------------------------------------------------------------------


@router.get("/new", response_class=HTMLResponse)
def new_entry_page(
    request: Request,
    session: SessionDep,
    signed: ConsolePage,
    question: Annotated[str, Query(max_length=300)] = "",
    ask_id: Annotated[list[str] | None, Query()] = None,
) -> HTMLResponse:
    """A blank form; from a candidate, its question as the first question form, and its asks to set aside once
    the entry is saved."""
    form = {"questions": question.strip()}
    return _form_page(request, session, signed, None, form, ask_ids=_ids(ask_id or []))


@router.post("")
def create_entry(
    request: Request,
    session: SessionDep,
    signed: ConsoleForm,
    form: Annotated[EntryForm, Depends()],
    action: Annotated[str, Form(max_length=10)] = "save",
) -> Response:
    """A new entry as a draft, or published at once by an admin; the candidate it came from is set aside."""
    publish = action == "publish"
    if publish:
        _require_publisher(signed)
    try:
        entry = service.save_entry(session, form.fields(), by=signed.user)
        service.dismiss_candidates(session, form.ask_ids)
        if publish:
            _set_status(session, signed, entry.id, "published")
        session.commit()
    except DomainError as error:
        session.rollback()
        return _form_page(request, session, signed, None, form.values, ask_ids=form.ask_ids, error=error)
    return RedirectResponse(f"{HOME}/{entry.id}?saved={'published' if publish else 'created'}", status_code=303)


@router.get("/{entry_id}", response_class=HTMLResponse)
def entry_page(
    request: Request,
    entry_id: Id,
    session: SessionDep,
    signed: ConsolePage,
    saved: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    try:
        entry = service.get_entry(session, entry_id)
    except DomainError as error:
        return error_page(request, signed, error, HOME)
    return _form_page(request, session, signed, entry, _form_values(entry), saved=SAVED.get(saved))


@router.post("/{entry_id}")
def edit_entry(
    request: Request,
    entry_id: Id,
    session: SessionDep,
    signed: ConsoleForm,
    form: Annotated[EntryForm, Depends()],
) -> Response:
    try:
        entry = service.get_entry(session, entry_id)
    except DomainError as error:
        return error_page(request, signed, error, HOME)
    try:
        service.save_entry(session, form.fields(), entry_id=entry_id, by=signed.user)
        session.commit()
    except DomainError as error:
        session.rollback()
        entry = service.get_entry(session, entry_id)
        return _form_page(request, session, signed, entry, form.values, error=error)
    return RedirectResponse(f"{HOME}/{entry.id}?saved=saved", status_code=303)


@router.post("/{entry_id}/publish")
def publish_entry(request: Request, entry_id: Id, session: SessionDep, signed: ConsoleForm) -> Response:
    return _change_status(request, session, signed, entry_id, "published")


@router.post("/{entry_id}/withdraw")
def withdraw_entry(request: Request, entry_id: Id, session: SessionDep, signed: ConsoleForm) -> Response:
    return _change_status(request, session, signed, entry_id, "withdrawn")


@router.post("/{entry_id}/draft")
def draft_entry(request: Request, entry_id: Id, session: SessionDep, signed: ConsoleForm) -> Response:
    return _change_status(request, session, signed, entry_id, "draft")


def _change_status(request: Request, session: Session, signed: Signed, entry_id: int, status: str) -> Response:
    _require_publisher(signed)
    back = f"{HOME}/{entry_id}"
    try:
        _set_status(session, signed, entry_id, status)
        session.commit()
    except DomainError as error:
        session.rollback()
        return error_page(request, signed, error, back)
    return RedirectResponse(f"{back}?saved={status}", status_code=303)


def _set_status(session: Session, signed: Signed, entry_id: int, status: str) -> None:
    """The change and, in the same transaction, the audit log's line of who made it."""
    service.set_status(session, entry_id, status, by=signed.user)
    staff_service.audit(session, signed.user, AUDIT_ACTIONS[status], f"knowledge_entry:{entry_id}")
