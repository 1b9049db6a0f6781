"""Rules of citizen reports (생활불편 신고): filing (with duplicate merge, a daily limit and idempotency), receipt
numbers, first-answer deadlines in working hours, staff actions that tell every reporter, ratings, retention.

Citizen-side functions (`file_report`, `rate`) commit; staff-side functions (`assign`, `change_status`, `transfer`,
`add_note`, `send_message`, `add_kind`) write the change, its ReportEvent and its outbox messages to the caller's
transaction and leave the commit to the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.conversations import outbox
from api.conversations.handoffs import OfficeHours
from api.conversations.service import conversation_of, conversations_by_id, get_or_create_conversation, serialize_on
from api.core.settings import Settings, get_settings
from api.identity.service import normalize_phone
from api.opendata import errors as opendata_errors
from api.opendata.facilities import OutsidePaju, distance_m
from api.opendata.places import find_place, is_in_paju, nearest_district
from api.reports import messaging, photos
from api.reports.departments import FIELD_DEPARTMENTS, department_name, first_answer_hours
from api.reports.errors import (
    AlreadyRated,
    ConsentRequired,
    IdempotencyKeyReused,
    InvalidRating,
    InvalidReport,
    InvalidStatusChange,
    NotYourReport,
    PlaceNotFound,
    PlaceRequired,
    ReportCaseNotFound,
    ReportClosed,
    ReportKindExists,
    ReportNotDone,
    ReportPhotoNotFound,
    TooManyPhotos,
    TooManyReports,
    UnknownDepartment,
    UnknownReportKind,
)
from api.reports.kinds import SEEDED_KINDS
from api.reports.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    ReportCase,
    ReportEvent,
    ReportKind,
    ReportPhoto,
    ReportReporter,
)
from common.clock import SEOUL, utcnow
from common.masking import erase_phones

if TYPE_CHECKING:
    from api.conversations.models import Conversation
    from api.staff.models import StaffUser

MAX_DESCRIPTION_CHARS = 500
MAX_STAFF_TEXT_CHARS = 2000
MAX_PLACE_CHARS = 120
RECEIPT_PATTERN = re.compile(r"^PJ-(\d{4})-(\d{6,})$")
KIND_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,19}$")
# Statuses staff set with change_status; assigned comes with `assign`, transferred with `transfer`.
STAFF_STATUSES = ("in_progress", "done", "rejected")
# A citizen's list shows closed cases this long after they closed.
CLOSED_LISTED_FOR = timedelta(days=30)
# Events the citizen sees in a case's history.
PUBLIC_ACTIONS = ("filed", "assigned", "status", "transferred", "message")


# --- what a citizen files -------------------------------------------------------------------------------------


@dataclass
class NewReport:
    channel: str
    channel_user_id: str
    kind: str
    description: str
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photo_ids: list[int] = field(default_factory=list)
    callback_phone: str | None = None
    consent_text: str | None = None


@dataclass
class Filed:
    case: ReportCase
    merged: bool  # the citizen was added to an open case of the same kind nearby


@dataclass
class _Where:
    place_name: str | None
    latitude: float | None  # a point only when the citizen gave one (shared location or photo), not a place name
    longitude: float | None
    district: str | None


def receipt_number(case_id: int, created_at: datetime) -> str:
    """ "PJ-2026-000123": the Seoul year of filing and the case's id."""
    return f"PJ-{created_at.astimezone(SEOUL).year}-{case_id:06d}"


def due_after_working_hours(start: datetime, hours: float, office_hours: OfficeHours) -> datetime:
    """`start` plus `hours` counted only while the office is open (weekdays 09–18 Seoul, not on holidays)."""
    remaining = timedelta(hours=hours)
    at = start.astimezone(SEOUL)
    while True:
        if not office_hours.is_open(at):
            at = office_hours.next_opening(at)
        closing = datetime.combine(at.date(), office_hours.closes, SEOUL)
        if remaining <= closing - at:
            return at + remaining
        remaining -= closing - at
        at = closing


