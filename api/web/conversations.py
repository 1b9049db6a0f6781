"""Console pages of the handoff queue and of one conversation: claim, reply, reveal, transfer, close, live updates."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.conversations import handoffs, inbox
from api.conversations.departments import DEFAULT_DEPARTMENT, DEPARTMENTS, department_names
from api.conversations.models import Conversation, Handoff, Message
from api.conversations.outbox import language_of
from api.core.errors import DomainError, InvalidInput
from api.core.ids import MAX_ID, Id
from api.deps import SessionDep
from api.staff import service as staff_service
from api.staff.models import StaffUser
from api.tours import service as tours_service
from api.web.auth import ConsoleForm, ConsolePage, Signed, stream_user
from api.web.contacts import PHONE_DIGITS, contacts, conversations_with_phone_ending
from api.web.pages import CHANNELS, STATUSES, TEMPLATES, error_page, render, seoul, waited
from common.clock import utcnow
from common.masking import mask_name, mask_phone, redact_phones

router = APIRouter(prefix="/console", include_in_schema=False)
MAX_REASON_CHARS = 300
# A comment line this often lets the server notice a closed browser tab even when nothing happens.
KEEP_ALIVE_SECONDS = 15
OUTBOX_LABELS = {
    "handoff_closed": "안내",
    "handoff_claimed": "안내",
    "satisfaction_question": "만족도 질문",
    "reminder": "알림",
    "notice": "공지",
    "waitlist_offer": "대기 안내",
}
# What the conversation page confirms after an action: the redirect names one of these, never free text.
DONE = {
    "sent": "메시지를 보냈어요. 시민의 대화창으로 전달 중이에요.",
    "closed": "상담을 끝냈어요. 시민에게 챗봇이 다시 돕는다는 안내와 만족도 질문이 갔어요.",
    "claimed": "이 대화를 맡았어요. 아래 입력창에 답장을 적어 주세요.",
    "assigned": "담당자를 바꿨어요. 새 담당자의 대기열 화면에 나타나요.",
    "note": "메모를 남겼어요. 직원끼리만 보이고 시민에게는 가지 않아요.",
    "labelled": "라벨을 붙였어요.",
    "unlabelled": "라벨을 뗐어요.",
}
BOOKING_STATUSES = {"confirmed": "예약 확정", "cancelled": "취소됨"}
Done = Annotated[str, Query(max_length=20)]


@router.get("")
@router.get("/")
def console_home(signed: ConsolePage) -> RedirectResponse:
    return RedirectResponse("/console/queue", status_code=303)


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, session: SessionDep, signed: ConsolePage) -> HTMLResponse:
    return render(request, "queue.html", _queue_context(request, session, signed))


@router.get("/queue/live")
def queue_live(request: Request, session: SessionDep, signed: ConsolePage) -> JSONResponse:
    """What the open queue page polls every few seconds: the counts for its title badge and the tables redrawn.
    Without a session the answer is the sign-in redirect, which the page takes as "reload"."""
    context = _queue_context(request, session, signed)
    html = TEMPLATES.get_template("queue_tables.html").render({**context, "request": request})
    body = {
        "waiting": sum(len(rows) for rows in context["queue"].values()),
        "mine": len(context["mine"]),
        "newest": max((row["handoff_id"] for rows in context["queue"].values() for row in rows), default=0),
        "html": html,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/handoffs/{handoff_id}/claim")
def claim(request: Request, handoff_id: Id, session: SessionDep, signed: ConsoleForm) -> Response:
    try:
        handoff = handoffs.claim(session, handoff_id, signed.user)
    except DomainError as error:
        return error_page(request, signed, error, "/console/queue")
    return RedirectResponse(f"/console/conversations/{handoff.conversation_id}?done=claimed", status_code=303)


@router.post("/handoffs/{handoff_id}/assign")
def assign(
    request: Request,
    handoff_id: Id,
    session: SessionDep,
    signed: ConsoleForm,
    assignee_id: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Give the conversation to a colleague (not only take it oneself)."""
    try:
        if not assignee_id.isascii() or not assignee_id.isdigit():
            raise InvalidInput("Choose a colleague.", "맡길 직원을 골라 주세요.")
        assignee = staff_service.get_user(session, int(assignee_id))
        handoff = inbox.assign(session, handoff_id, signed.user, assignee)
    except DomainError as error:
        session.rollback()
        return error_page(request, signed, error, "/console/queue")
    return RedirectResponse(f"/console/conversations/{handoff.conversation_id}?done=assigned", status_code=303)


