"""Rasa component that finds a tour booking's date, time, party, tour option, booking code and phone in a message."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.dates import DateMention, find_dates
from bot.nlu.party import find_party
from common.clock import now as now_in_seoul

_PHONE = re.compile(r"(?<![\d+])(?:\+82[-.\s]?0?|0)1[016789][-.\s]?\d{3,4}[-.\s]?\d{4}(?!\d)")
# Codes leave out 0/O and 1/I, which readers confuse. The lookaheads demand a digit and a letter, so that
# six-letter words ("Monday") and six-digit numbers are not codes.
_BOOKING_CODE = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z2-9]*[2-9])(?=[2-9]*[A-Za-z])[ABCDEFGHJKLMNPQRSTUVWXYZ2-9]{6}(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_TOUR_OPTIONS = re.compile(
    r"(?P<monorail>모노레일|\bmonorail\b)|(?P<walk>도보|걸어서|걷는|\bwalk(?:ing)?\b|\bon foot\b)", re.IGNORECASE
)
Entity = dict[str, Any]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class BookingEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds `date`, `time`, `part_of_day`, `party`, `tour_option`, `booking_code` and `phone` entities.

    An entity's `value` is the text as written, so test stories stay true as days pass; `resolved` holds
    what it means (`2026-12-05`, `14:00`, `{"adult": 2}`, `01012345678`). A date with a clock time or part
    of day is one `date` entity carrying `resolved_time` or `resolved_part_of_day`. Entities never overlap:
    a phone number or booking code is not also read as a date or a party.
    """

    def __init__(self, clock: Callable[[], datetime.datetime] = now_in_seoul) -> None:
        self._clock = clock

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> BookingEntityExtractor:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            # A button payload ("/book_tour{...}") carries its own entities.
            if not text.strip() or text.startswith("/"):
                continue
            found = self.add_extractor_name(booking_entities(text, self._clock()))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages


def booking_entities(text: str, now: datetime.datetime) -> list[Entity]:
    """The booking entities in `text`, sorted by position; `now` is timezone-aware."""
    entities = [
        _entity("phone", match.start(), match.end(), text, _phone_digits(match.group()))
        for match in _PHONE.finditer(text)
    ]
    entities += [
        _entity("booking_code", match.start(), match.end(), text, match.group().upper())
        for match in _BOOKING_CODE.finditer(text)
    ]
    # Phone numbers and codes come first and are blanked out, so that their digits become no date or party.
    entities += _apart_from(
        entities, [_date_entity(mention, text) for mention in find_dates(_blank(text, entities), now)]
    )
    party = find_party(_blank(text, entities))
    if party is not None:
        entities += _apart_from(entities, [_entity("party", party.start, party.end, text, party.party)])
    options = [
        _entity("tour_option", match.start(), match.end(), text, "monorail" if match["monorail"] else "walk")
        for match in _TOUR_OPTIONS.finditer(text)
    ]
    entities += _apart_from(entities, options)
    return sorted(entities, key=lambda entity: entity["start"])


def _entity(name: str, start: int, end: int, text: str, resolved: Any) -> Entity:
    return {"entity": name, "start": start, "end": end, "value": text[start:end], "resolved": resolved}


def _date_entity(mention: DateMention, text: str) -> Entity:
    if mention.date is None and mention.time is not None:
        return _entity("time", mention.start, mention.end, text, mention.time.strftime("%H:%M"))
    if mention.date is None:
        return _entity("part_of_day", mention.start, mention.end, text, mention.part_of_day)
    entity = _entity("date", mention.start, mention.end, text, mention.date.isoformat())
    if mention.time is not None:
        entity["resolved_time"] = mention.time.strftime("%H:%M")
    elif mention.part_of_day is not None:
        entity["resolved_part_of_day"] = mention.part_of_day
    return entity


def _phone_digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    # +82 10-1234-5678 and +82 010-... are both 010-1234-5678 at home.
    return "0" + digits[2:].lstrip("0") if phone.startswith("+") else digits


def _blank(text: str, entities: list[Entity]) -> str:
    for entity in entities:
        text = text[: entity["start"]] + " " * (entity["end"] - entity["start"]) + text[entity["end"] :]
    return text


def _apart_from(kept: list[Entity], candidates: list[Entity]) -> list[Entity]:
    return [
        candidate
        for candidate in candidates
        if all(candidate["end"] <= entity["start"] or entity["end"] <= candidate["start"] for entity in kept)
    ]
