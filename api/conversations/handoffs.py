"""Rules of the handoff queue: office hours, place and wait, claim, transfer, close, cancel, staff-started talks.

A handoff is `waiting` in one department's queue until a staff member claims it (`claimed`); it
ends `closed` (by staff, with an outcome) or `cancelled` (by the citizen while waiting). A
transfer puts it back in the queue of another department. Everything is in the database, so no
request is lost when a process restarts. Of two staff acting on one handoff at once, one wins:
every change is a conditional UPDATE on the state that was read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from api.conversations import messaging, outbox, routing
from api.conversations.departments import DEFAULT_DEPARTMENT, DEPARTMENTS
from api.conversations.models import CannedReply, Conversation, Handoff, Message, OutboxMessage
from api.conversations.service import ConversationNotFound, existing_conversation, get_or_create_conversation
from api.core.errors import Conflict, DomainError, InvalidInput, NotFound
from api.core.public_holidays import PublicHolidays
from api.core.settings import Settings, public_holidays
from api.staff import permissions
from api.staff.service import audit
from common.clock import SEOUL, utcnow
from common.payloads import payload

if TYPE_CHECKING:  # types only: other domains' tables are not read here
    from api.staff.models import StaffUser

STAFF_INITIATED = "staff_initiated"
# The wait per person ahead is the median of this many recent claims, once there are enough.
RECENT_CLAIMS = 20
MIN_RECENT_CLAIMS = 3
RECENT_CLAIMS_WINDOW = timedelta(days=14)
MAX_TEXT_CHARS = 4096
MAX_OUTCOME_CHARS = 2000

ASSISTANT_IS_BACK = {
    "ko": "상담 직원과의 대화가 끝났어요. 이제 다시 챗봇이 도와드릴게요. 궁금한 점이 있으면 언제든 말씀해 주세요.",
    "en": "Your conversation with our staff has ended. The assistant is back: ask me anything, any time.",
}
# The satisfaction question's buttons: `/rate_handoff{"handoff":12,"score":5}`; a tap is taken within this long.
RATE_HANDOFF = "rate_handoff"
SCORES = range(1, 6)
RATING_WINDOW = timedelta(days=7)
_RATING = re.compile(r'^/rate_handoff\{"handoff":(\d{1,10}),"score":(\d)\}$')
_TYPED_SCORE = re.compile(r"^\s*([1-5])\s*(?:점|/\s*5)?\s*[.!]?\s*$")


class HandoffNotFound(NotFound):
    pass


class CannedReplyNotFound(NotFound):
    pass


class AlreadyClaimed(Conflict):
    code = "already_claimed"


class HandoffNotOpen(Conflict):
    code = "handoff_not_open"


class HandoffChanged(Conflict):
    code = "handoff_changed"


class NotYourHandoff(DomainError):
    status_code = 403
    code = "not_your_handoff"


# --- office hours -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficeHours:
    """When staff answer: working days between `opens` and `closes`, Asia/Seoul."""

    opens: time = time(9, 0)
    closes: time = time(18, 0)
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    holidays: PublicHolidays = field(default_factory=PublicHolidays)

    @classmethod
    def from_settings(cls, settings: Settings) -> OfficeHours:
        weekdays = frozenset(settings.office_weekdays)
        return cls(settings.office_opens, settings.office_closes, weekdays, public_holidays(settings))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(SEOUL)
        return self.is_working_day(local.date()) and self.opens <= local.time() < self.closes

    def next_opening(self, at: datetime) -> datetime:
        """The first opening after `at` (today's, if `at` is before it), in Asia/Seoul."""
        local = at.astimezone(SEOUL)
        day = local.date() if local.time() < self.opens else local.date() + timedelta(days=1)
        for _ in range(366):
            if self.is_working_day(day):
                return datetime.combine(day, self.opens, SEOUL)
            day += timedelta(days=1)
        raise ValueError("no working day within a year: check OFFICE_WEEKDAYS and PUBLIC_HOLIDAYS")


# --- what the citizen is told -------------------------------------------------------------------


@dataclass(frozen=True)
class QueueTicket:
    handoff: Handoff
    waiting_ahead: int
    office_open: bool
    expected_wait_minutes: int | None  # while the office is open and the request waits
    next_opening: datetime | None  # while the office is closed


def ticket(
    session: Session, handoff: Handoff, hours: OfficeHours, default_minutes: float, now: datetime | None = None
) -> QueueTicket:
    now = now or utcnow()
    waiting = handoff.status == "waiting"
    ahead = waiting_ahead(session, handoff) if waiting else 0
    office_open = hours.is_open(now)
    expected = None
    if office_open and waiting:
        expected = max(1, math.ceil(minutes_per_person(session, hours, default_minutes, now) * (ahead + 1)))
    return QueueTicket(handoff, ahead, office_open, expected, None if office_open else hours.next_opening(now))


def wait_seconds(handoff: Handoff) -> float | None:
    """From joining the queue that it was claimed from (else from the request) to the claim; None if unclaimed."""
    if handoff.claimed_at is None:
        return None
    start = handoff.queued_at if handoff.queued_at <= handoff.claimed_at else handoff.requested_at
    return max(0.0, (handoff.claimed_at - start).total_seconds())


def requested_between(session: Session, start: datetime, end: datetime) -> list[tuple[datetime, str, float | None]]:
    """The handoffs requested in [start, end): when, for which department, and how long the citizen waited for a
    person (None while unclaimed)."""
    found = session.scalars(select(Handoff).where(Handoff.requested_at >= start, Handoff.requested_at < end))
    return [(handoff.requested_at, handoff.department, wait_seconds(handoff)) for handoff in found]


def waiting_ahead(session: Session, handoff: Handoff) -> int:
    return _waiting_before(session, handoff.department, handoff.requested_at, handoff.id)


def _waiting_before(session: Session, department: str, requested_at: datetime, handoff_id: int | None) -> int:
    # A queue is in order of request: a transferred citizen keeps the place their wait has earned.
    earlier = Handoff.requested_at < requested_at
    if handoff_id is not None:
        earlier = or_(earlier, and_(Handoff.requested_at == requested_at, Handoff.id < handoff_id))
    return session.scalar(
        select(func.count())
        .select_from(Handoff)
        .where(Handoff.status == "waiting", Handoff.department == department, earlier)
    )


def minutes_per_person(session: Session, hours: OfficeHours, default: float, now: datetime) -> float:
    """The median of recent waits from queueing to claim, per person who was ahead; `default` until measured."""
    rows = session.execute(
        select(Handoff.queued_at, Handoff.claimed_at, Handoff.ahead_when_queued)
        .where(
            Handoff.claimed_at.is_not(None),
            Handoff.claimed_at >= now - RECENT_CLAIMS_WINDOW,
            Handoff.reason != STAFF_INITIATED,
        )
        .order_by(Handoff.claimed_at.desc())
        .limit(RECENT_CLAIMS * 5)
    ).all()
    # A request left after hours waits for the office to open, which says nothing about the pace.
    per_person = [
        (claimed_at - queued_at).total_seconds() / 60 / (ahead + 1)
        for queued_at, claimed_at, ahead in rows
        if hours.is_open(queued_at)
    ][:RECENT_CLAIMS]
    return median(per_person) if len(per_person) >= MIN_RECENT_CLAIMS else default


# --- the citizen's side (through the actions and the gateway) ------------------------------------


def open_handoff(session: Session, conversation_id: int) -> Handoff | None:
    return session.scalar(
        select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status.in_(("waiting", "claimed")))
    )