@router.post("/handoffs/{handoff_id}/transfer")
def transfer(
    request: Request,
    handoff_id: Id,
    session: SessionDep,
    signed: ConsoleForm,
    department: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        handoffs.transfer(session, handoff_id, signed.user, department)
    except DomainError as error:
        return error_page(request, signed, error, "/console/queue")
    return RedirectResponse("/console/queue", status_code=303)


@router.post("/handoffs/{handoff_id}/close")
def close(
    request: Request,
    handoff_id: Id,
    session: SessionDep,
    signed: ConsoleForm,
    outcome: Annotated[str, Form(max_length=handoffs.MAX_OUTCOME_CHARS)] = "",
) -> Response:
    try:
        handoff = handoffs.close(session, handoff_id, signed.user, outcome)
    except DomainError as error:
        return error_page(request, signed, error, "/console/queue")
    # The staff member stays with the conversation they closed, and the page says what happened.
    return RedirectResponse(f"/console/conversations/{handoff.conversation_id}?done=closed", status_code=303)


@router.get("/conversations", response_class=HTMLResponse)
def find_conversations(
    request: Request,
    session: SessionDep,
    signed: ConsolePage,
    q: Annotated[str, Query(max_length=inbox.MAX_SEARCH_CHARS)] = "",
    phone: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=12)] = "",
    department: Annotated[str, Query(max_length=20)] = "",
    label: Annotated[str, Query(max_length=inbox.MAX_LABEL_CHARS)] = "",
    channel: Annotated[str, Query(max_length=12)] = "",
    assignee: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=inbox.MAX_PAGE)] = 1,
) -> HTMLResponse:
    """Search by words the citizen or staff wrote, or by a phone's last digits; filters narrow it; 20 a page.
    An unknown filter value is dropped rather than refused: the page is a link staff pass around."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    labels = inbox.all_labels(session)
    colleagues = [u for u in staff_service.list_users(session) if u.active]
    chosen = {
        "q": q.strip(),
        "phone": digits,
        "status": status if status in inbox.STATUS_FILTERS else "",
        "department": department if department in DEPARTMENTS else "",
        "label": label if label in labels else "",
        "channel": channel if channel in CHANNELS else "",
        "assignee": assignee if assignee in {str(u.id) for u in colleagues} else "",
    }
    error = None
    if phone.strip() and not PHONE_DIGITS.match(digits):
        error = "전화번호는 끝자리 4자리 이상 숫자로 적어 주세요. 예: 5678"
    filters = inbox.Filters(
        text=chosen["q"],
        status=chosen["status"],
        department=chosen["department"],
        label=chosen["label"],
        channel=chosen["channel"],
        assignee_id=int(chosen["assignee"]) if chosen["assignee"] else None,
        conversation_ids=conversations_with_phone_ending(session, digits) if digits and not error else None,
        page=page,
        # The audit log keeps the words searched as they were, and each filter as name=value.
        described=" ".join([chosen["q"], *(f"{k}={v}" for k, v in chosen.items() if v and k != "q")]).strip(),
    )
    try:
        found = inbox.search(session, signed.user, filters)
    except DomainError as error:
        return error_page(request, signed, error, "/console/queue")
    shown = contacts(session, found.conversations)
    labelled = inbox.labels_of(session, {c.id for c in found.conversations})
    previews = inbox.last_words(session, {c.id for c in found.conversations})
    rows = [
        {
            "conversation": c,
            "contact": shown[c.id],
            "labels": labelled.get(c.id, []),
            "preview": previews.get(c.id, ""),
            "handoff": found.latest.get(c.id),
        }
        for c in found.conversations
    ]
    context = {
        "signed": signed,
        "chosen": chosen,
        "error": error,
        "rows": rows,
        "page": found,
        "labels": labels,
        "colleagues": colleagues,
        "departments": department_names("ko"),
        "statuses": {s: STATUSES.get(s, "상담 요청 없음") for s in inbox.STATUS_FILTERS},
        "filtered": any(chosen.values()),
        "page_link": lambda number: "?" + urlencode([*((k, v) for k, v in chosen.items() if v), ("page", number)]),
    }
    return render(request, "conversations.html", context)


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(
    request: Request, conversation_id: Id, session: SessionDep, signed: ConsolePage, done: Done = ""
) -> Response:
    try:
        conversation = handoffs.read_conversation(session, conversation_id, signed.user)
    except DomainError as error:
        return error_page(request, signed, error, "/console/queue")
    return _conversation_page(request, session, signed, conversation, revealed=False, done=DONE.get(done))


@router.post("/conversations/{conversation_id}/notes")
def add_note(
    request: Request,
    conversation_id: Id,
    session: SessionDep,
    signed: ConsoleForm,
    text: Annotated[str, Form(max_length=inbox.MAX_NOTE_CHARS + 100)] = "",
) -> Response:
    act = partial(inbox.add_note, session, conversation_id, signed.user, text)
    return _act_and_return(request, session, signed, conversation_id, act, "note#notes")


@router.post("/conversations/{conversation_id}/labels")
def add_label(
    request: Request,
    conversation_id: Id,
    session: SessionDep,
    signed: ConsoleForm,
    label: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    act = partial(inbox.add_label, session, conversation_id, signed.user, label)
    return _act_and_return(request, session, signed, conversation_id, act, "labelled#labels")


@router.post("/conversations/{conversation_id}/labels/remove")
def remove_label(
    request: Request,
    conversation_id: Id,
    session: SessionDep,
    signed: ConsoleForm,
    label: Annotated[str, Form(max_length=inbox.MAX_LABEL_CHARS)] = "",
) -> Response:
    act = partial(inbox.remove_label, session, conversation_id, signed.user, label)
    return _act_and_return(request, session, signed, conversation_id, act, "unlabelled#labels")


@router.post("/conversations/{conversation_id}/reveal", response_class=HTMLResponse)
def reveal(
    request: Request,
    conversation_id: Id,
    session: SessionDep,
    signed: ConsoleForm,
    reason: Annotated[str, Form(max_length=MAX_REASON_CHARS)] = "",
) -> Response:
    """Names and phone numbers in full, once, for a stated reason that the audit log keeps with who and when."""
    back = f"/console/conversations/{conversation_id}"
    try:
        if not reason.strip():
            raise InvalidInput("Say why you need the full data.", "개인정보를 보는 이유를 적어 주세요.")
        conversation = handoffs.read_conversation(
            session, conversation_id, signed.user, "reveal_conversation", reason.strip()
        )
    except DomainError as error:
        return error_page(request, signed, error, back)
    return _conversation_page(request, session, signed, conversation, revealed=True)


@router.post("/conversations/{conversation_id}/reply")
def reply(
    request: Request,
    conversation_id: Id,
    session: SessionDep,
    signed: ConsoleForm,
    text: Annotated[str, Form(max_length=handoffs.MAX_TEXT_CHARS)] = "",
) -> Response:
    back = f"/console/conversations/{conversation_id}"
    try:
        handoffs.reply(session, conversation_id, signed.user, text)
    except DomainError as error:
        return error_page(request, signed, error, back)
    # Back where they were: at the reply box, under the newest message, with a confirmation.
    return RedirectResponse(f"{back}?done=sent#reply-form", status_code=303)


@router.post("/conversations/{conversation_id}/start")
def start(
    request: Request,
    conversation_id: Id,
    session: SessionDep,
    signed: ConsoleForm,
    text: Annotated[str, Form(max_length=handoffs.MAX_TEXT_CHARS)] = "",
    department: Annotated[str, Form(max_length=20)] = DEFAULT_DEPARTMENT,
) -> Response:
    back = f"/console/conversations/{conversation_id}"
    try:
        handoffs.start(session, conversation_id, signed.user, text, department)
    except DomainError as error:
        return error_page(request, signed, error, back)
    return RedirectResponse(back, status_code=303)


@router.get("/conversations/{conversation_id}/events")
async def events(
    request: Request,
    conversation_id: Id,
    user: Annotated[StaffUser, Depends(stream_user)],
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_ID)] = None,
) -> StreamingResponse:
    """Server-sent events: each new transcript message (masked), and the request's status when it changes."""
    maker = request.app.state.sessionmaker
    settings = request.app.state.settings
    await run_in_threadpool(_start_reading, maker, conversation_id, user)
    # A browser reconnecting after the stream ended says where it got to.
    start_after = max(after, last_event_id or 0)
    stream = _event_stream(
        maker, conversation_id, start_after, settings.console_events_poll_seconds, settings.console_events_max_seconds
    )
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