def file_report(
    session: Session,
    report: NewReport,
    idempotency_key: str | None = None,
    *,
    settings: Settings,
    now: datetime | None = None,
) -> Filed:
    """Files a citizen's report, or adds them to an open case of the same kind filed nearby today. Commits.

    The same Idempotency-Key again answers with the case it filed; the same citizen reporting the same thing
    nearby again is answered with their case, and neither counts again towards the day's limit.
    """
    now = now or utcnow()
    if idempotency_key:
        earlier = _case_by_key(session, idempotency_key)
        if earlier is not None:
            return _same_request(session, earlier, report)
    kind = _active_kind(session, report.kind)
    description = _check_description(report.description)
    phone = _check_phone(report.callback_phone, report.consent_text)
    conversation = get_or_create_conversation(session, report.channel, report.channel_user_id)
    attached = _photos_of(session, conversation.id, report.photo_ids)
    where = _where(report, attached)
    serialize_on(session, conversation, now)

    duplicate = _duplicate_of(session, kind.code, where, now, settings) if where.latitude is not None else None
    if duplicate is not None:
        mine = _reporter(session, duplicate.id, conversation.id)
        if mine is not None:
            _attach(duplicate, attached)
            session.commit()
            return Filed(duplicate, mine.merged)
    _check_daily_limit(session, conversation.id, now, settings)
    if duplicate is not None:
        filed = _merge(session, duplicate, conversation, attached, phone, report.consent_text, now)
    else:
        filed = _file_new(
            session,
            kind,
            conversation,
            description,
            where,
            attached,
            phone,
            report.consent_text,
            idempotency_key,
            now,
            settings,
        )
    try:
        session.commit()
    except IntegrityError:
        # The same Idempotency-Key arrived twice at once and the other request filed it.
        session.rollback()
        earlier = _case_by_key(session, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise
        return _same_request(session, earlier, report)
    return filed


def _case_by_key(session: Session, idempotency_key: str) -> ReportCase | None:
    return session.scalar(select(ReportCase).where(ReportCase.idempotency_key == idempotency_key))


def _same_request(session: Session, earlier: ReportCase, report: NewReport) -> Filed:
    conversation = conversation_of(session, report.channel, report.channel_user_id)
    mine = _reporter(session, earlier.id, conversation.id) if conversation else None
    if mine is None or earlier.kind != report.kind:
        raise IdempotencyKeyReused(*messaging.IDEMPOTENCY_KEY_REUSED)
    return Filed(earlier, mine.merged)


def _reporter(session: Session, case_id: int, conversation_id: int) -> ReportReporter | None:
    return session.scalar(
        select(ReportReporter).where(
            ReportReporter.case_id == case_id, ReportReporter.conversation_id == conversation_id
        )
    )


def _active_kind(session: Session, code: str) -> ReportKind:
    kind = session.get(ReportKind, code) if isinstance(code, str) and len(code) <= 20 else None
    if kind is None or not kind.active:
        raise UnknownReportKind(*messaging.unknown_kind(str(code)[:40]))
    return kind


def _check_description(description: str) -> str:
    text = (description or "").strip()
    if not text or len(text) > MAX_DESCRIPTION_CHARS:
        raise InvalidReport(*messaging.DESCRIPTION_NEEDED)
    return text


def _check_phone(phone: str | None, consent_text: str | None) -> str | None:
    if not phone or not phone.strip():
        return None
    if not consent_text or not consent_text.strip():
        raise ConsentRequired(*messaging.CONSENT_REQUIRED)
    return normalize_phone(phone)


def _photos_of(session: Session, conversation_id: int, photo_ids: list[int]) -> list[ReportPhoto]:
    """The citizen's own unfiled photos with these ids, in the order given."""
    wanted = list(dict.fromkeys(photo_ids))
    if len(wanted) > photos.MAX_PHOTOS_PER_CASE:
        raise TooManyPhotos(*messaging.too_many_photos_for_case(photos.MAX_PHOTOS_PER_CASE))
    if not wanted:
        return []
    found = {
        photo.id: photo
        for photo in session.scalars(
            select(ReportPhoto).where(
                ReportPhoto.id.in_(wanted),
                ReportPhoto.conversation_id == conversation_id,
                ReportPhoto.case_id.is_(None),
            )
        )
    }
    if len(found) != len(wanted):
        raise ReportPhotoNotFound(*messaging.PHOTO_NOT_FOUND)
    return [found[photo_id] for photo_id in wanted]


def _where(report: NewReport, attached: list[ReportPhoto]) -> _Where:
    """Where the problem is: the point the citizen shared, else the place they named, else a photo's point inside
    Paju (a photo may have been taken elsewhere or long ago: its point never overrides what the citizen said)."""
    latitude, longitude = report.latitude, report.longitude
    place_name = report.place.strip()[:MAX_PLACE_CHARS] if report.place and report.place.strip() else None
    if (latitude is None or longitude is None) and place_name is None:
        located = next(
            (p for p in attached if p.latitude is not None and is_in_paju(p.latitude, p.longitude)),
            None,
        )
        latitude, longitude = (located.latitude, located.longitude) if located else (None, None)
    if latitude is not None and longitude is not None:
        if not is_in_paju(latitude, longitude):
            raise OutsidePaju(*messaging.OUTSIDE_PAJU)
        return _Where(place_name, latitude, longitude, nearest_district(latitude, longitude))
    if place_name is None:
        raise PlaceRequired(*messaging.PLACE_NEEDED)
    try:
        place = find_place(place_name)
    except opendata_errors.PlaceNotFound as error:
        raise PlaceNotFound(*messaging.place_not_found(place_name)) from error
    return _Where(place_name, None, None, nearest_district(place.lat, place.lon))


def _seoul_day_start(now: datetime) -> datetime:
    return photos.seoul_midnight(now)


def _duplicate_of(session: Session, kind: str, where: _Where, now: datetime, settings: Settings) -> ReportCase | None:
    """The nearest open case of the same kind filed today (Seoul) within REPORT_DUPLICATE_METRES of the point."""
    candidates = session.scalars(
        select(ReportCase).where(
            ReportCase.kind == kind,
            ReportCase.status.in_(OPEN_STATUSES),
            ReportCase.created_at >= _seoul_day_start(now),
            ReportCase.latitude.is_not(None),
        )
    ).all()
    measured = [
        (distance_m(where.latitude, where.longitude, case.latitude, case.longitude), case.id, case)
        for case in candidates
    ]
    near = [item for item in measured if item[0] <= settings.report_duplicate_metres]
    return min(near, key=lambda item: item[:2])[2] if near else None


def _check_daily_limit(session: Session, conversation_id: int, now: datetime, settings: Settings) -> None:
    filed_today = session.scalar(
        select(func.count())
        .select_from(ReportReporter)
        .join(ReportCase, ReportCase.id == ReportReporter.case_id)
        .where(
            ReportReporter.conversation_id == conversation_id,
            ReportReporter.created_at >= _seoul_day_start(now),
            ReportCase.status.in_(OPEN_STATUSES),
        )
    )
    if filed_today >= settings.reports_per_day:
        raise TooManyReports(*messaging.too_many_reports(settings.reports_per_day))


def _file_new(
    session: Session,
    kind: ReportKind,
    conversation: Conversation,
    description: str,
    where: _Where,
    attached: list[ReportPhoto],
    phone: str | None,
    consent_text: str | None,
    idempotency_key: str | None,
    now: datetime,
    settings: Settings,
) -> Filed:
    case = ReportCase(
        kind=kind.code,
        department=kind.department,
        status="received",
        language=outbox.language_of(conversation),
        description=description,
        place_name=where.place_name,
        latitude=where.latitude,
        longitude=where.longitude,
        district=where.district,
        callback_phone=phone,
        consent_text=consent_text.strip() if phone and consent_text else None,
        consented_at=now if phone else None,
        idempotency_key=idempotency_key,
        created_at=now,
        due_at=due_after_working_hours(now, first_answer_hours(kind.department), OfficeHours.from_settings(settings)),
    )
    session.add(case)
    session.flush()
    case.receipt_no = receipt_number(case.id, now)
    session.add(ReportReporter(case_id=case.id, conversation_id=conversation.id, created_at=now, merged=False))
    session.add(ReportEvent(case_id=case.id, at=now, action="filed", status="received", department=case.department))
    for photo in attached:
        photo.case_id = case.id
    session.flush()
    return Filed(case, merged=False)


def _merge(
    session: Session,
    case: ReportCase,
    conversation: Conversation,
    attached: list[ReportPhoto],
    phone: str | None,
    consent_text: str | None,
    now: datetime,
) -> Filed:
    """Adds the citizen to the case: they hear about its progress too. Their photos join it while it has room;
    their callback number only when the case has none (one number to call is enough)."""
    session.add(ReportReporter(case_id=case.id, conversation_id=conversation.id, created_at=now, merged=True))
    session.add(ReportEvent(case_id=case.id, at=now, action="merged", status=case.status, department=case.department))
    _attach(case, attached)
    if phone and case.callback_phone is None:
        case.callback_phone, case.consent_text, case.consented_at = phone, consent_text.strip(), now
    session.flush()
    return Filed(case, merged=True)


def _attach(case: ReportCase, attached: list[ReportPhoto]) -> None:
    """Adds the photos to an existing case while it has room for them; the rest stay unfiled (deleted in a day)."""
    room = photos.MAX_PHOTOS_PER_CASE - len(case.photos)
    for photo in attached[: max(room, 0)]:
        case.photos.append(photo)


# --- what the citizen reads -----------------------------------------------------------------------------------


def find_case(session: Session, receipt_no: str) -> ReportCase:
    """A case by its receipt number, however it is typed ("pj-2026-000123 "); ReportCaseNotFound otherwise."""
    wanted = (receipt_no or "").strip().upper()
    match = RECEIPT_PATTERN.match(wanted)
    case = session.scalar(select(ReportCase).where(ReportCase.receipt_no == wanted)) if match else None
    if case is None:
        raise ReportCaseNotFound(*messaging.report_not_found(str(receipt_no)[:40]))
    return case


def history(case: ReportCase, language: str) -> list[dict]:
    """What the citizen was told, step by step: `{at, status, status_name, text}`; no private notes."""
    steps = []
    for event in case.events:
        if event.action not in PUBLIC_ACTIONS or (event.action == "assigned" and event.status is None):
            continue
        steps.append(
            {
                "at": event.at,
                "status": event.status,
                "status_name": messaging.status_name(event.status, language) if event.status else None,
                "text": _event_text(case, event, language),
            }
        )
    return steps


def _event_text(case: ReportCase, event: ReportEvent, language: str) -> str:
    if event.action == "message":
        return event.public_text or ""
    sentence = messaging.status_sentence(
        event.status or case.status, language, department_name=department_name(event.department or "", language)
    )
    return f"{sentence} {event.public_text}" if event.public_text else sentence


def cases_of(
    session: Session, channel: str, channel_user_id: str, *, now: datetime | None = None, limit: int = 20
) -> list[ReportCase]:
    """The citizen's cases, newest first: the open ones and those closed in the last 30 days."""
    now = now or utcnow()
    conversation = conversation_of(session, channel, channel_user_id)
    if conversation is None:
        return []
    return list(
        session.scalars(
            select(ReportCase)
            .join(ReportReporter, ReportReporter.case_id == ReportCase.id)
            .where(
                ReportReporter.conversation_id == conversation.id,
                ReportCase.status.in_(OPEN_STATUSES) | (ReportCase.closed_at >= now - CLOSED_LISTED_FOR),
            )
            .order_by(ReportCase.created_at.desc(), ReportCase.id.desc())
            .limit(limit)
        )
    )


def rate(
    session: Session,
    receipt_no: str,
    channel: str,
    channel_user_id: str,
    score: int,
    comment: str | None = None,
    *,
    now: datetime | None = None,
) -> ReportCase:
    """A reporter's score (1–5) of a done case, once per case; the same score again with a comment adds the comment
    while the case has none (the chat saves the score on the tap, then asks for a comment). Commits."""
    now = now or utcnow()
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidRating(*messaging.INVALID_RATING)
    case = find_case(session, receipt_no)
    conversation = conversation_of(session, channel, channel_user_id)
    if conversation is None or _reporter(session, case.id, conversation.id) is None:
        raise NotYourReport(*messaging.NOT_YOUR_REPORT)
    if case.status != "done":
        raise ReportNotDone(*messaging.NOT_DONE)
    comment = (comment or "").strip()[:MAX_DESCRIPTION_CHARS] or None
    # Conditional: of two ratings at once (two reporters, a double tap), one is kept.
    rated = session.execute(
        update(ReportCase)
        .where(ReportCase.id == case.id, ReportCase.rating.is_(None))
        .values(rating=score, rating_comment=comment, rated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not rated:
        commented = (
            comment is not None
            and session.execute(
                update(ReportCase)
                .where(ReportCase.id == case.id, ReportCase.rating == score, ReportCase.rating_comment.is_(None))
                .values(rating_comment=comment)
                .execution_options(synchronize_session=False)
            ).rowcount
        )
        if not commented:
            session.rollback()
            raise AlreadyRated(*messaging.ALREADY_RATED)
        session.commit()
        session.refresh(case)
        return case
    session.add(ReportEvent(case_id=case.id, at=now, action="rated", status=case.status))
    session.commit()
    session.refresh(case)
    return case


# --- staff ------------------------------------------------------------------------------------------------------


def get_case(session: Session, receipt_no: str) -> ReportCase:
    """A case by its receipt number, with its events, photos and reporters; ReportCaseNotFound otherwise."""
    return find_case(session, receipt_no)


def list_cases(
    session: Session,
    *,
    department: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    district: str | None = None,
    min_age_hours: int | None = None,
    overdue_only: bool = False,
    now: datetime | None = None,
    limit: int = 200,
) -> list[ReportCase]:
    """Cases for the console, newest first. `status` is one status, or "open" or "closed"; `min_age_hours` keeps
    those filed at least that long ago; `overdue_only` those past their first-answer deadline without one."""
    now = now or utcnow()
    query = select(ReportCase).options(selectinload(ReportCase.assignee))
    if department:
        query = query.where(ReportCase.department == department)
    if status == "open":
        query = query.where(ReportCase.status.in_(OPEN_STATUSES))
    elif status == "closed":
        query = query.where(ReportCase.status.in_(CLOSED_STATUSES))
    elif status:
        query = query.where(ReportCase.status == status)
    if kind:
        query = query.where(ReportCase.kind == kind)
    if district:
        query = query.where(ReportCase.district == district)
    if min_age_hours is not None:
        query = query.where(ReportCase.created_at <= now - timedelta(hours=min_age_hours))
    if overdue_only:
        query = query.where(_overdue(now))
    return list(session.scalars(query.order_by(ReportCase.created_at.desc(), ReportCase.id.desc()).limit(limit)))


def _overdue(now: datetime):
    return ReportCase.status.in_(OPEN_STATUSES) & ReportCase.first_answered_at.is_(None) & (ReportCase.due_at < now)


def is_overdue(case: ReportCase, now: datetime) -> bool:
    """Open, not answered yet, and past its first-answer deadline."""
    return case.status in OPEN_STATUSES and case.first_answered_at is None and case.due_at < now


def overdue_count(session: Session, now: datetime, department: str | None = None) -> int:
    query = select(func.count()).select_from(ReportCase).where(_overdue(now))
    if department:
        query = query.where(ReportCase.department == department)
    return session.scalar(query)


def open_at(session: Session, at: datetime) -> list[tuple[str, bool]]:
    """Each case open at `at` (filed before it, not closed by then): its department, and whether it was overdue
    then (past its first-answer deadline, not answered by then). For the dashboard (now) and the daily report."""
    rows = session.execute(
        select(ReportCase.department, ReportCase.due_at, ReportCase.first_answered_at).where(
            ReportCase.created_at < at, ReportCase.closed_at.is_(None) | (ReportCase.closed_at >= at)
        )
    )
    return [(department, due < at and (answered is None or answered >= at)) for department, due, answered in rows]


def assign(session: Session, case: ReportCase, staff: StaffUser, assignee: StaffUser) -> ReportCase:
    """Puts a staff member in charge; a case not yet being worked on becomes `assigned` and its reporters hear so."""
    _check_open(case)
    now = utcnow()
    case.assignee_id = assignee.id
    case.assignee = assignee
    if case.status in ("received", "transferred"):
        _set_status(session, case, staff, "assigned", "assigned", now)
    else:
        # Handed to someone else while being worked on: staff see it, the citizen is not told (no status after it).
        session.add(
            ReportEvent(
                case_id=case.id,
                at=now,
                action="assigned",
                status=None,
                staff_id=staff.id,
                department=case.department,
                private_note=f"담당자: {assignee.name}",
            )
        )
    session.flush()
    return case


def change_status(
    session: Session,
    case: ReportCase,
    staff: StaffUser,
    status: str,
    message: str | None = None,
    reason: str | None = None,
    *,
    settings: Settings | None = None,
) -> ReportCase:
    """Moves an open case to in_progress, done or rejected and tells every reporter (done asks for a rating).

    Rejecting needs a reason, which the citizen is told. Closing starts the retention period of its personal parts.
    """
    if status not in STAFF_STATUSES:
        raise InvalidStatusChange(
            "A case can be set to in progress, done or rejected here.",
            "여기서는 처리 중, 처리 완료, 반려로만 바꿀 수 있어요.",
        )
    _check_open(case)
    if status == case.status:
        raise InvalidStatusChange(
            f"The case is already {messaging.status_name(status, 'en')}.",
            f"이미 {messaging.status_name(status, 'ko')} 상태예요.",
        )
    message = _check_staff_text(message, required=False)
    reason = _check_staff_text(reason, required=status == "rejected", what=("a reason", "반려 사유"))
    now = utcnow()
    if case.assignee_id is None:
        case.assignee_id = staff.id
    if status in CLOSED_STATUSES:
        days = (settings or get_settings()).report_retention_days
        case.closed_at, case.purge_after = now, now + timedelta(days=days)
    _set_status(session, case, staff, status, "status", now, message=message, reason=reason)
    return case


def transfer(session: Session, case: ReportCase, staff: StaffUser, department: str, note: str) -> ReportCase:
    """Hands the case to another field department's queue (unassigned); its reporters hear which department."""
    _check_open(case)
    if department not in FIELD_DEPARTMENTS:
        raise UnknownDepartment(f"There is no department {department!r}.", f"'{department}' 부서는 없어요.")
    if department == case.department:
        raise InvalidStatusChange("The case is already with that department.", "이미 그 부서의 신고예요.")
    note = _check_staff_text(note, required=False)
    case.department, case.assignee_id, case.assignee = department, None, None
    _set_status(session, case, staff, "transferred", "transferred", utcnow(), private_note=note)
    return case


def add_note(session: Session, case: ReportCase, staff: StaffUser, note: str) -> ReportEvent:
    """A note only staff read; the citizen is not told."""
    note = _check_staff_text(note, required=True, what=("a note", "메모"))
    event = ReportEvent(
        case_id=case.id,
        at=utcnow(),
        action="note",
        status=case.status,
        staff_id=staff.id,
        department=case.department,
        private_note=note,
    )
    session.add(event)
    session.flush()
    return event


def send_message(session: Session, case: ReportCase, staff: StaffUser, text: str) -> ReportEvent:
    """A message about the case to every reporter, without a status change."""
    if case.purged_at is not None:
        raise ReportClosed("This case's reporters are no longer kept.", "이 신고의 신고자 정보는 이미 삭제되었어요.")
    text = _check_staff_text(text, required=True, what=("a message", "메시지"))
    now = utcnow()
    event = ReportEvent(
        case_id=case.id,
        at=now,
        action="message",
        status=case.status,
        staff_id=staff.id,
        department=case.department,
        public_text=text,
    )
    session.add(event)
    session.flush()
    if case.first_answered_at is None:
        case.first_answered_at = now
    for conversation in _reporter_conversations(session, case):
        kind_name = case.kind_row.name(outbox.language_of(conversation))
        outbox.enqueue(
            session,
            conversation,
            text=messaging.staff_message_text(case.receipt_no, kind_name, text),
            kind="report_message",
            dedupe_key=f"report:{case.id}:event:{event.id}:{conversation.id}",
            extra={"receipt_no": case.receipt_no},
        )
    session.flush()
    return event


def _check_open(case: ReportCase) -> None:
    if case.status not in OPEN_STATUSES:
        raise ReportClosed("This case is closed; it can no longer be changed.", "이미 종결된 신고라 더 바꿀 수 없어요.")


def _check_staff_text(text: str | None, *, required: bool, what: tuple[str, str] = ("a text", "내용")) -> str | None:
    text = (text or "").strip()
    if required and not text:
        raise InvalidReport(f"Please write {what[0]}.", f"{what[1]}을(를) 적어 주세요.")
    if len(text) > MAX_STAFF_TEXT_CHARS:
        raise InvalidReport(
            f"Please keep it under {MAX_STAFF_TEXT_CHARS} characters.", f"{MAX_STAFF_TEXT_CHARS}자 이내로 적어 주세요."
        )
    return text or None


def _set_status(
    session: Session,
    case: ReportCase,
    staff: StaffUser,
    status: str,
    action: str,
    now: datetime,
    *,
    message: str | None = None,
    reason: str | None = None,
    private_note: str | None = None,
) -> ReportEvent:
    """The status change, its event and a message to every reporter in their language, in one transaction."""
    case.status = status
    if case.first_answered_at is None:
        case.first_answered_at = now
    event = ReportEvent(
        case_id=case.id,
        at=now,
        action=action,
        status=status,
        staff_id=staff.id,
        department=case.department,
        public_text=" ".join(part for part in (reason, message) if part) or None,
        private_note=private_note,
    )
    session.add(event)
    session.flush()
    for conversation in _reporter_conversations(session, case):
        language = outbox.language_of(conversation)
        text = messaging.status_text(
            case.receipt_no,
            case.kind_row.name(language),
            status,
            language,
            message=message,
            reason=reason,
            department_name=department_name(case.department, language),
        )
        buttons = None
        if status == "done":
            text = f"{text}\n{messaging.rating_question(language)}"
            buttons = messaging.rating_buttons(case.receipt_no, language)
        outbox.enqueue(
            session,
            conversation,
            text=text,
            kind="report_status",
            buttons=buttons,
            dedupe_key=f"report:{case.id}:event:{event.id}:{conversation.id}",
            extra={"receipt_no": case.receipt_no, "status": status},
        )
    session.flush()
    return event


def _reporter_conversations(session: Session, case: ReportCase) -> list[Conversation]:
    ids = session.scalars(
        select(ReportReporter.conversation_id)
        .where(ReportReporter.case_id == case.id, ReportReporter.conversation_id.is_not(None))
        .order_by(ReportReporter.id)
    ).all()
    return conversations_by_id(session, list(ids))


# --- kinds ------------------------------------------------------------------------------------------------------


def kinds(session: Session, active_only: bool = True) -> list[ReportKind]:
    """The kinds in the order citizens choose from: the seeded ones as listed, then those admins added, "other"
    last."""
    query = select(ReportKind)
    if active_only:
        query = query.where(ReportKind.active.is_(True))
    seeded = {code: index for index, (code, *_names) in enumerate(SEEDED_KINDS)}
    return sorted(
        session.scalars(query),
        key=lambda kind: (kind.code == "other", seeded.get(kind.code, len(seeded)), kind.created_at, kind.code),
    )


def add_kind(session: Session, staff: StaffUser, code: str, name_ko: str, name_en: str, department: str) -> ReportKind:
    """A new kind of report citizens may file, handled by a field department."""
    code = (code or "").strip().lower()
    name_ko, name_en = (name_ko or "").strip(), (name_en or "").strip()
    if not KIND_CODE_PATTERN.match(code):
        raise InvalidReport(
            "A kind's code is 2–20 lower-case letters, digits or _, starting with a letter.",
            "유형 코드는 영문 소문자로 시작하는 2–20자의 영문 소문자, 숫자, _ 예요.",
        )
    if not name_ko or not name_en or len(name_ko) > 60 or len(name_en) > 60:
        raise InvalidReport(
            "Give the kind a Korean and an English name, up to 60 characters each.",
            "유형의 한국어 이름과 영어 이름을 각각 60자 이내로 적어 주세요.",
        )
    if department not in FIELD_DEPARTMENTS:
        raise UnknownDepartment(f"There is no department {department!r}.", f"'{department}' 부서는 없어요.")
    if session.get(ReportKind, code) is not None:
        raise ReportKindExists(f"There is already a kind {code!r}.", f"'{code}' 유형이 이미 있어요.")
    kind = ReportKind(code=code, name_ko=name_ko, name_en=name_en, department=department, active=True)
    session.add(kind)
    session.flush()
    return kind


def set_kind_active(session: Session, staff: StaffUser, code: str, active: bool) -> ReportKind:
    """Stops (or resumes) offering a kind to citizens; its cases stay as they are."""
    kind = session.get(ReportKind, code)
    if kind is None:
        raise UnknownReportKind(*messaging.unknown_kind(code))
    kind.active = active
    session.flush()
    return kind


# --- retention --------------------------------------------------------------------------------------------------


def purge_closed(session: Session, now: datetime, settings: Settings) -> int:
    """Deletes the personal parts of cases whose keeping period ended: the callback number, the description, the
    photos and who reported them; phone numbers written into staff texts are starred. The kind, district, times,
    status history and rating stay for statistics. Leaves the commit to the caller."""
    due = session.scalars(
        select(ReportCase)
        .where(ReportCase.purge_after <= now, ReportCase.purged_at.is_(None))
        .options(selectinload(ReportCase.photos), selectinload(ReportCase.reporters), selectinload(ReportCase.events))
    ).all()
    for case in due:
        photos.delete_photos(session, list(case.photos), settings)
        for reporter in list(case.reporters):
            session.delete(reporter)
        for event in case.events:
            event.public_text = erase_phones(event.public_text) if event.public_text else None
            event.private_note = erase_phones(event.private_note) if event.private_note else None
        case.callback_phone = case.consent_text = case.description = None
        case.purged_at = now
        session.add(ReportEvent(case_id=case.id, at=now, action="purged", status=case.status))
    session.flush()
    return len(due)


def purge_unfiled_photos(session: Session, now: datetime, settings: Settings) -> int:
    """Deletes photos sent for a report that was never filed, a day after they were sent."""
    old = photos.unfiled_photos_before(session, now - photos.UNFILED_PHOTO_LIFETIME)
    return photos.delete_photos(session, old, settings)
