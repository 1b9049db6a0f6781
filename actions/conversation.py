"""Actions of the conversation itself: handing it to a person, and not understanding twice in a row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ApiAction, language_of
from actions.vocabulary import Departments, departments
from common.calendar import weekday_name

# Which department a conversation most likely needs, from what the citizen asked before (the intents are the
# dialogue's words; the departments, and where the rest go, are the api's).
DEPARTMENT_OF_INTENT = {
    **dict.fromkeys(
        ["tour_list", "tour_info", "tour_availability", "book_tour", "my_bookings", "cancel_booking", "change_booking",
         "join_waitlist"],
        "tourism",
    ),
    **dict.fromkeys(["opendata_question", "opendata_catalog", "facility_nearby"], "open_data"),
}  # fmt: skip
FALLBACKS_BEFORE_HANDOFF = 2
# A message the NLU did not understand may still be answered from the knowledge base (actions/knowledge.py): then it
# was no miss. Named here, where misses are counted, so that this module needs nothing from that one.
ANSWER_FROM_KNOWLEDGE = "action_answer_from_knowledge"
KNOWLEDGE_DECLINED = "utter_knowledge_no_answer"


def _user_turns(tracker: Tracker) -> list[tuple[str | None, bool]]:
    """This dialogue's user messages, newest first (a restart begins a new dialogue): each one's intent, and whether
    the knowledge base answered it."""
    turns = []
    asked = declined = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "restart":
            break
        if kind == "action" and event.get("name") == ANSWER_FROM_KNOWLEDGE:
            asked = True
        elif kind == "bot" and (event.get("metadata") or {}).get("utter_action") == KNOWLEDGE_DECLINED:
            declined = True
        elif kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            turns.append((intent, asked and not declined))
            asked = declined = False
    return turns


def _user_intents(tracker: Tracker) -> list[str | None]:
    """The intents of this dialogue's user messages, newest first."""
    return [intent for intent, _answered in _user_turns(tracker)]


def guess_department(tracker: Tracker, known: Departments) -> str:
    for intent in _user_intents(tracker):
        if DEPARTMENT_OF_INTENT.get(intent) in known.codes:
            return DEPARTMENT_OF_INTENT[intent]
    return known.default


def fallbacks_in_a_row(tracker: Tracker) -> int:
    """How many of the latest messages in a row were not understood and not answered from the knowledge base, the
    latest one (being answered now) included."""
    count = 0
    for intent, answered in _user_turns(tracker):
        if intent != "nlu_fallback" or answered:
            break
        count += 1
    return count


def format_opening(iso: str, language: str) -> str:
    opening = datetime.fromisoformat(iso)
    if language == "en":
        return f"{weekday_name(opening, 'en')} {opening.day} {opening:%b}, {opening:%H:%M}"
    return f"{opening.month}월 {opening.day}일({weekday_name(opening, 'ko')}) {opening:%H:%M}"


class HandOff(ApiAction):
    """Queues the conversation for a staff member and tells the citizen what happens next.

    The dialogue pauses: until staff hand it back, the gateway passes the citizen's messages to
    the staff inbox instead of here.
    """

    async def hand_off(self, dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[dict[str, Any]]:
        language = language_of(tracker)
        department = guess_department(tracker, await departments(self.api))
        ticket = await self.api.request_handoff(tracker.sender_id, reason=reason, department=department)
        if ticket.office_open:
            dispatcher.utter_message(
                response="utter_handoff_queued",
                waiting_ahead=ticket.waiting_ahead,
                expected_wait=max(ticket.expected_wait_minutes or 1, 1),
            )
        else:
            dispatcher.utter_message(
                response="utter_handoff_after_hours", next_opening=format_opening(ticket.next_opening, language)
            )
        return [ConversationPaused()]


class ActionRequestHuman(HandOff):
    def name(self) -> str:
        return "action_request_human"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        return await self.hand_off(dispatcher, tracker, reason="request_human")


class ActionNotUnderstood(HandOff):
    """The first miss asks again with a menu; the second in a row brings in a person."""

    def name(self) -> str:
        return "action_not_understood"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        if fallbacks_in_a_row(tracker) < FALLBACKS_BEFORE_HANDOFF:
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(response="utter_still_not_understood")
        return await self.hand_off(dispatcher, tracker, reason="two_fallbacks")
