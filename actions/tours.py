"""Actions of the DMZ tour conversation: catalogue, availability, the booking form, my bookings, cancel.

They translate between the conversation and the api; every rule (seats, fares, windows, party limits,
phone and name formats) is the api's, and its refusals come back as the reason to show the citizen.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import ApiClient, ApiRefused, ApiUnavailable
from api.core.privacy import mask_phone
from common import clock
from common.clock import SEOUL

BOOKING_SLOTS = ("tour_date", "run_id", "party", "consent", "booker_name", "booker_phone", "booking_confirmed")
FARE_NAMES = {
    "ko": {"adult": "어른", "youth": "청소년", "child": "어린이", "senior": "경로", "resident": "파주시민"},
    "en": {"adult": "adult", "youth": "youth", "child": "child", "senior": "senior", "resident": "Paju resident"},
}
OPTION_NAMES = {"ko": {"walk": "도보", "monorail": "모노레일"}, "en": {"walk": "on foot", "monorail": "monorail"}}
WEEKDAYS = {"ko": "월화수목금토일", "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}


def language_of(tracker: Tracker) -> str:
    return "en" if tracker.get_slot("language") == "en" else "ko"


def pick(language: str, ko: str, en: str) -> str:
    return en if language == "en" else ko


def entity(tracker: Tracker, name: str) -> dict[str, Any] | None:
    """The last entity of that name in the citizen's latest message."""
    found = [e for e in (tracker.latest_message or {}).get("entities", []) if e.get("entity") == name]
    return found[-1] if found else None


def format_day(day: str, language: str) -> str:
    parsed = date.fromisoformat(day)
    weekday = WEEKDAYS[language][parsed.weekday()]
    return (
        f"{parsed:%b} {parsed.day} ({weekday})" if language == "en" else f"{parsed.month}월 {parsed.day}일({weekday})"
    )


def format_time(starts_at: str) -> str:
    return datetime.fromisoformat(starts_at.replace("Z", "+00:00")).astimezone(SEOUL).strftime("%H:%M")


def format_party(party: dict[str, int], language: str) -> str:
    names = FARE_NAMES[language]
    unit = "" if language == "en" else "명"
    return ", ".join(f"{names[kind]} {count}{unit}" for kind, count in party.items() if count)


def format_won(amount: int, language: str) -> str:
    return f"{amount:,} KRW" if language == "en" else f"{amount:,}원"


def run_label(run: dict[str, Any], language: str) -> str:
    option = OPTION_NAMES[language][run["option"]]
    seats = pick(language, f"{run['seats_left']}석", f"{run['seats_left']} seats")
    return f"{format_time(run['starts_at'])} {option} · {seats}"


def run_buttons(runs: list[dict[str, Any]], language: str, with_date: bool = False) -> list[dict[str, str]]:
    buttons = []
    for run in runs:
        title = run_label(run, language)
        if with_date:
            title = f"{format_day(run['date'], language)} {title}"
        payload = json.dumps({"tour_date": run["date"], "run_id": str(run["id"])}, separators=(",", ":"))
        buttons.append({"title": title, "payload": f"/inform{payload}"})
    return buttons


def api() -> ApiClient:
    return ApiClient.from_env()


def party_seats(tracker: Tracker) -> int:
    """Seats of the party given so far (a not yet validated party is still its words: count 1)."""
    party = tracker.get_slot("party")
    return sum(party.values()) if isinstance(party, dict) else 1


async def _tour_or_apology(dispatcher: CollectingDispatcher, language: str) -> dict[str, Any] | None:
    """The tour's details, or None after telling the citizen the city's system can't be reached."""
    try:
        return await api().tour(language)
    except (ApiUnavailable, ApiRefused):
        dispatcher.utter_message(response="utter_service_unavailable")
        return None


class ActionTourList(Action):
    def name(self) -> str:
        return "action_tour_list"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        tour = await _tour_or_apology(dispatcher, language)
        if tour is None:
            return []
        dispatcher.utter_message(
            response="utter_tour_list",
            tour_name=tour[f"name_{language}"],
            summary=tour[f"summary_{language}"],
            hours=tour["duration_minutes"] // 60,
        )
        return []


class ActionTourInfo(Action):
    def name(self) -> str:
        return "action_tour_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        tour = await _tour_or_apology(dispatcher, language)
        if tour is None:
            return []
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


