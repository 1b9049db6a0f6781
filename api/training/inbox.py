"""The NLU inbox: every message the assistant parsed (masked, de-duplicated, counted) and the admins' labels.

The gateway reports each message it sent to Rasa (`POST /api/training/inbox`): typed text with
the parse result, button presses without one. A message after which the conversation was handed
to a person (by asking, by the button, or after misunderstandings) marks the last typed message
before the handoff as "ended in a handoff".
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.conversations import handoffs
from api.conversations import service as conversations
from api.core.settings import Settings
from api.training import data, texts
from api.training.errors import DuplicateExample, InboxItemNotFound, InvalidExample
from api.training.models import InboxItem, InboxSighting
from common.clock import utcnow
from common.language import SUPPORTED, detect_language

if TYPE_CHECKING:  # types only: other domains' tables are not read here
    from api.conversations.models import Message
    from api.staff.models import StaffUser

FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
MAX_TEXT_CHARS = 1000
MAX_ENTITIES = 20
# A handoff this long after the last typed message is not counted against that message.
HANDOFF_WINDOW = timedelta(minutes=30)
KINDS = ("review", "low", "fallback", "handoff", "all")
STATUSES = ("new", "labelled", "out_of_scope", "ignored", "all")
ORDERS = ("recent", "frequent")


@dataclass(frozen=True)
class Parse:
    """What the gateway reports about one message it sent to Rasa."""

    message_id: int
    typed: bool
    text: str | None = None
    language: str | None = None
    intent: str | None = None
    confidence: float | None = None
    entities: list[dict[str, Any]] | None = None
    fallback: bool = False
    model_id: str | None = None


def record(session: Session, parse: Parse) -> InboxItem | None:
    """Stores a parsed message (once per message) and marks a handoff that followed; returns its item."""
    message = conversations.incoming_message(session, parse.message_id)
    item = _record_sighting(session, message, parse) if parse.typed and parse.text else None
    _mark_handoff(session, message)
    session.commit()
    return item


def _record_sighting(session: Session, message: Message, parse: Parse) -> InboxItem | None:
    text = texts.mask_personal_data(texts.normalise(parse.text or ""))[:MAX_TEXT_CHARS]
    if not text:
        return None
    language = parse.language if parse.language in SUPPORTED else detect_language(text) or SUPPORTED[0]
    digest = texts.text_hash(text)
    if session.scalar(select(InboxSighting.id).where(InboxSighting.message_id == message.id)):
        return _find_item(session, language, digest)
    item = _find_item(session, language, digest)
    prediction = {
        "intent": parse.intent,
        "confidence": round(float(parse.confidence or 0.0), 4),
        "entities": _masked_entities(parse.entities or []),
        "fallback": parse.fallback,
        "model_id": parse.model_id,
    }
    if item is None:
        try:
            with session.begin_nested():
                item = InboxItem(
                    language=language,
                    text=text,
                    text_hash=digest,
                    count=0,
                    first_seen_at=message.created_at,
                    last_seen_at=message.created_at,
                    **prediction,
                )
                session.add(item)
        except IntegrityError:  # the same text arrived twice at once: the other one created the item
            item = _find_item(session, language, digest)
    try:
        with session.begin_nested():
            session.add(
                InboxSighting(
                    item_id=item.id,
                    conversation_id=message.conversation_id,
                    message_id=message.id,
                    seen_at=message.created_at,
                    fallback=parse.fallback,
                )
            )
    except IntegrityError:  # a retried report of the same message
        return item
    # Counters in SQL: two reports of the same text at once both count.
    session.execute(
        update(InboxItem)
        .where(InboxItem.id == item.id)
        .values(
            count=InboxItem.count + 1,
            fallback_count=InboxItem.fallback_count + (1 if parse.fallback else 0),
            last_seen_at=max(item.last_seen_at, message.created_at),
            **prediction,
        )
    )
    session.refresh(item)
    return item


def _find_item(session: Session, language: str, digest: str) -> InboxItem | None:
    return session.scalar(select(InboxItem).where(InboxItem.language == language, InboxItem.text_hash == digest))


def _masked_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    masked = []
    for entity in entities[:MAX_ENTITIES]:
        if not isinstance(entity, dict) or not entity.get("entity"):
            continue
        value = entity.get("value")
        masked.append(
            {
                "entity": str(entity["entity"])[:64],
                "value": texts.mask_personal_data(str(value))[:200] if value is not None else None,
                "extractor": entity.get("extractor"),
            }
        )
    return masked


def _mark_handoff(session: Session, message: Message) -> None:
    handoff = handoffs.latest_handoff(session, message.conversation_id)
    if handoff is None or handoff.requested_at < message.created_at:
        return
    sighting = session.scalar(
        select(InboxSighting)
        .where(
            InboxSighting.conversation_id == message.conversation_id,
            InboxSighting.seen_at <= handoff.requested_at,
            InboxSighting.seen_at >= handoff.requested_at - HANDOFF_WINDOW,
        )
        .order_by(InboxSighting.seen_at.desc(), InboxSighting.id.desc())
        .limit(1)
    )
    if sighting is None or sighting.handoff:
        return
    marked = session.execute(
        update(InboxSighting)
        .where(InboxSighting.id == sighting.id, InboxSighting.handoff.is_(False))
        .values(handoff=True)
    )
    if marked.rowcount:
        session.execute(
            update(InboxItem).where(InboxItem.id == sighting.item_id).values(handoff_count=InboxItem.handoff_count + 1)
        )


# --- the admins' view ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilter:
    kind: str = "review"  # review: low confidence, fallback or handoff
    status: str = "new"
    language: str = ""
    intent: str = ""
    order: str = "recent"
    limit: int = 100
    offset: int = 0


def items(session: Session, settings: Settings, wanted: InboxFilter) -> list[InboxItem]:
    statement = _filtered(select(InboxItem), settings, wanted)
    if wanted.order == "frequent":
        statement = statement.order_by(InboxItem.count.desc(), InboxItem.last_seen_at.desc(), InboxItem.id.desc())
    else:
        statement = statement.order_by(InboxItem.last_seen_at.desc(), InboxItem.id.desc())
    return list(session.scalars(statement.limit(wanted.limit).offset(wanted.offset)))


def count(session: Session, settings: Settings, wanted: InboxFilter) -> int:
    return session.scalar(_filtered(select(func.count()).select_from(InboxItem), settings, wanted))


def _filtered(statement: Select, settings: Settings, wanted: InboxFilter) -> Select:
    low = InboxItem.confidence < settings.nlu_inbox_confidence
    conditions = {
        "review": or_(low, InboxItem.fallback_count > 0, InboxItem.handoff_count > 0),
        "low": low,
        "fallback": InboxItem.fallback_count > 0,
        "handoff": InboxItem.handoff_count > 0,
    }
    if wanted.kind in conditions:
        statement = statement.where(conditions[wanted.kind])
    if wanted.status in STATUSES and wanted.status != "all":
        statement = statement.where(InboxItem.status == wanted.status)
    if wanted.language:
        statement = statement.where(InboxItem.language == wanted.language)
    if wanted.intent:
        statement = statement.where(InboxItem.intent == wanted.intent)
    return statement


def predicted_intents(session: Session) -> list[str]:
    return list(session.scalars(select(InboxItem.intent).where(InboxItem.intent.is_not(None)).distinct()))


def get_item(session: Session, item_id: int) -> InboxItem:
    item = session.get(InboxItem, item_id)
    if item is None:
        raise InboxItemNotFound(f"inbox item {item_id} not found", f"받은 문장 {item_id}이(가) 없어요.")
    return item


def label(
    session: Session, settings: Settings, item_id: int, user: StaffUser, intent: str, text: str | None = None
) -> InboxItem:
    """Confirms or corrects the intent (entities marked in `text`): the message becomes a training example."""
    item = get_item(session, item_id)
    intent = data.check_intent(intent)
    example = data.check_example(text or item.text)
    if texts.key(example) != texts.key(item.text):
        raise InvalidExample(
            "Only mark entities: the words stay as the citizen wrote them.",
            "개체 표시만 할 수 있어요. 시민이 쓴 문장은 바꾸지 마세요.",
        )
    with suppress(DuplicateExample):  # already an example of that intent: nothing to add
        data.add_example(settings, item.language, intent, example)
    return _set_status(session, item, "out_of_scope" if intent == OUT_OF_SCOPE else "labelled", user, intent)


def mark_out_of_scope(session: Session, settings: Settings, item_id: int, user: StaffUser) -> InboxItem:
    return label(session, settings, item_id, user, OUT_OF_SCOPE)


def ignore(session: Session, item_id: int, user: StaffUser) -> InboxItem:
    return _set_status(session, get_item(session, item_id), "ignored", user, None)


def _set_status(session: Session, item: InboxItem, status: str, user: StaffUser, intent: str | None) -> InboxItem:
    item.status = status
    item.label_intent = intent
    item.labelled_by_id = user.id
    item.labelled_at = utcnow()
    session.commit()
    return item


# --- figures for the daily report -----------------------------------------------------------------------------


def parse_counts(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """How many messages were parsed in [start, end), and how many of them the bot did not understand."""
    in_time = (InboxSighting.seen_at >= start, InboxSighting.seen_at < end)
    parsed = session.scalar(select(func.count(InboxSighting.id)).where(*in_time))
    fallbacks = session.scalar(select(func.count(InboxSighting.id)).where(*in_time, InboxSighting.fallback))
    return parsed, fallbacks


def sightings_between(session: Session, start: datetime, end: datetime) -> list[tuple[datetime, bool]]:
    """When each message parsed in [start, end) was seen, and whether the bot did not understand it."""
    return list(
        session.execute(
            select(InboxSighting.seen_at, InboxSighting.fallback).where(
                InboxSighting.seen_at >= start, InboxSighting.seen_at < end
            )
        ).tuples()
    )


def most_misunderstood(session: Session, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]:
    """The masked texts the bot most often did not understand in [start, end), with how often."""
    times = func.count(InboxSighting.id).label("times")
    top = session.execute(
        select(InboxItem.text, InboxItem.language, times)
        .join(InboxSighting, InboxSighting.item_id == InboxItem.id)
        .where(InboxSighting.seen_at >= start, InboxSighting.seen_at < end, InboxSighting.fallback)
        .group_by(InboxItem.id, InboxItem.text, InboxItem.language)
        .order_by(times.desc(), InboxItem.id)
        .limit(limit)
    )
    return [{"text": text, "language": language, "count": n} for text, language, n in top]