# --- helpers ------------------------------------------------------------------------------------


def _act_and_return(
    request: Request, session: Session, signed: Signed, conversation_id: int, act: Callable[[], object], done: str
) -> Response:
    """One action on a conversation, then back to it where the form was (`done`: a DONE key and an #anchor), or the
    reason in Korean when a rule said no."""
    back = f"/console/conversations/{conversation_id}"
    try:
        act()
    except DomainError as error:
        session.rollback()
        return error_page(request, signed, error, back)
    return RedirectResponse(f"{back}?done={done}", status_code=303)


def _queue_context(request: Request, session: Session, signed: Signed) -> dict:
    """The queue by department and the signed-in person's own conversations, each row saying who and what."""
    hours = handoffs.OfficeHours.from_settings(request.app.state.settings)
    now = utcnow()
    waiting = handoffs.waiting_queue(session)
    mine = handoffs.claimed_by(session, signed.user)
    conversations = [h.conversation for h in [*waiting, *mine]]
    shown = contacts(session, conversations)
    previews = inbox.last_words(session, {c.id for c in conversations})
    labelled = inbox.labels_of(session, {c.id for c in conversations})

    def row(handoff: Handoff) -> dict:
        conversation = handoff.conversation
        return {
            "handoff_id": handoff.id,
            "conversation_id": conversation.id,
            "contact": shown[conversation.id],
            "preview": previews.get(conversation.id, ""),
            "labels": labelled.get(conversation.id, []),
            "channel": CHANNELS.get(conversation.channel, conversation.channel),
            "language": language_of(conversation),
            "department": handoff.department,
            "reason": handoff.reason,
            "waited": waited(handoff.queued_at or handoff.requested_at),
            "claimed_for": waited(handoff.claimed_at),
            "last_message_at": conversation.last_message_at,
        }

    names = department_names("ko")
    own = signed.user.department
    return {
        "signed": signed,
        # The staff member's own department's queue comes first.
        "departments": {code: names[code] for code in sorted(names, key=lambda code: code != own)},
        "queue": {code: [row(h) for h in waiting if h.department == code] for code in DEPARTMENTS},
        "mine": [row(h) for h in mine],
        "own_department": signed.user.department,
        "office_open": hours.is_open(now),
        "next_opening": None if hours.is_open(now) else hours.next_opening(now),
    }