class ActionTourAvailability(Action):
    """Runs with seats on the asked day, as buttons that start a booking on that run."""

    def name(self) -> str:
        return "action_tour_availability"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        mention = entity(tracker, "date")
        day = mention.get("resolved") if mention else None
        if not day:
            dispatcher.utter_message(response="utter_ask_availability_date")
            return []
        try:
            runs = [r for r in await api().runs(day, language) if r["seats_left"] > 0]
            if not runs:
                runs = await api().available_runs(day, 1, language)
                dispatcher.utter_message(
                    response="utter_no_seats_that_day",
                    day=format_day(day, language),
                    buttons=run_buttons(runs, language, with_date=True),
                )
                return []
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        except ApiRefused as refusal:
            dispatcher.utter_message(text=refusal.detail)
            return []
        dispatcher.utter_message(
            response="utter_runs_with_seats", day=format_day(day, language), buttons=run_buttons(runs, language)
        )
        return []


class ValidateBookingForm(FormValidationAction):
    """Checks each answer of the booking form with the api, re-asking with its reason when refused."""

    def name(self) -> str:
        return "validate_booking_form"

    async def extract_run_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # A typed departure time ("2시 40분", "14:40") picks the run at that time on the chosen day.
        if tracker.get_slot("requested_slot") != "run_id" or not tracker.get_slot("tour_date"):
            return {}
        mention = entity(tracker, "time") or entity(tracker, "date")
        clock = mention and (mention.get("resolved") if mention["entity"] == "time" else mention.get("resolved_time"))
        if not clock:
            return {}
        option_mention = entity(tracker, "tour_option")
        try:
            runs = await api().runs(tracker.get_slot("tour_date"), language_of(tracker))
        except (ApiUnavailable, ApiRefused):
            return {}
        matching = [
            r
            for r in runs
            if format_time(r["starts_at"]) == clock
            and (not option_mention or r["option"] == option_mention["resolved"])
        ]
        return {"run_id": str(matching[0]["id"])} if len(matching) == 1 else {}

    async def validate_tour_date(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        language = language_of(tracker)
        day = _resolved_date(tracker, slot_value)
        if day is None:
            dispatcher.utter_message(response="utter_invalid_date")
            return {"tour_date": None}
        if day < clock.today().isoformat():
            dispatcher.utter_message(response="utter_past_date")
            return {"tour_date": None}
        try:
            runs = await api().runs(day, language)
            if not runs:
                dispatcher.utter_message(response="utter_closed_day", day=format_day(day, language))
                return {"tour_date": None}
            await api().check(language, run_id=runs[0]["id"])  # booking window and cut-off rules
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return {"tour_date": None}
        except ApiRefused as refusal:
            if refusal.code != "sold_out":
                dispatcher.utter_message(text=refusal.detail)
                return {"tour_date": None}
        seats = party_seats(tracker)
        if not any(r["seats_left"] >= seats for r in runs):
            nearest = await api().available_runs(day, seats, language)
            dispatcher.utter_message(
                response="utter_no_seats_that_day",
                day=format_day(day, language),
                buttons=run_buttons(nearest, language, with_date=True),
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
        result = await self._checked("party", party, tracker, dispatcher, party=party, run_id=run_id)
        return result

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
        try:
            await api().check(language_of(tracker), **parts)
        except ApiRefused as refusal:
            dispatcher.utter_message(text=refusal.detail)
            return {slot: None}
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return {slot: None}
        return {slot: value}


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


class ActionAskRunId(Action):
    """Asks for the departure with buttons: runs of the chosen day with seats, narrowed by what was said."""

    def name(self) -> str:
        return "action_ask_run_id"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        day = tracker.get_slot("tour_date")
        seats = party_seats(tracker)
        try:
            runs = [r for r in await api().runs(day, language) if r["seats_left"] >= seats and r["status"] == "open"]
        except (ApiUnavailable, ApiRefused):
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        option = entity(tracker, "tour_option")
        if option:
            runs = [r for r in runs if r["option"] == option["resolved"]] or runs
        part = tracker.get_slot("part_of_day")
        if part:
            afternoon = [r for r in runs if format_time(r["starts_at"]) >= "12:00"]
            morning = [r for r in runs if format_time(r["starts_at"]) < "12:00"]
            runs = (afternoon if part == "afternoon" else morning) or runs
        dispatcher.utter_message(
            response="utter_ask_run_id", day=format_day(day, language), buttons=run_buttons(runs, language)
        )
        return []


class ActionAskConsent(Action):
    """Asks for consent with the keeping period the api applies (BOOKER_RETENTION_DAYS), never a number of its own."""

    def name(self) -> str:
        return "action_ask_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        tour = await _tour_or_apology(dispatcher, language_of(tracker))
        if tour is None:
            return []
        dispatcher.utter_message(response="utter_ask_consent", retention_days=tour["booker_retention_days"])
        return []


class ActionAskBookingConfirmed(Action):
    """Shows the whole booking with its fee and asks for the final yes."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        party = tracker.get_slot("party")
        try:
            fee = await api().check(language, run_id=_as_int(tracker.get_slot("run_id")), party=party)
            run = next(
                r
                for r in await api().runs(tracker.get_slot("tour_date"), language)
                if str(r["id"]) == str(tracker.get_slot("run_id"))
            )
        except (ApiUnavailable, StopIteration):
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        except ApiRefused as refusal:
            dispatcher.utter_message(text=refusal.detail)
            return [SlotSet("run_id", None)]
        dispatcher.utter_message(
            response="utter_ask_booking_confirmed",
            day=format_day(run["date"], language),
            time=format_time(run["starts_at"]),
            option=OPTION_NAMES[language][run["option"]],
            party=format_party(party, language),
            name=tracker.get_slot("booker_name"),
            phone=mask_phone(tracker.get_slot("booker_phone") or ""),
            fee=format_won(fee, language),
        )
        return []


class ActionSubmitBooking(Action):
    def name(self) -> str:
        return "action_submit_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        run_id, party = _as_int(tracker.get_slot("run_id")), tracker.get_slot("party")
        name, phone = tracker.get_slot("booker_name"), tracker.get_slot("booker_phone")
        # The same answers submitted twice (a double tap on "confirm") make one booking.
        key = hashlib.sha256(json.dumps([tracker.sender_id, run_id, party, phone], sort_keys=True).encode()).hexdigest()
        try:
            booking = await api().book(tracker.sender_id, run_id, party, name, phone, key[:40], language)
            tour = await api().tour(language)
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        except ApiRefused as refusal:
            dispatcher.utter_message(text=refusal.detail)
            if refusal.code in ("sold_out", "daily_limit_reached"):
                nearest = await api().available_runs(tracker.get_slot("tour_date"), sum(party.values()), language)
                dispatcher.utter_message(
                    response="utter_offer_other_runs_or_waitlist",
                    buttons=[*run_buttons(nearest, language, with_date=True), _waitlist_button(run_id, language)],
                )
                return [SlotSet("run_id", None), SlotSet("booking_confirmed", None)]
            return _reset_booking()
        utter_booking_done(dispatcher, booking, tour, language)
        return _reset_booking()


def utter_booking_done(
    dispatcher: CollectingDispatcher, booking: dict[str, Any], tour: dict[str, Any], language: str
) -> None:
    run = booking["run"]
    dispatcher.utter_message(
        response="utter_booking_done",
        code=booking["code"],
        day=format_day(run["date"], language),
        time=format_time(run["starts_at"]),
        option=OPTION_NAMES[language][run["option"]],
        party=format_party(booking["party"], language),
        fee=format_won(booking["total_fee"], language),
        meeting_point=tour[f"meeting_point_{language}"],
        id_rules=tour[f"id_rules_{language}"],
    )


class ActionConfirmWaitlist(Action):
    """The citizen pressed "confirm" on a waitlist offer: the seats held for them become their booking."""

    def name(self) -> str:
        return "action_confirm_waitlist"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        entry_id = next(tracker.get_latest_entity_values("waitlist_id"), None)
        if entry_id is None:
            dispatcher.utter_message(response="utter_waitlist_offer_gone")
            return []
        try:
            booking = await api().confirm_waitlist(tracker.sender_id, str(entry_id), language)
            tour = await api().tour(language)
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        except ApiRefused as refusal:  # expired, already taken, or not this citizen's offer
            dispatcher.utter_message(text=refusal.detail)
            return []
        utter_booking_done(dispatcher, booking, tour, language)
        return []


def _waitlist_button(run_id: int, language: str) -> dict[str, str]:
    title = pick(language, "이 회차 대기 신청", "Join the waitlist for this departure")
    return {"title": title, "payload": f'/join_waitlist{{"run_id":"{run_id}"}}'}


def _reset_booking() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in (*BOOKING_SLOTS, "part_of_day")]


class ActionJoinWaitlist(Action):
    def name(self) -> str:
        return "action_join_waitlist"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        run_id = _as_int((entity(tracker, "run_id") or {}).get("value"))
        party, name, phone = (tracker.get_slot(s) for s in ("party", "booker_name", "booker_phone"))
        if not (run_id and party and name and phone):
            dispatcher.utter_message(response="utter_waitlist_needs_booking_details")
            return []
        try:
            entry = await api().join_waitlist(tracker.sender_id, run_id, party, name, phone, language)
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        except ApiRefused as refusal:
            dispatcher.utter_message(text=refusal.detail)
            return []
        dispatcher.utter_message(response="utter_waitlist_joined", position=entry["position"])
        return _reset_booking()


class ActionStopBooking(Action):
    """Leaves the booking form on "stop", forgetting what was given so far."""

    def name(self) -> str:
        return "action_stop_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        dispatcher.utter_message(response="utter_booking_stopped")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *_reset_booking()]