def request(
    session: Session,
    channel: str,
    channel_user_id: str,
    reason: str,
    department: str | None,
    hours: OfficeHours,
    default_minutes: float,
    now: datetime | None = None,
) -> QueueTicket:
    """Queue the conversation for a person and hand it to staff; a second request while open is the same one."""
    now = now or utcnow()
    guess = _check_department(department) if department else None
    conversation = get_or_create_conversation(session, channel, channel_user_id)
    handoff = open_handoff(session, conversation.id)
    if handoff is None:
        # The assistant's guess is one sign among others: the conversation's words and what staff taught weigh more.
        routed = routing.route(session, conversation.id, guess, now)
        handoff = _open_once(
            session,
            conversation,
            reason=reason,
            department=routed.department,
            routed_text=routed.text or None,
            requested_at=now,
            queued_at=now,
            ahead_when_queued=_waiting_before(session, routed.department, now, None),
        )
    conversation.mode = "human"
    session.commit()
    return ticket(session, handoff, hours, default_minutes, now)


def cancel(session: Session, channel: str, channel_user_id: str, now: datetime | None = None) -> Handoff:
    """The citizen no longer waits: back to the assistant, which starts afresh. Repeating it changes nothing."""
    conversation = existing_conversation(session, channel, channel_user_id)
    handoff = open_handoff(session, conversation.id)
    if handoff is None:
        latest = session.scalar(
            select(Handoff).where(Handoff.conversation_id == conversation.id).order_by(Handoff.id.desc()).limit(1)
        )
        if latest is not None and latest.status == "cancelled":
            return latest
        raise HandoffNotFound("There is no waiting request for a person.", "기다리는 상담 요청이 없어요.")
    if handoff.status == "waiting":
        cancelled = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff.id, Handoff.status == "waiting")
            .values(status="cancelled", closed_at=now or utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if cancelled:
            conversation.mode = "bot"
            conversation.bot_reset_pending = True
        session.commit()
        session.refresh(handoff)
        if handoff.status == "cancelled":
            return handoff
    raise AlreadyClaimed("A staff member has taken the conversation already.", "이미 담당 직원이 대화를 맡았어요.")


# --- the citizen's side while a person has the conversation, and after -------------------------------


def staff_title(handoff: Handoff, language: str) -> str:
    """Who writes to the citizen, as they see it: the handoff's department's staff (관광과 상담원)."""
    department = DEPARTMENTS.get(handoff.department) or DEPARTMENTS[DEFAULT_DEPARTMENT]
    return department.staff_title(language)


def _authored(handoff: Handoff, user: StaffUser) -> dict[str, Any]:
    """A staff message's marks: the console names the staff member, the citizen's channels the department's staff."""
    language = outbox.language_of(handoff.conversation)
    return {"staff_id": user.id, "author": "staff", "author_name": staff_title(handoff, language)}


def answer_while_human(
    session: Session, conversation: Conversation, pressed_button: bool, now: datetime | None = None
) -> str | None:
    """What the assistant says itself to a message sent while a person has (or will have) the conversation: why a
    button does nothing now; for the first message of each stay in a queue, that it reached staff; else nothing
    (staff read it in the inbox)."""
    language = outbox.language_of(conversation)
    if pressed_button:
        return messaging.button_while_human(language)
    handoff = open_handoff(session, conversation.id)
    if handoff is None or handoff.status != "waiting":
        return None
    # Conditional: of two messages at once, one is acknowledged. A transfer starts a new stay (queued_at).
    first = session.execute(
        update(Handoff)
        .where(
            Handoff.id == handoff.id,
            Handoff.status == "waiting",
            or_(Handoff.acknowledged_at.is_(None), Handoff.acknowledged_at < Handoff.queued_at),
        )
        .values(acknowledged_at=now or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return messaging.waiting_ack(language) if first else None


def rating_payload(handoff_id: int, score: int) -> str:
    return payload(RATE_HANDOFF, handoff=handoff_id, score=score)


def rating_of(
    button: str | None, text: str | None, session: Session, conversation: Conversation
) -> tuple[int, int] | None:
    """(handoff id, score) when the message answers the satisfaction question: its button pressed, or, right after the
    question, the score typed ("5", "5점": Kakao's event messages carry no buttons). None for any other message."""
    if button is not None:
        match = _RATING.match(button)
        return (int(match.group(1)), int(match.group(2))) if match else None
    typed = _TYPED_SCORE.match(text or "")
    if not typed:
        return None
    latest = session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.direction == "out")
        .order_by(Message.id.desc())
        .limit(1)
    )
    asked = (latest.payload or {}) if latest is not None else {}
    if asked.get("kind") != "satisfaction_question":
        return None
    button_payload = next((b.get("payload") for b in asked.get("buttons") or []), "")
    match = _RATING.match(button_payload or "")
    return (int(match.group(1)), int(typed.group(1))) if match else None


def rate(session: Session, conversation: Conversation, handoff_id: int, score: int, now: datetime | None = None) -> str:
    """Keeps the citizen's answer to the satisfaction question, once, and thanks them. Only the conversation's own
    closed handoff, within RATING_WINDOW of its closing; a later answer changes nothing."""
    now = now or utcnow()
    language = outbox.language_of(conversation)
    handoff = session.get(Handoff, handoff_id)
    if (
        handoff is None
        or handoff.conversation_id != conversation.id
        or handoff.status != "closed"
        or score not in SCORES
        or (handoff.closed_at is not None and now - handoff.closed_at > RATING_WINDOW)
    ):
        return messaging.button_expired(language)
    # Conditional: of two taps at once (a double tap, two devices), the first is kept.
    kept = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.satisfaction.is_(None))
        .values(satisfaction=score, satisfaction_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if kept:
        return messaging.satisfaction_thanks(score, language)
    session.refresh(handoff)
    return messaging.satisfaction_already(handoff.satisfaction, language)


def satisfaction_between(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """The answers to the satisfaction question given in [start, end): how many, their average, and how many of
    each score."""
    scores = list(
        session.scalars(
            select(Handoff.satisfaction).where(
                Handoff.satisfaction.is_not(None), Handoff.satisfaction_at >= start, Handoff.satisfaction_at < end
            )
        )
    )
    return {
        "count": len(scores),
        "average": round(sum(scores) / len(scores), 2) if scores else None,
        "distribution": {str(score): scores.count(score) for score in SCORES},
    }


# --- the staff's side (the console) ---------------------------------------------------------------


def _open_once(session: Session, conversation: Conversation, **values: Any) -> Handoff:
    """A new open handoff for the conversation; if another was opened at the same moment (the
    citizen asking twice, or asking while staff write first), that one: one open per conversation."""
    try:
        with session.begin_nested():
            handoff = Handoff(conversation_id=conversation.id, **values)
            session.add(handoff)
    except IntegrityError:
        handoff = open_handoff(session, conversation.id)
    return handoff


def get_handoff(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise HandoffNotFound(f"handoff {handoff_id} not found", f"상담 요청 {handoff_id}이(가) 없어요.")
    return handoff


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(f"conversation {conversation_id} not found", f"대화 {conversation_id}이(가) 없어요.")
    return conversation


def waiting_queue(session: Session) -> list[Handoff]:
    """Every waiting request, the conversation with the newest activity first."""
    return list(
        session.scalars(
            select(Handoff)
            .join(Handoff.conversation)
            .options(contains_eager(Handoff.conversation))
            .where(Handoff.status == "waiting")
            .order_by(Conversation.last_message_at.desc(), Handoff.id)
        )
    )


def claimed_by(session: Session, user: StaffUser) -> list[Handoff]:
    return list(
        session.scalars(
            select(Handoff)
            .join(Handoff.conversation)
            .options(contains_eager(Handoff.conversation))
            .where(Handoff.status == "claimed", Handoff.claimed_by_id == user.id)
            .order_by(Conversation.last_message_at.desc(), Handoff.id)
        )
    )


def claim(session: Session, handoff_id: int, user: StaffUser, now: datetime | None = None) -> Handoff:
    """Take a waiting request. Of two staff claiming at once exactly one gets it; the other learns who."""
    taken = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="claimed", claimed_by_id=user.id, claimed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    handoff = get_handoff(session, handoff_id)
    session.refresh(handoff)
    if taken:
        # In the claim's transaction: the citizen learns a person is there exactly when one is.
        conversation = handoff.conversation
        language = outbox.language_of(conversation)
        outbox.enqueue(
            session,
            conversation,
            text=messaging.claimed(staff_title(handoff, language), language),
            kind="handoff_claimed",
        )
    session.commit()
    if taken or (handoff.status == "claimed" and handoff.claimed_by_id == user.id):
        return handoff
    if handoff.status == "claimed":
        name = handoff.claimed_by.name if handoff.claimed_by else "다른 직원"
        raise AlreadyClaimed(f"Already claimed by {name}.", f"이미 {name} 님이 맡은 대화예요.")
    raise _not_open()


def transfer(
    session: Session, handoff_id: int, user: StaffUser, department: str, now: datetime | None = None
) -> Handoff:
    """Back to the queue of another department, in the place of the original request."""
    department = _check_department(department)
    handoff = get_handoff(session, handoff_id)
    if handoff.status == "claimed":
        _check_may_act(handoff, user)
    elif handoff.status != "waiting":
        raise _not_open()
    routing.record_correction(
        session,
        conversation_id=handoff.conversation_id,
        handoff_id=handoff.id,
        from_department=handoff.department,
        to_department=department,
        staff_id=user.id,
        text=handoff.routed_text,
    )
    _transition(
        session,
        handoff,
        status="waiting",
        department=department,
        claimed_by_id=None,
        claimed_at=None,
        queued_at=now or utcnow(),
        ahead_when_queued=_waiting_before(session, department, handoff.requested_at, handoff.id),
    )
    session.commit()
    session.refresh(handoff)
    return handoff


def close(session: Session, handoff_id: int, user: StaffUser, outcome: str, now: datetime | None = None) -> Handoff:
    """End the talk with an outcome note: the assistant takes over again and tells the citizen so."""
    outcome = outcome.strip()
    if not 1 <= len(outcome) <= MAX_OUTCOME_CHARS:
        raise InvalidInput("Write what came of the conversation.", "처리 결과를 적어 주세요.")
    handoff = get_handoff(session, handoff_id)
    if handoff.status != "claimed":
        raise _not_open()
    _check_may_act(handoff, user)
    _transition(session, handoff, status="closed", closed_at=now or utcnow(), outcome=outcome)
    conversation = handoff.conversation
    conversation.mode = "bot"
    conversation.bot_reset_pending = True
    language = outbox.language_of(conversation)
    outbox.enqueue(
        session,
        conversation,
        text=ASSISTANT_IS_BACK.get(language, ASSISTANT_IS_BACK["ko"]),
        kind="handoff_closed",
        dedupe_key=f"handoff:{handoff.id}:closed",
    )
    outbox.enqueue(
        session,
        conversation,
        text=messaging.satisfaction_question(language),
        kind="satisfaction_question",
        buttons=[
            {"title": messaging.satisfaction_choice(score, language), "payload": rating_payload(handoff.id, score)}
            for score in SCORES
        ],
        dedupe_key=f"handoff:{handoff.id}:satisfaction",
    )
    session.commit()
    session.refresh(handoff)
    return handoff


def reply(session: Session, conversation_id: int, user: StaffUser, text: str) -> OutboxMessage:
    """The staff member who has the conversation writes to the citizen, in the same chat."""
    text = _check_text(text)
    conversation = get_conversation(session, conversation_id)
    handoff = open_handoff(session, conversation.id)
    if handoff is None or handoff.status != "claimed" or handoff.claimed_by_id != user.id:
        raise NotYourHandoff("Claim the conversation before you reply.", "답장하려면 먼저 대화를 맡아 주세요.")
    message = outbox.enqueue(session, conversation, text=text, kind="staff_reply", extra=_authored(handoff, user))
    session.commit()
    return message


def start(
    session: Session,
    conversation_id: int,
    user: StaffUser,
    text: str,
    department: str | None = None,
    now: datetime | None = None,
) -> Handoff:
    """Staff write first to a citizen who talked to the assistant before; their answers come to this staff member."""
    now = now or utcnow()
    text = _check_text(text)
    department = _check_department(department or DEFAULT_DEPARTMENT)
    conversation = get_conversation(session, conversation_id)
    # Writing first puts the conversation, transcript and all, on this staff member's desk.
    _check_may_read(user, open_handoff(session, conversation.id))
    handoff = open_handoff(session, conversation.id) or _open_once(
        session,
        conversation,
        status="claimed",
        reason=STAFF_INITIATED,
        department=department,
        requested_at=now,
        queued_at=now,
        claimed_by_id=user.id,
        claimed_at=now,
    )
    if handoff.status == "waiting":
        handoff = claim(session, handoff.id, user, now)
    elif handoff.claimed_by_id != user.id:
        name = handoff.claimed_by.name if handoff.claimed_by else "다른 직원"
        raise AlreadyClaimed(f"Already claimed by {name}.", f"이미 {name} 님이 맡은 대화예요.")
    conversation.mode = "human"
    outbox.enqueue(session, conversation, text=text, kind="staff_reply", extra=_authored(handoff, user))
    session.commit()
    session.refresh(handoff)
    return handoff


def read_conversation(
    session: Session, conversation_id: int, reader: StaffUser, action: str = "view_conversation", reason: str = ""
) -> Conversation:
    """A conversation a staff member opens, and the audit entry of their reading it.

    A conversation waiting in the queue or claimed by the reader (also the one they closed last) is their work; any
    other one needs the transcripts.read permission, so that nobody browses citizens' talks by counting ids.
    """
    conversation = get_conversation(session, conversation_id)
    # The latest request when none is open: who just closed a talk may still look at it (and is told it closed).
    _check_may_read(reader, open_handoff(session, conversation.id) or latest_handoff(session, conversation.id))
    audit(session, reader, action, f"conversation:{conversation.id}", reason)
    session.commit()
    return conversation


def search_conversations(session: Session, reader: StaffUser, query: str = "") -> list[Conversation]:
    """Finding any citizen's conversation needs transcripts.read; the search is in the audit log."""
    permissions.require(reader, permissions.TRANSCRIPTS_READ)
    audit(session, reader, "search_conversations", f"query:{query.strip()}"[:120])
    session.commit()
    return find_conversations(session, query)


def _check_may_read(reader: StaffUser, handoff: Handoff | None) -> None:
    on_their_desk = handoff is not None and (handoff.status == "waiting" or handoff.claimed_by_id == reader.id)
    if not on_their_desk:
        permissions.require(reader, permissions.TRANSCRIPTS_READ)


def transcript(session: Session, conversation_id: int, limit: int = 500) -> list[Message]:
    """The newest messages of a conversation, assistant turns included, oldest first."""
    newest = session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id.desc()).limit(limit)
    )
    return list(reversed(list(newest)))


def messages_after(session: Session, conversation_id: int, after_id: int, limit: int = 100) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > after_id)
            .order_by(Message.id)
            .limit(limit)
        )
    )


