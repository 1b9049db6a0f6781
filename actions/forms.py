"""Leaving a form for another topic.

`action_leave_form` is predicted by bot/nlu/form_exit_policy.py when a message clearly starts another topic inside a
form: it says what was dropped, forgets the form's answers, closes the form and takes itself back (`ActionReverted`),
so that the rules run the new topic as if no form had been open.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionReverted, ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.bookings import CHANGE_SLOTS, LOOKUP_SLOTS
from actions.notices import LINK_SLOTS, NOTICE_SLOTS, UNLOCK_SLOTS
from actions.reports import RATING_SLOTS, REPORT_SLOTS, take_location_button_away
from actions.tours import BOOKING_SLOTS

LEAVE_FORM = "action_leave_form"
# What each form keeps besides its required slots: all of it is forgotten when the citizen leaves.
FORM_MEMORY: dict[str, tuple[str, ...]] = {
    "booking_form": (*BOOKING_SLOTS, "part_of_day"),
    "lookup_form": LOOKUP_SLOTS,
    "change_form": CHANGE_SLOTS,
    "phone_link_form": (*LINK_SLOTS, "phone_link_needed"),
    "notice_unlock_form": UNLOCK_SLOTS,
    "notice_search_form": NOTICE_SLOTS,
    "report_form": REPORT_SLOTS,
    "rating_comment_form": (*RATING_SLOTS, "rating_open"),
}


class ActionLeaveForm(Action):
    """Leaves the open form for the new topic the citizen just raised: says what was dropped, forgets its answers
    (except what this very message named, which the new topic may use) and takes itself back, so that the rules
    answer the message as if no form had been open."""

    def name(self) -> str:
        return LEAVE_FORM

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        form = tracker.active_loop_name
        if not form:
            return [ActionReverted()]
        if form == "report_form":
            take_location_button_away(dispatcher, tracker)
        if f"utter_left_{form}" in (domain.get("responses") or {}):
            dispatcher.utter_message(response=f"utter_left_{form}")
        required = (domain.get("forms") or {}).get(form, {}).get("required_slots") or []
        named = {
            str(e.get("value"))
            for e in (tracker.latest_message or {}).get("entities") or []
            if e.get("value") is not None
        }
        forget = dict.fromkeys((*required, *FORM_MEMORY.get(form, ())))
        resets = [SlotSet(slot, None) for slot in forget if str(tracker.get_slot(slot)) not in named]
        return [ActionReverted(), ActiveLoop(None), SlotSet("requested_slot", None), *resets]
