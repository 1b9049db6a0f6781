"""Actions of the DMZ tour conversation: catalogue, availability, the booking form, the waitlist.

They render what the api answers; every rule (which departures may be picked, past and unopened days, seats,
fares, party limits, phone and name formats, one booking per double tap) is the api's, and its refusals come
back as the reason to show the citizen.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import ApiProblem, ApiRefused, ApiUnavailable
from actions.base import ApiAction, ApiCaller, FormValidation, entity, language_of, pick
from actions.cards import booking_card
from common import clock
from common.masking import mask_phone
from common.payloads import payload

BOOKING_SLOTS = ("tour_date", "run_id", "party", "consent", "booker_name", "booker_phone", "booking_confirmed")
FARE_NAMES = {
    "ko": {"adult": "어른", "youth": "청소년", "child": "어린이", "senior": "경로", "resident": "파주시민"},
    "en": {"adult": "adult", "youth": "youth", "child": "child", "senior": "senior", "resident": "Paju resident"},
}
# The day the citizen named is refused for a reason the domain words better than a sentence of the api.
DAY_REFUSALS = {"past_date": "utter_past_date"}
SEATS_GONE = ("sold_out", "daily_limit_reached")
# How many open days the date question offers as chips: a row or two on a phone, the rest can be typed.
OPEN_DAY_CHIPS = 5
logger = logging.getLogger(__name__)


def format_party(party: dict[str, int], language: str) -> str:
    names = FARE_NAMES[language]
    unit = "" if language == "en" else "명"
    return ", ".join(f"{names[kind]} {count}{unit}" for kind, count in party.items() if count)


def format_won(amount: int, language: str) -> str:
    return f"{amount:,} KRW" if language == "en" else f"{amount:,}원"


def run_buttons(runs: list[dict[str, Any]], language: str, with_date: bool = False) -> list[dict[str, str]]:
    """The departures as the api labels them, each a button that picks its day and run."""
    buttons = []
    for run in runs:
        title = run[f"label_{language}"]
        if with_date:
            title = f"{run[f'day_{language}']} {title}"
        buttons.append({"title": title, "payload": payload("inform", tour_date=run["date"], run_id=str(run["id"]))})
    return buttons


def party_seats(tracker: Tracker) -> int:
    """Seats of the party given so far (a not yet validated party is still its words: count 1)."""
    party = tracker.get_slot("party")
    return sum(party.values()) if isinstance(party, dict) else 1


class ActionTourList(ApiAction):
    def name(self) -> str:
        return "action_tour_list"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        tour = await self.api.tour(language)
        dispatcher.utter_message(
            response="utter_tour_list",
            tour_name=tour[f"name_{language}"],
            summary=tour[f"summary_{language}"],
            hours=tour["duration_minutes"] // 60,
        )
        return []


class ActionTourInfo(ApiAction):
    def name(self) -> str:
        return "action_tour_info"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        tour = await self.api.tour(language)
        fares = {(f["option"], f["fare_type"]): f["amount_won"] for f in tour["fares"]}
        lines = [
            f"{FARE_NAMES[language][kind]}: "
            f"{format_won(fares[('walk', kind)], language)} / {format_won(fares[('monorail', kind)], language)}"
            for kind in FARE_NAMES[language]
        ]
        itinerary = " → ".join(stop[language] for stop in tour["itinerary"])
        dispatcher.utter_message(
            response="utter_tour_info",
            itinerary=itinerary,
            hours=tour["duration_minutes"] // 60,
            fares="\n".join(lines),
            meeting_point=tour[f"meeting_point_{language}"],
            id_rules=tour[f"id_rules_{language}"],
            what_to_bring=tour[f"what_to_bring_{language}"],
        )
        return []


class ActionTourAvailability(ApiAction):
    """Departures with seats on the asked day, as buttons that start a booking on that run."""

    refusal_responses = DAY_REFUSALS

    def name(self) -> str:
        return "action_tour_availability"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        mention = entity(tracker, "date")
        day = mention.get("resolved") if mention else None
        if not day:
            dispatcher.utter_message(response="utter_ask_availability_date")
            return []
        choices = await self.api.run_choices(day, 1, language)
        if not choices["runs"]:
            dispatcher.utter_message(
                response="utter_no_seats_that_day",
                day=choices[f"day_{language}"],
                buttons=run_buttons(choices["nearest"], language, with_date=True),
            )
            return []
        dispatcher.utter_message(
            response="utter_runs_with_seats",
            day=choices[f"day_{language}"],
            buttons=run_buttons(choices["runs"], language),
        )
        return []


class ValidateBookingForm(ApiCaller, FormValidation):
    """Checks each answer of the booking form with the api, re-asking with its reason when refused."""

    refusal_responses = DAY_REFUSALS

    def name(self) -> str:
        return "validate_booking_form"

    async def extract_run_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # A typed departure time ("2시 40분", "14:40") picks the run at that time on the chosen day.
        if tracker.get_slot("requested_slot") != "run_id" or not tracker.get_slot("tour_date"):
            return {}
        mention = entity(tracker, "time") or entity(tracker, "date")
        said = mention and (mention.get("resolved") if mention["entity"] == "time" else mention.get("resolved_time"))
        if not said:
            return {}
        option = (entity(tracker, "tour_option") or {}).get("resolved")
        try:
            runs = await self.api.runs(tracker.get_slot("tour_date"), language_of(tracker), option)
        except ApiProblem:
            return {}  # an extraction says nothing: the departure is asked for again, and that speaks
        matching = [run for run in runs if run["time"] == said]
        return {"run_id": str(matching[0]["id"])} if len(matching) == 1 else {}

    async def validate_tour_date(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        day = _resolved_date(tracker, slot_value)
        if day is None:
            dispatcher.utter_message(response="utter_invalid_date")
            return {"tour_date": None}
        return await self.attempt(
            dispatcher, self._day_with_room(day, dispatcher, tracker), lambda _: {"tour_date": None}
        )

    async def _day_with_room(self, day: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        language = language_of(tracker)
        choices = await self.api.run_choices(day, party_seats(tracker), language)
        if choices["closed"]:
            dispatcher.utter_message(response="utter_closed_day", day=choices[f"day_{language}"])
            return {"tour_date": None}
        if not choices["runs"]:
            dispatcher.utter_message(
                response="utter_no_seats_that_day",
                day=choices[f"day_{language}"],
                buttons=run_buttons(choices["nearest"], language, with_date=True),
            )
            return {"tour_date": None}
        slots: dict[str, Any] = {"tour_date": day}
        mention = entity(tracker, "date")
        if mention and mention.get("resolved_part_of_day"):
            slots["part_of_day"] = mention["resolved_part_of_day"]
        return slots

    async def validate_run_id(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._checked("run_id", slot_value, tracker, dispatcher, run_id=_as_int(slot_value))

    async def validate_party(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        mention = entity(tracker, "party")
        party = mention["resolved"] if mention else slot_value
        if not isinstance(party, dict):
            dispatcher.utter_message(response="utter_invalid_party")
            return {"party": None}
        run_id = _as_int(tracker.get_slot("run_id"))
        return await self._checked("party", party, tracker, dispatcher, party=party, run_id=run_id)

    async def validate_booker_name(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        name = str(slot_value or "").strip()
        for prefix in ("제 이름은 ", "이름은 ", "my name is ", "My name is ", "I'm ", "I am "):
            name = name.removeprefix(prefix)
        for suffix in ("입니다", "이에요", "예요", "이요", "요"):
            if len(name) > len(suffix) + 1:
                name = name.removesuffix(suffix)
        return await self._checked("booker_name", name.strip(" ."), tracker, dispatcher, name=name.strip(" ."))

    async def validate_booker_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        mention = entity(tracker, "phone")
        phone = mention["resolved"] if mention else str(slot_value or "")
        return await self._checked("booker_phone", phone, tracker, dispatcher, phone=phone)

    async def validate_consent(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is True:
            return {"consent": True}
        dispatcher.utter_message(response="utter_consent_required")
        return {"consent": None}

    async def validate_booking_confirmed(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is True:
            return {"booking_confirmed": True}
        dispatcher.utter_message(response="utter_booking_restart")
        return {slot: None for slot in BOOKING_SLOTS if slot not in ("booker_name", "booker_phone", "consent")}

    async def _checked(
        self, slot: str, value: Any, tracker: Tracker, dispatcher: CollectingDispatcher, **parts: Any
    ) -> dict[str, Any]:
        """The answer kept once the api finds nothing wrong with it; else asked again with the api's reason."""

        async def check() -> dict[str, Any]:
            await self.api.check(language_of(tracker), **parts)
            return {slot: value}

        return await self.attempt(dispatcher, check(), lambda _: {slot: None})


