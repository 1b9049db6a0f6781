"""The outbox: messages to citizens written with the change that caused them, delivered by the gateway.

A message is `pending` until a gateway claims it (a lease, so two gateways never send the same
one) and reports the result: `delivered`; a temporary failure, retried with backoff (or after the
messenger's own `retry_after`); `unreachable` when the citizen blocked the bot, which stops every
pending message to them; `failed` after too many attempts or a refusal that retrying cannot fix.

Across gateway and api replicas: a claim is a conditional UPDATE, so of two claimers at once only one leases a
message (also on PostgreSQL); a message whose claimer died unreported is claimed again once its lease lapses,
until MAX_ATTEMPTS claims; a message reported delivered is never claimed again, nor changed by a later report; any
other report is fenced by its attempt, so a claimer whose lease lapsed cannot end the lease of the one after it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from api.conversations.models import Conversation, Message, OutboxMessage
from api.core.errors import NotFound
from common.clock import utcnow

MAX_ATTEMPTS = 20
MAX_BACKOFF_SECONDS = 600
DEFAULT_LEASE_SECONDS = 60
# What a polling client may be handed again after a lost response: messages handed over this recently, this many.
HANDED_OVER_AGAIN_WITHIN = timedelta(days=1)
COLLECT_LIMIT = 50
NEVER_REPORTED = "claimed too many times without a result: each gateway that took it stopped before reporting"


class OutboxMessageNotFound(NotFound):
    pass


def language_of(conversation: Conversation) -> str:
    """The language to write to this citizen in when they did not just write: their choice, else their last."""
    return conversation.preferred_language or conversation.language or "ko"


def enqueue(session: Session, conversation: Conversation, **message: Any) -> OutboxMessage:
    """Add a message for the citizen to the caller's transaction (the caller commits); its fields are
    `enqueue_once`'s. With a `dedupe_key` already written, the existing message is returned and nothing is added."""
    return enqueue_once(session, conversation, **message)[0]


def enqueue_once(
    session: Session,
    conversation: Conversation,
    *,
    text: str,
    kind: str,
    buttons: list[dict[str, str]] | None = None,
    dedupe_key: str | None = None,
    extra: dict[str, Any] | None = None,
    not_before: datetime | None = None,
) -> tuple[OutboxMessage, bool]:
    """Add a message for the citizen to the caller's transaction (the caller commits); returns it and whether it
    was written now.

    With a `dedupe_key` already written (by an earlier run or a concurrent transaction), the existing message is
    returned with False and nothing is added. With `not_before` (quiet hours) it is held until then; later
    messages to the citizen do not wait for it.
    """
    if dedupe_key:
        existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing:
            return existing, False
    payload = {"kind": kind, **(extra or {})}
    if buttons:
        payload["buttons"] = buttons
    message = Message(conversation_id=conversation.id, direction="out", text=text, payload=payload)
    outbox = OutboxMessage(
        conversation_id=conversation.id,
        message=message,
        kind=kind,
        dedupe_key=dedupe_key,
        status="pending" if conversation.reachable else "unreachable",
        next_attempt_at=not_before or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add_all([message, outbox])
    except IntegrityError:
        # The same dedupe key was written by a concurrent transaction.
        return session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)), False
    conversation.last_message_at = utcnow()
    return outbox, True


@dataclass
class Claimed:
    outbox: OutboxMessage
    conversation: Conversation
    message: Message