def _conversation_page(
    request: Request,
    session: Session,
    signed: Signed,
    conversation: Conversation,
    revealed: bool,
    done: str | None = None,
) -> HTMLResponse:
    handoff = handoffs.open_handoff(session, conversation.id)
    messages = handoffs.transcript(session, conversation.id)
    language = language_of(conversation)
    bookings = tours_service.bookings_of_channel_user(session, conversation.channel, conversation.channel_user_id)
    context = {
        "signed": signed,
        "conversation": conversation,
        "handoff": handoff,
        "latest": handoff or handoffs.latest_handoff(session, conversation.id),
        "mine": handoff is not None and handoff.status == "claimed" and handoff.claimed_by_id == signed.user.id,
        "may_act": handoff is not None
        and (handoff.status == "waiting" or handoff.claimed_by_id == signed.user.id or signed.user.role == "admin"),
        "language": language,
        "messages": _message_views(session, messages, revealed),
        "last_id": messages[-1].id if messages else 0,
        "revealed": revealed,
        "bookings": [_booking_view(b, revealed) for b in bookings],
        "canned": [
            {"title": c.title, "text": c.text_en if language == "en" else c.text_ko}
            for c in handoffs.canned_replies(session)
        ],
        "departments": department_names("ko"),
        "done": done,
        "contact": contacts(session, [conversation])[conversation.id],
        "notes": inbox.notes(session, conversation.id),
        "labels": inbox.labels_of(session, {conversation.id}).get(conversation.id, []),
        "known_labels": inbox.all_labels(session),
        "colleagues": [u for u in staff_service.list_users(session) if u.active and u.id != signed.user.id],
        "may_assign": handoff is not None
        and (handoff.status == "waiting" or handoff.claimed_by_id == signed.user.id or signed.user.role == "admin"),
    }
    return render(request, "conversation.html", context)