def _resolved_date(tracker: Tracker, slot_value: Any) -> str | None:
    """The ISO date the citizen meant: from the NLU's resolution, or a button's ISO value."""
    mention = entity(tracker, "date")
    if mention and mention.get("resolved"):
        return mention["resolved"]
    try:
        return date.fromisoformat(str(slot_value)).isoformat()
    except ValueError:
        return None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ActionAskRunId(ApiAction):
    """Asks for the departure with buttons: the ones of the chosen day the api offers for the party, narrowed to
    the option and part of the day the citizen named."""

    refusal_responses = DAY_REFUSALS

    def name(self) -> str:
        return "action_ask_run_id"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        option = (entity(tracker, "tour_option") or {}).get("resolved")
        choices = await self.api.run_choices(
            tracker.get_slot("tour_date"), party_seats(tracker), language, option, tracker.get_slot("part_of_day")
        )
        dispatcher.utter_message(
            response="utter_ask_run_id",
            day=choices[f"day_{language}"],
            buttons=run_buttons(choices["runs"], language) or run_buttons(choices["nearest"], language, with_date=True),
        )
        return []


class ActionAskTourDate(ApiCaller, Action):
    """Asks for the day with the next days that still have seats for the party as chips; the citizen may also type
    any day. Without the api the question is still asked, only without chips."""

    def name(self) -> str:
        return "action_ask_tour_date"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        try:
            runs = await self.api.available_runs(clock.today().isoformat(), party_seats(tracker), language, limit=20)
        except ApiProblem as problem:
            logger.warning("no open days for the date question: %s", problem)
            runs = []
        dispatcher.utter_message(response="utter_ask_tour_date", buttons=day_buttons(runs, language))
        return []


