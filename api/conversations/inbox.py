"""The staff inbox's daily tools around the handoff queue: assigning to a colleague, private notes, labels, the
last words of each waiting citizen, and the search over conversations with filters and pages.

The queue's own rules (claim, transfer, close) stay in handoffs.py; what is here only reads them or, for an
assignment, changes a handoff under the same "still as it was read" condition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from api.conversations import handoffs, messaging, outbox
from api.conversations.departments import DEPARTMENTS
from api.conversations.models import Conversation, ConversationLabel, ConversationNote, Handoff, Message
from api.core.errors import DomainError, InvalidInput
from api.staff import permissions
from api.staff.service import audit
from common.clock import utcnow
from common.masking import redact_phones

if TYPE_CHECKING:  # types only
    from api.staff.models import StaffUser

MAX_NOTE_CHARS = 2000
MAX_LABEL_CHARS = 30
MAX_LABELS_PER_CONVERSATION = 10
MAX_SEARCH_CHARS = 100
PAGE_SIZE = 20
MAX_PAGE = 500
PREVIEW_CHARS = 80
# A label is a short word or two: letters, digits, spaces and a few joiners; nothing that could look like markup.
_LABEL = re.compile(r"^[\w가-힣][\w가-힣 ·\-]*$")
# The filter values of a conversation's state: its latest handoff's status, or "none" when staff never had it.
STATUS_FILTERS = ("waiting", "claimed", "closed", "cancelled", "none")
CHANNELS = ("telegram", "web", "kakao")


class AssigneeInactive(DomainError):
    status_code = 422
    code = "assignee_inactive"


# --- assigning a conversation to a colleague ----------------------------------------------------


def assign(
    session: Session, handoff_id: int, user: StaffUser, assignee: StaffUser, now: datetime | None = None
) -> Handoff:
    """Give an open request to a colleague: a waiting one as if they had claimed it, a claimed one taken over.

    Who may: anyone for a waiting request (as anyone may claim it), its holder or an admin for a claimed one.
    The citizen is told who is there only when a person starts to be there (from waiting), as with a claim.
    """
    if not assignee.active:
        raise AssigneeInactive(
            f"{assignee.name}'s account is not active.", f"{assignee.name} 님의 계정은 쓰지 않는 계정이에요."
        )
    handoff = handoffs.get_handoff(session, handoff_id)
    if handoff.status not in ("waiting", "claimed"):
        raise handoffs.HandoffNotOpen("This request is no longer open.", "이미 끝났거나 취소된 상담 요청이에요.")
    if handoff.status == "claimed":
        if handoff.claimed_by_id == assignee.id:
            raise InvalidInput("They have it already.", f"이미 {assignee.name} 님이 맡은 대화예요.")
        if handoff.claimed_by_id != user.id and user.role != "admin":
            name = handoff.claimed_by.name if handoff.claimed_by else "다른 직원"
            raise handoffs.NotYourHandoff(f"{name} has this conversation.", f"{name} 님이 맡은 대화예요.")
    was_waiting = handoff.status == "waiting"
    handoffs._transition(  # the handoff's own guarded update: of two changes at once, one wins
        session, handoff, status="claimed", claimed_by_id=assignee.id, claimed_at=now or utcnow()
    )
    session.refresh(handoff)
    if was_waiting:
        conversation = handoff.conversation
        language = outbox.language_of(conversation)
        outbox.enqueue(
            session,
            conversation,
            text=messaging.claimed(handoffs.staff_title(handoff, language), language),
            kind="handoff_claimed",
        )
    audit(session, user, "assign_conversation", f"conversation:{handoff.conversation_id}", f"staff:{assignee.id}")
    session.commit()
    return handoff


# --- private notes --------------------------------------------------------------------------------


def add_note(session: Session, conversation_id: int, user: StaffUser, text: str) -> ConversationNote:
    """A note for colleagues only: it never enters the transcript or the outbox, so it cannot reach the citizen."""
    text = text.strip()
    if not 1 <= len(text) <= MAX_NOTE_CHARS:
        raise InvalidInput(
            f"Write a note of up to {MAX_NOTE_CHARS} characters.", f"메모를 {MAX_NOTE_CHARS}자 이내로 적어 주세요."
        )
    handoffs.read_conversation(session, conversation_id, user, "note_conversation")
    note = ConversationNote(conversation_id=conversation_id, staff_id=user.id, text=text)
    session.add(note)
    session.commit()
    return note


def notes(session: Session, conversation_id: int) -> list[ConversationNote]:
    return list(
        session.scalars(
            select(ConversationNote)
            .where(ConversationNote.conversation_id == conversation_id)
            .order_by(ConversationNote.id)
        )
    )


# --- labels -----------------------------------------------------------------------------------------


def check_label(label: str) -> str:
    label = " ".join(label.split())
    if not 1 <= len(label) <= MAX_LABEL_CHARS or not _LABEL.match(label):
        raise InvalidInput(
            f"A label is a word or two of up to {MAX_LABEL_CHARS} letters or digits.",
            f"라벨은 {MAX_LABEL_CHARS}자 이내의 글자와 숫자로 적어 주세요. 예: 단체예약",
        )
    return label


def add_label(session: Session, conversation_id: int, user: StaffUser, label: str) -> str:
    label = check_label(label)
    handoffs.read_conversation(session, conversation_id, user, "label_conversation", label)
    held = labels_of(session, {conversation_id}).get(conversation_id, [])
    if label not in held:
        if len(held) >= MAX_LABELS_PER_CONVERSATION:
            raise InvalidInput(
                "Too many labels on this conversation.",
                f"한 대화에는 라벨을 {MAX_LABELS_PER_CONVERSATION}개까지 붙일 수 있어요. "
                "필요 없는 라벨을 먼저 떼어 주세요.",
            )
        session.add(ConversationLabel(conversation_id=conversation_id, label=label, added_by_id=user.id))
    session.commit()
    return label


def remove_label(session: Session, conversation_id: int, user: StaffUser, label: str) -> None:
    handoffs.read_conversation(session, conversation_id, user, "unlabel_conversation", label[:MAX_LABEL_CHARS])
    session.execute(
        delete(ConversationLabel).where(
            ConversationLabel.conversation_id == conversation_id, ConversationLabel.label == label
        )
    )
    session.commit()


def labels_of(session: Session, conversation_ids: set[int]) -> dict[int, list[str]]:
    if not conversation_ids:
        return {}
    found: dict[int, list[str]] = {}
    rows = session.execute(
        select(ConversationLabel.conversation_id, ConversationLabel.label)
        .where(ConversationLabel.conversation_id.in_(conversation_ids))
        .order_by(ConversationLabel.label)
    )
    for conversation_id, label in rows:
        found.setdefault(conversation_id, []).append(label)
    return found


def all_labels(session: Session) -> list[str]:
    """Every label in use, for the filter's list and the suggestions when adding one."""
    return list(session.scalars(select(ConversationLabel.label).distinct().order_by(ConversationLabel.label)))


