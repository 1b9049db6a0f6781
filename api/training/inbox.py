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

from sqlalchemy import Select, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.conversations import handoffs
from api.conversations import service as conversations
from api.core.settings import Settings
from api.training import answers, data, texts
from api.training.errors import DuplicateExample, InboxItemNotFound, InvalidExample
from api.training.models import InboxItem, InboxSighting
from common import text_terms
from common.clock import utcnow
from common.language import SUPPORTED, detect_language
from common.masking import mask_personal_data

if TYPE_CHECKING:  # types only: other domains' tables are not read here
    from api.conversations.models import Message
    from api.staff.models import StaffUser

FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
MAX_TEXT_CHARS = 1000
MAX_ENTITIES = 20
# A handoff this long after the last typed message is not counted against that message.
HANDOFF_WINDOW = timedelta(minutes=30)
KINDS = ("review", "doubted", "low", "fallback", "handoff", "all")
# What the citizen did next that says the answer to their message was wrong, however sure the model was: the
# mistakes that matter most. Each is looked for this soon after the message.
DOUBTS = {
    "fallback_next": "다음 메시지를 이해하지 못함",
    "rephrased": "1분 안에 다시 물어봄",
    "not_helpful": "'도움이 안 됐어요'를 누름",
}
DOUBT_WINDOW = timedelta(minutes=2)
REPHRASE_WINDOW = timedelta(minutes=1)
# Share of search terms (character bigrams, words) two messages share, of the shorter one's, for the second to
# restate the first.
REPHRASE_OVERLAP = 0.5
NOT_HELPFUL_BUTTON = "/knowledge_feedback"
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
    _doubt_previous(session, message, parse, item)
    session.commit()
    return item


def _record_sighting(session: Session, message: Message, parse: Parse) -> InboxItem | None:
    text = mask_personal_data(texts.normalise(parse.text or ""))[:MAX_TEXT_CHARS]
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
                "value": mask_personal_data(str(value))[:200] if value is not None else None,
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


def _doubt_previous(session: Session, message: Message, parse: Parse, item: InboxItem | None) -> None:
    """Marks the citizen's previous typed message when this one says its answer was wrong: it was not understood
    either, it asks the same again within a minute, or it is a press of "도움이 안 됐어요"."""
    previous = session.scalar(
        select(InboxSighting)
        .where(
            InboxSighting.conversation_id == message.conversation_id,
            InboxSighting.message_id != message.id,
            InboxSighting.seen_at <= message.created_at,
            InboxSighting.seen_at >= message.created_at - DOUBT_WINDOW,
        )
        .order_by(InboxSighting.seen_at.desc(), InboxSighting.id.desc())
        .limit(1)
    )
    # A message not understood itself is already in review; one doubted already counts once.
    if previous is None or previous.fallback or previous.doubt is not None:
        return
    doubt = _doubt(session, message, parse, item, previous)
    if doubt is None:
        return
    marked = session.execute(
        update(InboxSighting).where(InboxSighting.id == previous.id, InboxSighting.doubt.is_(None)).values(doubt=doubt)
    )
    if marked.rowcount:
        session.execute(
            update(InboxItem).where(InboxItem.id == previous.item_id).values(doubt_count=InboxItem.doubt_count + 1)
        )


def _doubt(
    session: Session, message: Message, parse: Parse, item: InboxItem | None, previous: InboxSighting
) -> str | None:
    if not parse.typed:
        button = str((message.payload or {}).get("button") or "")
        return "not_helpful" if button.startswith(NOT_HELPFUL_BUTTON) and '"helpful":"no"' in button else None
    if item is None or item.id == previous.item_id:
        return None  # the very same words again: a retry, not a rephrasing
    if parse.fallback:
        return "fallback_next"
    if message.created_at - previous.seen_at <= REPHRASE_WINDOW:
        before = session.get(InboxItem, previous.item_id)
        if before is not None and _restates(before.text, item.text):
            return "rephrased"
    return None


def _restates(first: str, second: str) -> bool:
    a, b = set(text_terms.document_terms(first)), set(text_terms.document_terms(second))
    return bool(a and b) and len(a & b) / min(len(a), len(b)) >= REPHRASE_OVERLAP


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
    if wanted.kind == "review":
        # What the citizen's next move showed was wrong, or ended with a person, before what was only unsure.
        signs = case((or_(InboxItem.doubt_count > 0, InboxItem.handoff_count > 0), 2), else_=0) + case(
            (InboxItem.fallback_count > 0, 1), else_=0
        )
        statement = statement.order_by(signs.desc())
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
        "review": or_(low, InboxItem.fallback_count > 0, InboxItem.handoff_count > 0, InboxItem.doubt_count > 0),
        "doubted": InboxItem.doubt_count > 0,
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


