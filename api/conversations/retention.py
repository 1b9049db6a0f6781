"""Deletes transcripts past their retention period."""

from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from api.conversations.models import Message, OutboxMessage


def delete_messages_before(session: Session, cutoff: datetime) -> int:
    """Deletes the messages written before `cutoff`, except those still waiting to be delivered; the caller commits."""
    undelivered = exists().where(OutboxMessage.message_id == Message.id, OutboxMessage.status == "pending")
    old = select(Message.id).where(Message.created_at < cutoff, ~undelivered)
    return session.execute(
        delete(Message).where(Message.id.in_(old)).execution_options(synchronize_session=False)
    ).rowcount