def day_buttons(runs: list[dict[str, Any]], language: str, days: int = OPEN_DAY_CHIPS) -> list[dict[str, str]]:
    """The first `days` distinct days among the runs (in their order), each a chip that picks that day."""
    buttons: list[dict[str, str]] = []
    seen: set[str] = set()
    for run in runs:
        if run["date"] in seen:
            continue
        seen.add(run["date"])
        buttons.append({"title": run[f"day_{language}"], "payload": payload("inform", tour_date=run["date"])})
        if len(buttons) == days:
            break
    return buttons


class ActionAskConsent(ApiAction):
    """Asks for consent with the keeping period the api applies (BOOKER_RETENTION_DAYS), never a number of its own."""

    def name(self) -> str:
        return "action_ask_consent"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        tour = await self.api.tour(language_of(tracker))
        dispatcher.utter_message(response="utter_ask_consent", retention_days=tour["booker_retention_days"])
        return []


class ActionAskBookingConfirmed(ApiAction):
    """Shows the whole booking with its fee and asks for the final yes."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        party, run_id = tracker.get_slot("party"), str(tracker.get_slot("run_id"))
        fee = await self.api.check(language, run_id=_as_int(run_id), party=party)
        runs = await self.api.runs(tracker.get_slot("tour_date"), language)
        run = next((r for r in runs if str(r["id"]) == run_id), None)
        if run is None:
            raise ApiUnavailable(f"run {run_id} is not in the timetable of its day")
        shown = {
            "day": run[f"day_{language}"],
            "time": run["time"],
            "option": run[f"option_{language}"],
            "party": format_party(party, language),
            "name": tracker.get_slot("booker_name"),
            "phone": mask_phone(tracker.get_slot("booker_phone") or ""),
            "fee": format_won(fee, language),
        }
        title = pick(language, "예약 내용 확인", "Please check your booking")
        paid = pick(language, f"{shown['fee']} (현장 결제)", f"{shown['fee']} (paid on site)")
        summary = booking_card(
            title,
            language,
            when=f"{shown['day']} {shown['time']}",
            course=shown["option"],
            party=shown["party"],
            booker=f"{shown['name']} / {shown['phone']}",
            fee=paid,
        )
        dispatcher.utter_message(response="utter_ask_booking_confirmed", json_message=summary, **shown)
        return []

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        return [SlotSet("run_id", None)] if isinstance(problem, ApiRefused) else []


class ActionSubmitBooking(ApiAction):
    def name(self) -> str:
        return "action_submit_booking"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        run_id, party = _as_int(tracker.get_slot("run_id")), tracker.get_slot("party")
        name, phone = tracker.get_slot("booker_name"), tracker.get_slot("booker_phone")
        try:
            booking = await self.api.book(tracker.sender_id, run_id, party, name, phone, language)
        except ApiRefused as refusal:
            if refusal.code not in SEATS_GONE:
                raise
            dispatcher.utter_message(text=refusal.detail)
            nearest = await self.api.available_runs(tracker.get_slot("tour_date"), sum(party.values()), language)
            dispatcher.utter_message(
                response="utter_offer_other_runs_or_waitlist",
                buttons=[*run_buttons(nearest, language, with_date=True), _waitlist_button(run_id, language)],
            )
            return [SlotSet("run_id", None), SlotSet("booking_confirmed", None)]
        utter_booking_done(dispatcher, booking, await self.api.tour(language), language)
        return _reset_booking()

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        return _reset_booking() if isinstance(problem, ApiRefused) else []


def booking_fields(booking: dict[str, Any], language: str) -> dict[str, str]:
    """A booking as its responses name it: code, day, time, option, party and fee, in the citizen's language."""
    run = booking["run"]
    return {
        "code": booking["code"],
        "day": run[f"day_{language}"],
        "time": run["time"],
        "option": run[f"option_{language}"],
        "party": format_party(booking["party"], language),
        "fee": format_won(booking["total_fee"], language),
    }