@dataclass(frozen=True)
class Turn:
    """One message of an exchange under review: the citizen's (masked, with what the model made of it) or the
    assistant's."""

    at: datetime
    direction: str
    text: str
    intent: str | None = None
    confidence: float | None = None
    fallback: bool = False
    doubt: str | None = None
    item_id: int | None = None


def exchange(session: Session, conversation_id: int, limit: int = 200) -> list[Turn]:
    """A conversation's exchange as the admin reviews it: each citizen message masked as the inbox keeps it, with its
    intent and confidence, and the assistant's replies between them."""
    sightings = {
        sighting.message_id: sighting
        for sighting in session.scalars(select(InboxSighting).where(InboxSighting.conversation_id == conversation_id))
    }
    items_by_id = {
        item.id: item
        for item in session.scalars(select(InboxItem).where(InboxItem.id.in_({s.item_id for s in sightings.values()})))
    }
    turns = []
    for message in conversations.messages_of(session, conversation_id, limit):
        sighting = sightings.get(message.id)
        item = items_by_id.get(sighting.item_id) if sighting else None
        if message.direction == "out":
            turns.append(Turn(message.created_at, "out", mask_personal_data(message.text or "")))
        elif item is not None:
            turns.append(
                Turn(
                    message.created_at,
                    "in",
                    item.text,
                    item.intent,
                    item.confidence,
                    sighting.fallback,
                    sighting.doubt,
                    item.id,
                )
            )
        else:  # a button press, a location or a photo: what it was, never what it carried
            turns.append(Turn(message.created_at, "in", "[버튼·위치·사진]"))
    return turns


def latest_conversations(session: Session, item_ids: list[int]) -> dict[int, int]:
    """Each item's conversation of its newest sighting, to review the message in its exchange."""
    rows = session.execute(
        select(InboxSighting.item_id, InboxSighting.conversation_id)
        .where(InboxSighting.item_id.in_(item_ids))
        .order_by(InboxSighting.seen_at, InboxSighting.id)
    )
    return {item_id: conversation_id for item_id, conversation_id in rows}  # the newest one wins


def predicted_intents(session: Session) -> list[str]:
    return list(session.scalars(select(InboxItem.intent).where(InboxItem.intent.is_not(None)).distinct()))


def get_item(session: Session, item_id: int) -> InboxItem:
    item = session.get(InboxItem, item_id)
    if item is None:
        raise InboxItemNotFound(f"inbox item {item_id} not found", f"받은 문장 {item_id}이(가) 없어요.")
    return item


def label(
    session: Session,
    settings: Settings,
    item_id: int,
    user: StaffUser,
    intent: str,
    text: str | None = None,
    new_intent: bool = False,
) -> InboxItem:
    """Confirms or corrects the intent (entities marked in `text`): the message becomes a training example. An
    intent name nobody used before is created only when `new_intent` says so."""
    item = get_item(session, item_id)
    intent = data.check_intent(intent)
    example = data.check_example(text or item.text)
    if texts.key(example) != texts.key(item.text):
        raise InvalidExample(
            "Only mark entities: the words stay as the citizen wrote them.",
            "개체 표시만 할 수 있어요. 시민이 쓴 문장은 바꾸지 마세요.",
        )
    answers.confirm_new_intent(settings, intent, new_intent)
    with suppress(DuplicateExample):  # already an example of that intent: nothing to add
        data.add_example(settings, item.language, intent, example)
    return _set_status(session, item, "out_of_scope" if intent == OUT_OF_SCOPE else "labelled", user, intent)


def example_removed(session: Session, language: str, intent: str, text: str) -> int:
    """An example removed from the admin file no longer stands for the message it came from: its item is back to
    review, unlabelled. Returns how many items went back."""
    returned = session.execute(
        update(InboxItem)
        .where(
            InboxItem.language == language,
            InboxItem.text_hash == texts.text_hash(text),
            InboxItem.label_intent == intent,
            InboxItem.status.in_(("labelled", "out_of_scope")),
        )
        .values(status="new", label_intent=None, labelled_by_id=None, labelled_at=None)
    )
    session.commit()
    return returned.rowcount


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
