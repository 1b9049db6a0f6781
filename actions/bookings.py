"""Actions for a citizen's existing bookings: list them, look one up, cancel it after a confirmation, change it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import ApiProblem, ApiRefused
from actions.base import ApiAction, ApiCaller, FormValidation, entity, language_of, pick
from actions.cards import booking_card
from actions.tours import ValidateBookingForm, booking_fields
from common.payloads import payload

STATUS_NAMES = {
    "ko": {"confirmed": "확정", "cancelled": "취소됨"},
    "en": {"confirmed": "confirmed", "cancelled": "cancelled"},
}
LOOKUP_SLOTS = ("booking_code", "booker_phone", "manage_intent", "awaiting_cancel_confirm")


def booking_summary(booking: dict[str, Any], language: str) -> dict[str, str]:
    return {**booking_fields(booking, language), "status": STATUS_NAMES[language][booking["status"]]}


def utter_booking(
    dispatcher: CollectingDispatcher, response: str, booking: dict[str, Any], language: str, **kw: Any
) -> None:
    """A response that shows a booking, its fields filled in and repeated as a card."""
    summary = booking_summary(booking, language)
    shown = booking_card(
        pick(language, "DMZ 평화관광 예약", "DMZ peace tour booking"),
        language,
        code=summary["code"],
        status=summary["status"],
        when=f"{summary['day']} {summary['time']}",
        course=summary["option"],
        party=summary["party"],
        fee=summary["fee"],
    )
    dispatcher.utter_message(response=response, json_message=shown, **summary, **kw)


def _forget_lookup() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in LOOKUP_SLOTS]


class ActionMyBookings(ApiAction):
    """This messenger user's bookings; without any, a lookup by code and phone."""

    def name(self) -> str:
        return "action_my_bookings"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        bookings = await self.api.bookings_of(tracker.sender_id, language, status="confirmed")
        if not bookings:
            dispatcher.utter_message(response="utter_no_bookings_here")
            return [SlotSet("manage_intent", "show"), FollowupAction("lookup_form")]
        for booking in bookings:
            utter_booking(
                dispatcher,
                "utter_booking_card",
                booking,
                language,
                buttons=[
                    {
                        "title": "날짜·시간 변경" if language == "ko" else "Change day or time",
                        "payload": payload("change_booking", booking_code=booking["code"]),
                    },
                    {
                        "title": "예약 취소" if language == "ko" else "Cancel this booking",
                        "payload": payload("cancel_booking", booking_code=booking["code"]),
                    },
                ],
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


class LookupValidation(ApiCaller):
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

        def ask_again(problem: ApiProblem) -> dict[str, Any]:
            # A wrong pair may be a wrong code as much as a wrong phone: ask for both again.
            return (
                {"booker_phone": None, "booking_code": None}
                if isinstance(problem, ApiRefused)
                else {"booker_phone": None}
            )

        return await self.attempt(dispatcher, self._found(phone, dispatcher, tracker), ask_again)

    async def _found(self, phone: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        language = language_of(tracker)
        booking = await self.api.find_booking(tracker.get_slot("booking_code"), phone, language)
        if tracker.active_loop_name == "change_form":
            utter_booking(dispatcher, "utter_booking_card", booking, language)
            if booking["status"] != "confirmed":
                return {"booker_phone": None, "booking_code": None}
            # The party stays; the new departure must have room for it.
            return {"booker_phone": phone, "party": booking["party"]}
        return {"booker_phone": phone}


class ValidateLookupForm(LookupValidation, FormValidation):
    def name(self) -> str:
        return "validate_lookup_form"


class ActionShowLookedUpBooking(ApiAction):
    """After the lookup form: shows the booking, and for a cancellation asks to confirm it."""

    def name(self) -> str:
        return "action_show_looked_up_booking"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        code, phone = tracker.get_slot("booking_code"), tracker.get_slot("booker_phone")
        booking = await self.api.find_booking(code, phone, language)
        if tracker.get_slot("manage_intent") == "cancel" and booking["status"] == "confirmed":
            utter_booking(dispatcher, "utter_ask_cancel_confirm", booking, language)
            return [SlotSet("awaiting_cancel_confirm", True)]
        utter_booking(dispatcher, "utter_booking_card", booking, language)
        return _forget_lookup()

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        return _forget_lookup()


class ActionCancelBooking(ApiAction):
    def name(self) -> str:
        return "action_cancel_booking"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        booking = await self.api.cancel(tracker.get_slot("booking_code"), tracker.get_slot("booker_phone"), language)
        utter_booking(dispatcher, "utter_booking_cancelled", booking, language)
        return _forget_lookup()

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        return _forget_lookup() if isinstance(problem, ApiRefused) else []


class ActionKeepBooking(Action):
    """Leaves a lookup or a cancellation without changing anything."""

    def name(self) -> str:
        return "action_keep_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        dispatcher.utter_message(response="utter_booking_kept")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *_forget_lookup()]


class ValidateChangeForm(LookupValidation, ValidateBookingForm):
    """The booking to change (code and phone), then its new day and departure, checked like a new booking's."""

    def name(self) -> str:
        return "validate_change_form"


CHANGE_SLOTS = (*LOOKUP_SLOTS, "tour_date", "run_id", "party", "part_of_day")


class ActionChangeBooking(ApiAction):
    """Moves the found booking to the chosen departure; if that fails the booking keeps its seats."""

    def name(self) -> str:
        return "action_change_booking"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        code, phone = tracker.get_slot("booking_code"), tracker.get_slot("booker_phone")
        booking = await self.api.change(code, phone, int(tracker.get_slot("run_id")), language)
        utter_booking(dispatcher, "utter_booking_changed", booking, language)
        return [SlotSet(slot, None) for slot in CHANGE_SLOTS]

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        if not isinstance(problem, ApiRefused):
            return []
        dispatcher.utter_message(response="utter_booking_kept")
        return [SlotSet(slot, None) for slot in CHANGE_SLOTS]
