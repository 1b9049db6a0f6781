"""Actions of the conversation itself: handing it to a person, and not understanding twice in a row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiClient, ApiUnavailable

# Which department a conversation most likely needs, from what the citizen asked before.
DEPARTMENT_OF_INTENT = {
    **dict.fromkeys(
        ["tour_list", "tour_info", "tour_availability", "book_tour", "my_bookings", "cancel_booking", "change_booking",
         "join_waitlist"],
        "tourism",
    ),
    **dict.fromkeys(["opendata_question", "opendata_catalog", "facility_nearby"], "open_data"),
}  # fmt: skip
FALLBACKS_BEFORE_HANDOFF = 2
WEEKDAYS = {"ko": "월화수목금토일", "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}


def _user_intents(tracker: Tracker) -> list[str]:
    """The intents of this dialogue's user messages, newest first (a restart begins a new dialogue)."""
    intents = []
    for event in reversed(tracker.events):
        if event.get("event") == "restart":
            break
        if event.get("event") == "user":
            intents.append(((event.get("parse_data") or {}).get("intent") or {}).get("name"))
    return intents


def guess_department(tracker: Tracker) -> str:
    for intent in _user_intents(tracker):
        if intent in DEPARTMENT_OF_INTENT:
            return DEPARTMENT_OF_INTENT[intent]
    return "civil_affairs"


def fallbacks_in_a_row(tracker: Tracker) -> int:
    count = 0
    for intent in _user_intents(tracker):
        if intent != "nlu_fallback":
            break
        count += 1
    return count


def format_opening(iso: str, language: str) -> str:
    opening = datetime.fromisoformat(iso)
    if language == "en":
        return f"{WEEKDAYS['en'][opening.weekday()]} {opening.day} {opening:%b}, {opening:%H:%M}"
    return f"{opening.month}월 {opening.day}일({WEEKDAYS['ko'][opening.weekday()]}) {opening:%H:%M}"


async def hand_off(
    api: ApiClient, dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> list[dict[str, Any]]:
    """Queues the conversation for a staff member and tells the citizen what happens next.

    The dialogue pauses: until staff hand it back, the gateway passes the citizen's messages to
    the staff inbox instead of here.
    """
    language = tracker.get_slot("language") or "ko"
    try:
        ticket = await api.request_handoff(tracker.sender_id, reason=reason, department=guess_department(tracker))
    except ApiUnavailable:
        dispatcher.utter_message(response="utter_service_unavailable")
        return []
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


class ActionRequestHuman(Action):
    def __init__(self, api: ApiClient | None = None) -> None:
        self._api = api or ApiClient.from_env()

    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return await hand_off(self._api, dispatcher, tracker, reason="request_human")


class ActionNotUnderstood(Action):
    """The first miss asks again with a menu; the second in a row brings in a person."""

    def __init__(self, api: ApiClient | None = None) -> None:
        self._api = api or ApiClient.from_env()

    def name(self) -> str:
        return "action_not_understood"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if fallbacks_in_a_row(tracker) < FALLBACKS_BEFORE_HANDOFF:
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(response="utter_still_not_understood")
        return await hand_off(self._api, dispatcher, tracker, reason="two_fallbacks")