def claim(
    session: Session, channels: list[str], limit: int, lease_seconds: int = DEFAULT_LEASE_SECONDS
) -> list[Claimed]:
    """Lease up to `limit` due messages to the calling gateway, the oldest first.

    Only the oldest unsent message of a conversation is due, so a citizen gets them in order
    even when an earlier one is waiting for a retry; one held for later and never tried holds nothing back.
    """
    now = utcnow()
    _fail_never_reported(session, now)
    earlier = aliased(OutboxMessage)
    earlier_unsent = exists().where(
        earlier.conversation_id == OutboxMessage.conversation_id,
        earlier.status == "pending",
        (earlier.attempts > 0) | (earlier.next_attempt_at <= now),
        earlier.id < OutboxMessage.id,
    )
    candidates = session.scalars(
        select(OutboxMessage)
        .join(Conversation, Conversation.id == OutboxMessage.conversation_id)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            (OutboxMessage.leased_until.is_(None)) | (OutboxMessage.leased_until < now),
            Conversation.channel.in_(channels),
            ~earlier_unsent,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    claimed = []
    for candidate in candidates:
        # A conditional update: of two gateways claiming at once, one gets the row.
        taken = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == candidate.id,
                OutboxMessage.status == "pending",
                (OutboxMessage.leased_until.is_(None)) | (OutboxMessage.leased_until < now),
            )
            .values(leased_until=now + timedelta(seconds=lease_seconds), attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken:
            claimed.append(candidate)
    session.commit()
    for outbox in claimed:
        session.refresh(outbox)
    return [Claimed(outbox, outbox.conversation, outbox.message) for outbox in claimed]


def _fail_never_reported(session: Session, now: datetime) -> None:
    """A message whose every claimer died before reporting (one that crashes the gateway, say) fails after
    MAX_ATTEMPTS claims, and no longer holds back the citizen's later messages."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.attempts >= MAX_ATTEMPTS,
            OutboxMessage.leased_until < now,
        )
        .values(status="failed", leased_until=None, last_error=NEVER_REPORTED)
        .execution_options(synchronize_session=False)
    )
    session.commit()  # before any claim: its locks are not held while the claim takes others


def collect(session: Session, conversation: Conversation, after: int | None = None) -> list[Claimed]:
    """For a channel the citizen's client polls (the web chat): hand over what is due, as delivered, oldest first.

    With `after`, the message id of the newest city message the client has shown, what was handed over before with a
    later id is handed over again (within HANDED_OVER_AGAIN_WITHIN, COLLECT_LIMIT at a time): a response lost on the
    way is answered again at the next poll, and the client shows each message once by its id. What is due is handed
    over whatever its id: it never was, and an id below the cursor (written in a transaction that committed late)
    would otherwise wait for ever.
    """
    now = utcnow()
    handed_over = (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now)
    if after is not None:
        handed_over |= (
            (OutboxMessage.status == "delivered")
            & (OutboxMessage.message_id > after)
            & (OutboxMessage.delivered_at >= now - HANDED_OVER_AGAIN_WITHIN)
        )
    items = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.conversation_id == conversation.id, handed_over)
        .order_by(OutboxMessage.message_id)
        .limit(COLLECT_LIMIT)
    ).all()
    for outbox in items:
        if outbox.status == "pending":
            outbox.status, outbox.delivered_at, outbox.attempts = "delivered", now, outbox.attempts + 1
    session.commit()
    return [Claimed(outbox, conversation, outbox.message) for outbox in items]


def dedupe_keys(session: Session, prefix: str) -> set[str]:
    """The dedupe keys written so far that start with `prefix` (e.g. every message of one notice)."""
    return set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.startswith(prefix, autoescape=True))
        )
    )


def cancel_pending(session: Session, prefix: str) -> int:
    """Cancels the messages not yet handed to a gateway whose dedupe key starts with `prefix`; the caller commits."""
    now = utcnow()
    return session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.dedupe_key.startswith(prefix, autoescape=True),
            OutboxMessage.status == "pending",
            (OutboxMessage.leased_until.is_(None)) | (OutboxMessage.leased_until < now),
        )
        .values(status="cancelled")
        .execution_options(synchronize_session="fetch")
    ).rowcount


def get(session: Session, outbox_id: int, *, for_update: bool = False) -> OutboxMessage:
    outbox = session.get(OutboxMessage, outbox_id, with_for_update=for_update)
    if outbox is None:
        raise OutboxMessageNotFound(f"outbox message {outbox_id} not found", f"발송 메시지 {outbox_id}이(가) 없습니다")
    return outbox


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, MAX_BACKOFF_SECONDS))


@dataclass
class Reported:
    outbox: OutboxMessage
    applied: bool  # False when the report changed nothing


def report(
    session: Session,
    outbox_id: int,
    status: str,
    *,
    attempt: int | None = None,
    error: str | None = None,
    retry_after: float | None = None,
    channel_message_id: str | None = None,
) -> Reported:
    """Record what a gateway's delivery attempt came to.

    A delivery is recorded whenever it is reported: the citizen has the message, whoever sent it. Any other report
    is fenced: it changes only a message still pending whose current attempt is the reporter's `attempt` (the
    claim's `attempts`; without one, the current), so a late or repeated report (a claimer whose lease lapsed and
    that another gateway has claimed since) neither ends the other's lease nor undoes a delivery or a final failure.
    The check is part of the UPDATE, so a claim between reading the message and writing the report also wins.
    """
    outbox = get(session, outbox_id, for_update=True)
    current = outbox.attempts if attempt is None else attempt
    now = utcnow()
    change: dict[str, Any] = {"leased_until": None, "last_error": error[:500] if error else None}
    if status == "delivered":
        fence = OutboxMessage.status != "delivered"
        change |= {"status": "delivered", "delivered_at": now, "channel_message_id": channel_message_id}
    else:
        fence = (OutboxMessage.status == "pending") & (OutboxMessage.attempts == current)
        if status == "retry" and current < MAX_ATTEMPTS:
            wait = timedelta(seconds=retry_after) if retry_after is not None else backoff(current)
            change["next_attempt_at"] = now + wait
        elif status != "unreachable":  # unreachable: marked below with every pending message to the citizen
            change["status"] = "failed"
    applied = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, fence)
        .values(**change)
        .execution_options(synchronize_session=False)
    ).rowcount
    if applied and status == "unreachable":
        _mark_unreachable(session, outbox.conversation, error)
    session.commit()
    session.refresh(outbox)
    return Reported(outbox, bool(applied))


def _mark_unreachable(session: Session, conversation: Conversation, error: str | None) -> None:
    conversation.reachable = False
    session.execute(
        update(OutboxMessage)
        .where(and_(OutboxMessage.conversation_id == conversation.id, OutboxMessage.status == "pending"))
        .values(status="unreachable", leased_until=None, last_error=error[:500] if error else None)
        .execution_options(synchronize_session="fetch")
    )