def find_conversations(session: Session, query: str = "", limit: int = 50) -> list[Conversation]:
    """Conversations whose channel user id contains `query` (`telegram:123` also names the channel); recent first."""
    statement = select(Conversation).order_by(Conversation.last_message_at.desc()).limit(limit)
    query = query.strip()
    channel, _, user_part = query.rpartition(":")
    if channel in ("telegram", "web", "kakao"):
        statement = statement.where(Conversation.channel == channel)
        query = user_part
    if query:
        statement = statement.where(Conversation.channel_user_id.contains(query, autoescape=True))
    return list(session.scalars(statement))


def latest_handoff(session: Session, conversation_id: int) -> Handoff | None:
    return session.scalar(
        select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id.desc()).limit(1)
    )


# --- canned replies (admins keep them) ----------------------------------------------------------


def canned_replies(session: Session) -> list[CannedReply]:
    return list(session.scalars(select(CannedReply).order_by(CannedReply.title, CannedReply.id)))


def save_canned_reply(
    session: Session, title: str, text_ko: str, text_en: str, canned_reply_id: int | None = None
) -> CannedReply:
    """Add a canned reply, or change the one with `canned_reply_id`."""
    title, text_ko, text_en = title.strip(), text_ko.strip(), text_en.strip()
    if not (1 <= len(title) <= 80 and text_ko and text_en):
        raise InvalidInput(
            "A canned reply needs a title (up to 80 characters) and a Korean and an English text.",
            "상용 문구에는 제목(80자 이내)과 한국어·영어 문구가 모두 필요해요.",
        )
    if len(text_ko) > MAX_TEXT_CHARS or len(text_en) > MAX_TEXT_CHARS:
        raise InvalidInput("A canned reply is at most 4096 characters.", "상용 문구는 4096자까지 쓸 수 있어요.")
    canned = CannedReply() if canned_reply_id is None else _get_canned_reply(session, canned_reply_id)
    canned.title, canned.text_ko, canned.text_en = title, text_ko, text_en
    session.add(canned)
    session.commit()
    return canned


