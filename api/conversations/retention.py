"""Deletes transcripts past their retention period and erases the phones typed into them before that; the citizen's
words the department router read go with them."""

from datetime import datetime

from sqlalchemy import Select, bindparam, delete, exists, select, update
from sqlalchemy.orm import Session

from api.conversations.models import Conversation, DepartmentCorrection, Handoff, Message, OutboxMessage
from common.masking import erase_masked_phones, erase_phones


def delete_messages_before(session: Session, cutoff: datetime) -> int:
    """Deletes the messages written before `cutoff`, except those still waiting to be delivered; the caller commits."""
    undelivered = exists().where(OutboxMessage.message_id == Message.id, OutboxMessage.status == "pending")
    old = select(Message.id).where(Message.created_at < cutoff, ~undelivered)
    return session.execute(
        delete(Message).where(Message.id.in_(old)).execution_options(synchronize_session=False)
    ).rowcount


def forget_routed_texts_before(session: Session, cutoff: datetime) -> int:
    """The words the router read for handoffs requested before `cutoff`: kept as long as the transcript they came
    from; the caller commits."""
    return session.execute(
        update(Handoff)
        .where(Handoff.requested_at < cutoff, Handoff.routed_text.is_not(None))
        .values(routed_text=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def delete_department_corrections_before(session: Session, cutoff: datetime) -> int:
    """Corrections keep a citizen's words too: they teach the router only as long as transcripts are kept."""
    return session.execute(
        delete(DepartmentCorrection)
        .where(DepartmentCorrection.created_at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount


def erase_phones_in_messages(session: Session, before: datetime, since: datetime | None = None) -> int:
    """Stars the phone numbers in the messages written between `since` (or ever) and `before`: every number a
    citizen wrote, and the masked ones the city wrote back; the caller commits."""
    written = [Message.created_at < before, Message.text.is_not(None)]
    if since is not None:
        written.append(Message.created_at >= since)
    erased = []
    found = session.execute(select(Message.id, Message.direction, Message.text).where(*written)).yield_per(1000)
    for message_id, direction, text in found:
        starred = erase_phones(text) if direction == "in" else erase_masked_phones(text)
        if starred != text:
            erased.append({"message_id": message_id, "text": starred})
    if erased:
        messages = Message.__table__
        session.connection().execute(update(messages).where(messages.c.id == bindparam("message_id")), erased)
    return len(erased)


def silent_since(cutoff: datetime) -> Select:
    """The ids of the conversations with no message since `cutoff`, for other domains' retention rules."""
    return select(Conversation.id).where(Conversation.last_message_at < cutoff)