def utter_booking_done(
    dispatcher: CollectingDispatcher, booking: dict[str, Any], tour: dict[str, Any], language: str
) -> None:
    shown = {
        **booking_fields(booking, language),
        "meeting_point": tour[f"meeting_point_{language}"],
        "id_rules": tour[f"id_rules_{language}"],
    }
    title = pick(language, "예약이 확정됐어요", "Your booking is confirmed")
    done = booking_card(
        title,
        language,
        shown["id_rules"],
        code=shown["code"],
        when=f"{shown['day']} {shown['time']}",
        course=shown["option"],
        party=shown["party"],
        fee=pick(language, f"{shown['fee']} (현장 결제)", f"{shown['fee']} (paid on site)"),
        meet=shown["meeting_point"],
    )
    dispatcher.utter_message(response="utter_booking_done", json_message=done, **shown)


class ActionConfirmWaitlist(ApiAction):
    """The citizen pressed "confirm" on a waitlist offer: the seats held for them become their booking."""

    def name(self) -> str:
        return "action_confirm_waitlist"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        entry_id = next(tracker.get_latest_entity_values("waitlist_id"), None)
        if entry_id is None:
            dispatcher.utter_message(response="utter_waitlist_offer_gone")
            return []
        # A refusal says why: expired, already taken, or not this citizen's offer.
        booking = await self.api.confirm_waitlist(tracker.sender_id, str(entry_id), language)
        utter_booking_done(dispatcher, booking, await self.api.tour(language), language)
        return []


def _waitlist_button(run_id: int, language: str) -> dict[str, str]:
    title = pick(language, "이 회차 대기 신청", "Join the waitlist for this departure")
    return {"title": title, "payload": payload("join_waitlist", run_id=str(run_id))}


def _reset_booking() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in (*BOOKING_SLOTS, "part_of_day")]


class ActionJoinWaitlist(ApiAction):
    def name(self) -> str:
        return "action_join_waitlist"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        run_id = _as_int((entity(tracker, "run_id") or {}).get("value"))
        party, name, phone = (tracker.get_slot(s) for s in ("party", "booker_name", "booker_phone"))
        if not (run_id and party and name and phone):
            dispatcher.utter_message(response="utter_waitlist_needs_booking_details")
            return []
        entry = await self.api.join_waitlist(tracker.sender_id, run_id, party, name, phone, language)
        dispatcher.utter_message(response="utter_waitlist_joined", position=entry["position"])
        return _reset_booking()


class ActionStopBooking(Action):
    """Leaves the booking form on "stop", forgetting what was given so far."""

    def name(self) -> str:
        return "action_stop_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        dispatcher.utter_message(response="utter_booking_stopped")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *_reset_booking()]