# --- what the queue shows of each citizen -------------------------------------------------------------


def last_words(session: Session, conversation_ids: set[int]) -> dict[int, str]:
    """Each conversation's last message from the citizen, phone numbers masked and cut to a preview."""
    if not conversation_ids:
        return {}
    newest = (
        select(func.max(Message.id))
        .where(
            Message.conversation_id.in_(conversation_ids),
            Message.direction == "in",
            Message.text.is_not(None),
            Message.text != "",
        )
        .group_by(Message.conversation_id)
    )
    rows = session.execute(select(Message.conversation_id, Message.text).where(Message.id.in_(newest)))
    return {conversation_id: _preview(text or "") for conversation_id, text in rows}


def _preview(text: str) -> str:
    text = " ".join(redact_phones(text).split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


# --- searching conversations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the search page asks for; each value already checked (an unknown one is dropped, not an error)."""

    text: str = ""
    status: str = ""
    department: str = ""
    label: str = ""
    channel: str = ""
    assignee_id: int | None = None
    # Set when the search named a phone: only the conversations whose linked numbers end with those digits.
    conversation_ids: frozenset[int] | None = None
    page: int = 1
    described: str = field(default="", compare=False)  # for the audit log


@dataclass(frozen=True)
class Page:
    conversations: list[Conversation]
    latest: dict[int, Handoff]
    total: int
    page: int
    pages: int


def search(session: Session, reader: StaffUser, filters: Filters) -> Page:
    """Any citizen's conversations: needs transcripts.read, and each search is in the audit log."""
    permissions.require(reader, permissions.TRANSCRIPTS_READ)
    audit(session, reader, "search_conversations", f"query:{filters.described}"[:120])
    session.commit()
    latest_id = (
        select(Handoff.conversation_id, func.max(Handoff.id).label("handoff_id"))
        .group_by(Handoff.conversation_id)
        .subquery()
    )
    statement = (
        select(Conversation, Handoff)
        .outerjoin(latest_id, latest_id.c.conversation_id == Conversation.id)
        .outerjoin(Handoff, Handoff.id == latest_id.c.handoff_id)
    )
    if filters.conversation_ids is not None:
        statement = statement.where(Conversation.id.in_(filters.conversation_ids or {-1}))
    if filters.channel:
        statement = statement.where(Conversation.channel == filters.channel)
    if filters.status == "none":
        statement = statement.where(Handoff.id.is_(None))
    elif filters.status:
        statement = statement.where(Handoff.status == filters.status)
    if filters.department in DEPARTMENTS:
        statement = statement.where(Handoff.department == filters.department)
    if filters.assignee_id is not None:
        statement = statement.where(Handoff.claimed_by_id == filters.assignee_id)
    if filters.label:
        labelled = select(ConversationLabel.conversation_id).where(ConversationLabel.label == filters.label)
        statement = statement.where(Conversation.id.in_(labelled))
    if filters.text:
        channel, _, user_part = filters.text.rpartition(":")
        if channel in CHANNELS and user_part:
            # "telegram:123" names a messenger account: that channel, ids containing the rest.
            user_pattern = "%" + _escape_like(user_part) + "%"
            statement = statement.where(
                Conversation.channel == channel, Conversation.channel_user_id.ilike(user_pattern, escape="\\")
            )
        else:
            pattern = "%" + _escape_like(filters.text) + "%"
            said = select(Message.conversation_id).where(Message.text.ilike(pattern, escape="\\"))
            statement = statement.where(
                or_(Conversation.id.in_(said), Conversation.channel_user_id.ilike(pattern, escape="\\"))
            )
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    rows = session.execute(
        statement.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    latest = {conversation.id: handoff for conversation, handoff in rows if handoff is not None}
    return Page([conversation for conversation, _ in rows], latest, total, page, pages)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