def _booking_view(booking, revealed: bool) -> dict:
    return {
        "code": booking.code,
        "status": BOOKING_STATUSES.get(booking.status, booking.status),
        "starts_at": seoul(booking.run.starts_at, "%Y-%m-%d %H:%M"),
        "seats": booking.seats,
        "name": (booking.booker_name or "") if revealed else mask_name(booking.booker_name or ""),
        "phone": (booking.booker_phone or "") if revealed else mask_phone(booking.booker_phone or ""),
    }


def _message_views(session: Session, messages: list[Message], revealed: bool) -> list[dict]:
    staff_ids = {(m.payload or {}).get("staff_id") for m in messages} - {None}
    staff_names = staff_service.names(session, {i for i in staff_ids if isinstance(i, int)})
    views = [_message_view(m, staff_names, revealed) for m in messages]
    # A reply that only carried a channel instruction (take the location keyboard away) shows the staff nothing.
    return [v for v in views if v["text"] or v["buttons"]]


def _message_view(message: Message, staff_names: dict[int, str], revealed: bool) -> dict:
    extras = message.payload or {}
    kind = extras.get("kind")
    if message.direction == "in":
        who = "시민"
    elif kind == "staff_reply":
        who = f"직원 {staff_names.get(extras.get('staff_id'), '')}".strip()
    elif kind:
        who = OUTBOX_LABELS.get(kind, "알림")
    else:
        who = "챗봇"
    text = message.text or ("[버튼 선택]" if extras.get("button") else "")
    return {
        "id": message.id,
        "direction": message.direction,
        "who": who,
        "text": text if revealed else redact_phones(text),
        "time": seoul(message.created_at),
        "buttons": [str(b.get("title", "")) for b in extras.get("buttons") or [] if isinstance(b, dict)]
        + _custom_buttons(extras.get("custom")),
    }


def _custom_buttons(custom: object) -> list[str]:
    """The title of a button a channel draws from a reply's custom payload (Telegram's "send my location")."""
    title = custom.get("location_button") if isinstance(custom, dict) else None
    return [str(title)] if title else []


def _start_reading(maker: sessionmaker[Session], conversation_id: int, user: StaffUser) -> None:
    with maker() as session:
        handoffs.read_conversation(session, conversation_id, user, "stream_conversation")


def _status_of(handoff: Handoff | None, staff_names: dict[int, str]) -> dict:
    if handoff is None:
        return {"status": None, "label": "상담 요청 없음"}
    label = STATUSES.get(handoff.status, handoff.status)
    if handoff.status == "claimed":
        label = f"{label} · {staff_names.get(handoff.claimed_by_id, '')}"
    return {"status": handoff.status, "label": label, "handoff_id": handoff.id}


def _poll(maker: sessionmaker[Session], conversation_id: int, after: int) -> tuple[list[dict], dict]:
    with maker() as session:
        messages = handoffs.messages_after(session, conversation_id, after)
        views = _message_views(session, messages, revealed=False)
        handoff = handoffs.latest_handoff(session, conversation_id)
        names = staff_service.names(session, {handoff.claimed_by_id} if handoff and handoff.claimed_by_id else set())
        return views, _status_of(handoff, names)


def _event(data: dict, event: str | None = None, event_id: int | None = None) -> str:
    lines = [f"event: {event}"] if event else []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {json.dumps(data, ensure_ascii=False)}")
    return "\n".join(lines) + "\n\n"


async def _event_stream(
    maker: sessionmaker[Session], conversation_id: int, after: int, poll_seconds: float, max_seconds: float
) -> AsyncIterator[str]:
    deadline = time.monotonic() + max_seconds
    last_status, last_sent = None, time.monotonic()
    yield "retry: 2000\n\n"
    while True:
        views, status = await run_in_threadpool(_poll, maker, conversation_id, after)
        for view in views:
            yield _event(view, event_id=view["id"])
            after, last_sent = view["id"], time.monotonic()
        if status != last_status:
            yield _event(status, event="handoff")
            last_status, last_sent = status, time.monotonic()
        if time.monotonic() - last_sent >= KEEP_ALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(poll_seconds)
