"""Actions for a citizen's existing bookings: list them, look one up, cancel it after a confirmation."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import ApiRefused, ApiUnavailable
from actions.tours import (
    OPTION_NAMES,
    ValidateBookingForm,
    api,
    entity,
    format_day,
    format_party,
    format_time,
    format_won,
    language_of,
)

STATUS_NAMES = {
    "ko": {"confirmed": "확정", "cancelled": "취소됨"},
    "en": {"confirmed": "confirmed", "cancelled": "cancelled"},
}
LOOKUP_SLOTS = ("booking_code", "booker_phone", "manage_intent", "awaiting_cancel_confirm")


def booking_summary(booking: dict[str, Any], language: str) -> dict[str, str]:
    run = booking["run"]
    return {
        "code": booking["code"],
        "day": format_day(run["date"], language),
        "time": format_time(run["starts_at"]),
        "option": OPTION_NAMES[language][run["option"]],
        "party": format_party(booking["party"], language),
        "fee": format_won(booking["total_fee"], language),
        "status": STATUS_NAMES[language][booking["status"]],
    }


class ActionMyBookings(Action):
    """This messenger user's bookings; without any, a lookup by code and phone."""

    def name(self) -> str:
        return "action_my_bookings"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        try:
            bookings = [b for b in await api().bookings_of(tracker.sender_id, language) if b["status"] == "confirmed"]
        except (ApiUnavailable, ApiRefused):
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        if not bookings:
            dispatcher.utter_message(response="utter_no_bookings_here")
            return [SlotSet("manage_intent", "show"), FollowupAction("lookup_form")]
        for booking in bookings:
            dispatcher.utter_message(
                response="utter_booking_card",
                buttons=[
                    {
                        "title": "날짜·시간 변경" if language == "ko" else "Change day or time",
                        "payload": f'/change_booking{{"booking_code":"{booking["code"]}"}}',
                    },
                    {
                        "title": "예약 취소" if language == "ko" else "Cancel this booking",
                        "payload": f'/cancel_booking{{"booking_code":"{booking["code"]}"}}',
                    },
                ],
                **booking_summary(booking, language),
            )
        return []


class ActionStartCancel(Action):
    def name(self) -> str:
        return "action_start_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        return [SlotSet("manage_intent", "cancel"), SlotSet("awaiting_cancel_confirm", None)]


class ActionStartChange(Action):
    def name(self) -> str:
        return "action_start_change"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        return [SlotSet("manage_intent", "change"), *(SlotSet(slot, None) for slot in ("tour_date", "run_id", "party"))]


class LookupValidation:
    """Finding a booking by its code and the booker's phone, shared by the lookup and change forms."""

    async def validate_booking_code(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        mention = entity(tracker, "booking_code")
        code = (mention or {}).get("resolved") or str(slot_value or "").strip().upper()
        if len(code) != 6 or not code.isalnum():
            dispatcher.utter_message(response="utter_invalid_booking_code")
            return {"booking_code": None}
        return {"booking_code": code}

    async def validate_booker_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        mention = entity(tracker, "phone")
        phone = mention["resolved"] if mention else str(slot_value or "")
        code = tracker.get_slot("booking_code")
        language = language_of(tracker)
        try:
            booking = await api().find_booking(code, phone, language)
        except ApiRefused as refusal:
            dispatcher.utter_message(text=refusal.detail)
            # A wrong pair may be a wrong code as much as a wrong phone: ask for both again.
            return {"booker_phone": None, "booking_code": None}
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return {"booker_phone": None}
        if tracker.active_loop_name == "change_form":
            if booking["status"] != "confirmed":
                dispatcher.utter_message(response="utter_booking_card", **booking_summary(booking, language))
                return {"booker_phone": None, "booking_code": None}
            dispatcher.utter_message(response="utter_booking_card", **booking_summary(booking, language))
            # The party stays; the new departure must have room for it.
            return {"booker_phone": phone, "party": booking["party"]}
        return {"booker_phone": phone}


class ValidateLookupForm(LookupValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_lookup_form"


class ActionShowLookedUpBooking(Action):
    """After the lookup form: shows the booking, and for a cancellation asks to confirm it."""

    def name(self) -> str:
        return "action_show_looked_up_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        code, phone = tracker.get_slot("booking_code"), tracker.get_slot("booker_phone")
        try:
            booking = await api().find_booking(code, phone, language)
        except (ApiUnavailable, ApiRefused):
            dispatcher.utter_message(response="utter_service_unavailable")
            return [SlotSet(slot, None) for slot in LOOKUP_SLOTS]
        summary = booking_summary(booking, language)
        if tracker.get_slot("manage_intent") == "cancel" and booking["status"] == "confirmed":
            dispatcher.utter_message(response="utter_ask_cancel_confirm", **summary)
            return [SlotSet("awaiting_cancel_confirm", True)]
        dispatcher.utter_message(response="utter_booking_card", **summary)
        return [SlotSet(slot, None) for slot in LOOKUP_SLOTS]


class ActionCancelBooking(Action):
    def name(self) -> str:
        return "action_cancel_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        try:
            booking = await api().cancel(tracker.get_slot("booking_code"), tracker.get_slot("booker_phone"), language)
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        except ApiRefused as refusal:
            dispatcher.utter_message(text=refusal.detail)
        else:
            dispatcher.utter_message(response="utter_booking_cancelled", **booking_summary(booking, language))
        return [SlotSet(slot, None) for slot in LOOKUP_SLOTS]


class ActionKeepBooking(Action):
    """Leaves a lookup or a cancellation without changing anything."""

    def name(self) -> str:
        return "action_keep_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        dispatcher.utter_message(response="utter_booking_kept")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *(SlotSet(slot, None) for slot in LOOKUP_SLOTS)]


class ValidateChangeForm(LookupValidation, ValidateBookingForm):
    """The booking to change (code and phone), then its new day and departure, checked like a new booking's."""

    def name(self) -> str:
        return "validate_change_form"


class ActionChangeBooking(Action):
    """Moves the found booking to the chosen departure; if that fails the booking keeps its seats."""

    def name(self) -> str:
        return "action_change_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        code, phone = tracker.get_slot("booking_code"), tracker.get_slot("booker_phone")
        try:
            booking = await api().change(code, phone, int(tracker.get_slot("run_id")), language)
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        except ApiRefused as refusal:
            dispatcher.utter_message(text=refusal.detail)
            dispatcher.utter_message(response="utter_booking_kept")
        else:
            dispatcher.utter_message(response="utter_booking_changed", **booking_summary(booking, language))
        return [SlotSet(slot, None) for slot in (*LOOKUP_SLOTS, "tour_date", "run_id", "party", "part_of_day")]
