"""Retention in Rasa's SQL tracker store: old conversations deleted, names, phones and codes blanked in old events.

Rasa's SQLTrackerStore (rasa/core/tracker_store.py) keeps every event of a conversation as one row of the
table `events`: `sender_id` ("telegram:123"), `type_name` ("user", "bot", "slot", "session_started", ...),
`timestamp` (Unix seconds) and `data`, the event as JSON. It rebuilds a tracker from the events since the
sender's latest `session_started` and appends new events after as many rows as that session has, so rows of
the current session are never deleted here, only rewritten in place.
"""

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url

from common.masking import erase_masked_phones, erase_phones

# Rasa's table as its SQLTrackerStore creates it; only read and written here, never created.
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
# Slots whose values are personal: the booker's name and phone, the phone being linked, one-time codes,
# booking codes (with the phone they open a booking) and a shared location (domain/).
PERSONAL_SLOTS = frozenset(
    {"booker_name", "booker_phone", "link_phone", "link_code", "otp_code", "booking_code", "latitude", "longitude"}
)
# The events that carry what a citizen said or was told: their text, entities, buttons, slot values.
WORDS = ("user", "bot", "slot")
# Keys of an event that describe it rather than say anything: never rewritten.
_FRAME = frozenset({"event", "timestamp", "name", "message_id", "input_channel", "policy", "confidence"})
# Shorter values (a one-letter answer, the link form's "ok") would mask ordinary words in other messages.
_SHORTEST_MASKED = 2


def apply_retention(
    url: str, delete_before: datetime, blank_before: datetime, blank_since: datetime | None = None
) -> dict[str, int]:
    """Deletes the conversations silent since `delete_before` and the earlier sessions of the others, and blanks
    personal slot values, phones and the values said into them in events between `blank_since` and
    `blank_before` (all older events when `blank_since` is None). A store Rasa has not created yet is left alone.
    """
    counts = {"tracker_events_deleted": 0, "tracker_events_blanked": 0}
    database = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and not (database and Path(database).exists()):
        return counts  # connecting would create an empty file where Rasa expects its own
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table(EVENTS.name):
            return counts
        with engine.begin() as connection:
            counts["tracker_events_deleted"] = _delete_old_conversations(connection, delete_before.timestamp())
        since = blank_since.timestamp() if blank_since else None
        for sender_id in _senders_with_words(engine, blank_before.timestamp(), since):
            with engine.begin() as connection:
                counts["tracker_events_blanked"] += _blank_sender(
                    connection, sender_id, blank_before.timestamp(), since
                )
    finally:
        engine.dispose()
    return counts


def _delete_old_conversations(connection: Connection, before: float) -> int:
    later = EVENTS.alias("later")
    active = select(later.c.sender_id).where(later.c.timestamp >= before)
    latest_session = (
        select(func.max(later.c.timestamp))
        .where(later.c.sender_id == EVENTS.c.sender_id, later.c.type_name == "session_started")
        .scalar_subquery()
    )
    return connection.execute(
        delete(EVENTS).where(
            EVENTS.c.timestamp < before,
            or_(EVENTS.c.sender_id.not_in(active), EVENTS.c.timestamp < latest_session),
        )
    ).rowcount


def _window(before: float, since: float | None) -> list:
    conditions = [EVENTS.c.type_name.in_(WORDS), EVENTS.c.timestamp < before]
    return conditions if since is None else [*conditions, EVENTS.c.timestamp >= since]


def _senders_with_words(engine, before: float, since: float | None) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(EVENTS.c.sender_id).where(*_window(before, since)).distinct()))


def _blank_sender(connection: Connection, sender_id: str, before: float, since: float | None) -> int:
    rows = connection.execute(
        select(EVENTS.c.id, EVENTS.c.data)
        .where(EVENTS.c.sender_id == sender_id, *_window(before, since))
        .order_by(EVENTS.c.id)
    ).all()
    events = [(row.id, json.loads(row.data)) for row in rows if row.data]
    said = _personal_values(data for _id, data in events)
    blanked = 0
    for event_id, data in events:
        changed = _blank_event(data, said)
        if changed != data:
            connection.execute(update(EVENTS).where(EVENTS.c.id == event_id).values(data=json.dumps(changed)))
            blanked += 1
    return blanked


def _personal_values(events) -> list[str]:
    """What the citizen gave as a name, phone or code, longest first, to be masked wherever it was repeated."""
    values = {
        str(data["value"]).strip()
        for data in events
        if data.get("event") == "slot" and data.get("name") in PERSONAL_SLOTS and isinstance(data.get("value"), str)
    }
    return sorted(
        (v for v in values if len(v) >= _SHORTEST_MASKED and v not in ("ok", "failed")), key=len, reverse=True
    )


def _blank_event(data: dict[str, Any], said: list[str]) -> dict[str, Any]:
    if data.get("event") == "slot" and data.get("name") in PERSONAL_SLOTS:
        return {**data, "value": None}
    erase = erase_masked_phones if data.get("event") == "bot" else erase_phones
    return {key: value if key in _FRAME else _masked(value, said, erase) for key, value in data.items()}


def _masked(value: Any, said: list[str], erase: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        value = erase(value)
        for personal in said:
            value = value.replace(personal, "*" * len(personal))
        return value
    if isinstance(value, dict):
        return {key: _masked(inner, said, erase) for key, inner in value.items()}
    if isinstance(value, list):
        return [_masked(inner, said, erase) for inner in value]
    return value