def delete_canned_reply(session: Session, canned_reply_id: int) -> None:
    session.delete(_get_canned_reply(session, canned_reply_id))
    session.commit()


def _get_canned_reply(session: Session, canned_reply_id: int) -> CannedReply:
    canned = session.get(CannedReply, canned_reply_id)
    if canned is None:
        raise CannedReplyNotFound(
            f"canned reply {canned_reply_id} not found", f"상용 문구 {canned_reply_id}이(가) 없어요."
        )
    return canned


# --- checks --------------------------------------------------------------------------------------


def _check_department(department: str) -> str:
    if department not in DEPARTMENTS:
        raise InvalidInput(
            f"Unknown department {department!r}: use one of {', '.join(DEPARTMENTS)}.", "알 수 없는 부서예요."
        )
    return department


def _check_text(text: str) -> str:
    text = text.strip()
    if not 1 <= len(text) <= MAX_TEXT_CHARS:
        raise InvalidInput("Write a message of up to 4096 characters.", "메시지를 4096자 이내로 적어 주세요.")
    return text


def _check_may_act(handoff: Handoff, user: StaffUser) -> None:
    if handoff.claimed_by_id != user.id and user.role != "admin":
        name = handoff.claimed_by.name if handoff.claimed_by else "다른 직원"
        raise NotYourHandoff(f"{name} has this conversation.", f"{name} 님이 맡은 대화예요.")


def _not_open() -> HandoffNotOpen:
    return HandoffNotOpen("This request is no longer open.", "이미 끝났거나 취소된 상담 요청이에요.")


def _transition(session: Session, handoff: Handoff, **values) -> None:
    """Change the handoff only if it is still as it was read; otherwise someone else acted first."""
    unchanged = (
        Handoff.claimed_by_id.is_(None)
        if handoff.claimed_by_id is None
        else Handoff.claimed_by_id == handoff.claimed_by_id
    )
    changed = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status == handoff.status, unchanged)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        session.rollback()
        raise HandoffChanged(
            "Someone changed this conversation just now: reload the page.",
            "방금 다른 사람이 이 대화를 바꿨어요. 페이지를 새로 고쳐 주세요.",
        )
