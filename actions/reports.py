"""Actions of citizen reports (생활불편 신고): the report form (what, where, what happened, photos, a callback
number), filing it, the status of the citizen's reports, and rating a finished one.

Which kinds exist, which places the city knows, duplicates, daily limits and deadlines are the api's to say; these
actions pick the answers out of the messages, keep them in slots and lay out what the api answers.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import ApiClient, ApiProblem, ApiRefused, ApiUnavailable, channel_user
from actions.base import ApiAction, ApiCaller, FormValidation, entity, language_of, pick
from common.calendar import weekday_name
from common.clock import SEOUL
from common.masking import mask_phone
from common.payloads import payload

logger = logging.getLogger(__name__)

REPORT_SLOTS = (
    "report_kind",
    "report_place",
    "report_latitude",
    "report_longitude",
    "report_description",
    "report_photo_ids",
    "report_photos_done",
    "report_callback",
    "report_consent_text",
    "report_phone",
    "report_confirmed",
)
RATING_SLOTS = ("rating_receipt_no", "rating_score", "rating_comment")
MAX_PHOTOS = 3  # the api's limit of photos per case
MAX_DESCRIPTION = 500
MIN_DESCRIPTION = 2
MAX_PLACE = 100  # what the api's place lookup accepts
MAX_COMMENT = 500
MAX_LISTED = 5

# Requests answered in passing while a question of a form is open (the form then asks again): never an answer.
NOT_ANSWERS = frozenset(
    {
        "stop",
        "help",
        "request_human",
        "cancel_handoff",
        "affirm",
        "deny",
        "greet",
        "goodbye",
        "thank",
        "tour_list",
        "tour_info",
        "tour_availability",
        "book_tour",
        "my_bookings",
        "cancel_booking",
        "change_booking",
        "notice_latest",
        "notice_search",
        "notice_subscribe",
        "notice_unsubscribe",
        "my_subscriptions",
        "my_notices",
        "opendata_catalog",
        "report_status",
        "rate_report",
    }
)
# How sure the NLU must be that a typed answer is one of those requests rather than the answer.
SURE_REQUEST = 0.7
# A comment may well be kind words or a plain yes ("네 빨리 고쳐 주셔서 감사해요"), or words about how the report was
# handled, which the NLU reads as a status question ("빨리 처리해 주셔서 좋았어요", "처리가 너무 늦었어요"): asked for a
# comment on a report, they are the comment.
COMMENT_WORDS = frozenset({"affirm", "greet", "goodbye", "thank", "report_status"})
RECEIPT = re.compile(r"(?<![A-Za-z0-9])PJ\s*-?\s*(\d{4})\s*-?\s*(\d{6,})(?!\d)", re.IGNORECASE)
MOBILE = re.compile(r"(?:\+?82[-.\s]?0?|0)(1[016789])[-.\s]?(\d{3,4})[-.\s]?(\d{4})")
# The api cannot find or does not serve the place: the citizen is asked where again.
WHERE_REFUSALS = frozenset({"place_not_found", "outside_paju", "place_required"})
# Which answers a refusal of the filing sends back to be asked again; any other refusal ends the report.
ASK_AGAIN = {
    **dict.fromkeys(WHERE_REFUSALS, ("report_place", "report_latitude", "report_longitude")),
    "unknown_report_kind": ("report_kind",),
    "invalid_report": ("report_description",),
    "report_photo_not_found": ("report_photo_ids", "report_photos_done"),
    "too_many_photos": ("report_photo_ids", "report_photos_done"),
    "consent_required": ("report_callback", "report_consent_text", "report_phone"),
}
# "여기", "현재 위치", "here", "my location" answering where: the citizen means where they are, not a place of that
# name. Read without spaces, punctuation or case (Korean) or with single spaces and no apostrophes (English).
HERE_KO = re.compile(
    r"(?:지금|바로|현재)?"
    r"(?:여기|요기|이곳|이근처|여기근처|(?:이|내|제|나의|저의)?(?:현재|지금)?위치|현위치|(?:내가|제가)?(?:지금)?있는곳)"
    r"(?:에서|서)?(?:으로|로)?"
    r"(?:보내기|보낼게요|보내요|공유할게요|공유)?"
    r"(?:요|예요|에요|이요|이에요|이예요|입니다|이야|야|임|해주세요|해줘|할게요|해요)?"
)
HERE_EN = re.compile(
    r"(?:(?:its|it is|im|i am|were|we are) )?(?:(?:right|just|over|exactly) )?(?:here|near here|around here)"
    r"(?: now| please)?"
    r"|(?:(?:use|send|share|at|from) )?(?:(?:my|our|this|the) )?(?:(?:current|present|exact) )?(?:location|position)"
    r"(?: now| please)?"
    r"|(?:(?:right|just|exactly) )?where (?:i am|im|we are|were)(?: now| right now| standing)?"
    r"|near me|nearby"
)
# What the web chat and Telegram draw as a button that shares the citizen's location (domain/reports.yml), and the
# marker that takes Telegram's keyboard with that button away once the citizen has answered otherwise.
LOCATION_BUTTON = "location_button"
REMOVE_KEYBOARD = {"remove_keyboard": True}
# How each channel is asked for a location after "here"; any other channel cannot send one (KakaoTalk's skills).
HERE_RESPONSES = {"telegram": "utter_ask_report_location_button", "web": "utter_ask_report_location_web"}


# --- what the citizen said -------------------------------------------------------------------------------------


def intent_of(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def typed_answer(tracker: Tracker, also: frozenset[str] = frozenset()) -> str | None:
    """The citizen's typed message when it answers the question asked: not a button, photo or location, nor one of
    the requests answered in passing (`also` names those that do count as an answer here) that the NLU is sure of:
    what the model only half places among those requests is still the answer to the question just asked."""
    message = tracker.latest_message or {}
    text = " ".join(str(message.get("text") or "").split())
    if not text or text.startswith("/"):
        return None
    confidence = ((message.get("intent") or {}).get("confidence")) or 0.0
    if intent_of(tracker) in NOT_ANSWERS - also and confidence >= SURE_REQUEST:
        return None
    return text


def means_here(text: str) -> bool:
    """Whether the words say "where I am" ("여기요", "지금 여기", "내 위치", "right here", "where I am")."""
    words = unicodedata.normalize("NFKC", text).lower()
    words = " ".join("".join(c if c.isalnum() else " " for c in re.sub(r"['‘’`]", "", words)).split())
    return bool(words) and bool(HERE_KO.fullmatch(words.replace(" ", "")) or HERE_EN.fullmatch(words))


def said_here(tracker: Tracker) -> bool:
    """The citizen's latest message answers where with "here", in so many words or as the place it names."""
    message = tracker.latest_message or {}
    places = [str(e.get("value") or "") for e in message.get("entities") or [] if e.get("entity") == "place"]
    return any(means_here(said) for said in [str(message.get("text") or ""), *places])


def location_button_shown(tracker: Tracker) -> bool:
    """Whether the answer to the citizen's previous message offered the location button: on Telegram a keyboard
    that stays until it is taken away."""
    events = list(tracker.events or [])
    users = [index for index, event in enumerate(events) if event.get("event") == "user"]
    if not users:
        return False
    since = users[-2] + 1 if len(users) > 1 else 0
    return any(
        event.get("event") == "bot" and LOCATION_BUTTON in ((event.get("data") or {}).get("custom") or {})
        for event in events[since : users[-1]]
    )


def take_location_button_away(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The citizen answered the location button otherwise (typed a place, stopped): Telegram stops showing it. A
    shared location needs nothing: the gateway takes the keyboard away with its answer to any location; nor "here"
    again, which is answered with the button again."""
    shared_location = intent_of(tracker) == "facility_nearby" and entity(tracker, "latitude") is not None
    here_again = means_here(str((tracker.latest_message or {}).get("text") or ""))
    if channel_user(tracker.sender_id)[0] != "telegram" or shared_location or here_again:
        return
    if location_button_shown(tracker):
        dispatcher.utter_message(json_message=REMOVE_KEYBOARD)


def receipt_in(tracker: Tracker) -> str | None:
    """A receipt number from a button, or typed in any spelling ("pj 2026 000123"), as the api writes it."""
    mention = entity(tracker, "receipt_no")
    text = str(mention["value"]) if mention else str((tracker.latest_message or {}).get("text") or "")
    match = RECEIPT.search(text)
    return f"PJ-{match.group(1)}-{match.group(2)}" if match else None


def mobile_number(text: str) -> str | None:
    """A Korean mobile number as digits (01012345678), or None when `text` is not one."""
    match = MOBILE.fullmatch(text.strip())
    return f"0{match.group(1)}{match.group(2)}{match.group(3)}" if match else None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _point(tracker: Tracker) -> tuple[float, float] | None:
    latitude, longitude = tracker.get_slot("report_latitude"), tracker.get_slot("report_longitude")
    return (latitude, longitude) if latitude is not None and longitude is not None else None


def _compact(text: str) -> str:
    return re.sub(r"[\s·,./_-]+", "", text).lower()


def kind_named(said: str, kinds: list[dict[str, Any]]) -> str | None:
    """The kind a button's code or a typed word names: "pothole", "가로등 고장", "기타" (the api's names)."""
    codes = {kind["code"] for kind in kinds}
    if said in codes:
        return said
    wanted = _compact(said)
    if len(wanted) < 2:
        return None
    named = [kind["code"] for kind in kinds if _compact(kind["name"]) in wanted or wanted in _compact(kind["name"])]
    return named[0] if len(named) == 1 else None


# --- photos and shared locations --------------------------------------------------------------------------------


def photo_slots(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """A photo sent for the report: kept (up to three, each once), and its location taken as the report's while none
    is known. The third photo ends the photo step."""
    photo_id = _number((entity(tracker, "photo_id") or {}).get("value"))
    if intent_of(tracker) != "report_photo" or photo_id is None:
        return {}
    photos = [int(p) for p in tracker.get_slot("report_photo_ids") or []]
    slots: dict[str, Any] = {"report_photo_ids": photos}
    if int(photo_id) in photos:  # the same photo delivered again
        return slots
    if len(photos) >= MAX_PHOTOS:
        dispatcher.utter_message(response="utter_report_photos_full", limit=MAX_PHOTOS)
        return slots | {"report_photos_done": True}
    photos = [*photos, int(photo_id)]
    slots["report_photo_ids"] = photos
    dispatcher.utter_message(response="utter_report_photo_received", count=len(photos))
    latitude = _number((entity(tracker, "latitude") or {}).get("value"))
    longitude = _number((entity(tracker, "longitude") or {}).get("value"))
    if _point(tracker) is None and latitude is not None and longitude is not None:
        dispatcher.utter_message(response="utter_report_photo_place")
        slots |= {"report_latitude": latitude, "report_longitude": longitude}
    if len(photos) >= MAX_PHOTOS:
        slots["report_photos_done"] = True
    return slots


def location_slots(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """A location shared while the report is open (the gateway sends it as /facility_nearby{"latitude":..}): the
    report's point, whatever question is open, instead of a search for parking or toilets."""
    latitude = _number((entity(tracker, "latitude") or {}).get("value"))
    longitude = _number((entity(tracker, "longitude") or {}).get("value"))
    if intent_of(tracker) != "facility_nearby" or latitude is None or longitude is None:
        return {}
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return {}
    dispatcher.utter_message(response="utter_report_location_received")
    # The facilities' own slots took the same location: a later "toilets near me" asks for a fresh one.
    return {"report_latitude": latitude, "report_longitude": longitude, "latitude": None, "longitude": None}


# --- the report form ---------------------------------------------------------------------------------------------


class ValidateReportForm(ApiCaller, FormValidation):
    """Picks each answer out of the citizen's messages and checks it; a clear message and the question again when
    it will not do."""

    def name(self) -> str:
        return "validate_report_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        """The place is not asked once the point is known, nor the number unless the citizen wants a call."""
        skipped = {"report_place"} if _point(tracker) else set()
        if tracker.get_slot("report_callback") is not True:
            skipped.add("report_phone")
        return [slot for slot in domain_slots if slot not in skipped]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        # A photo or a shared location counts at whichever step it arrives (the form then asks its question again):
        # it always sets a slot, so Rasa never rejects the form for it and no other rule (nearby facilities) runs.
        take_location_button_away(dispatcher, tracker)
        found = [
            SlotSet(slot, value)
            for slot, value in (photo_slots(dispatcher, tracker) or location_slots(dispatcher, tracker)).items()
        ]
        tracker.add_slots(found)
        return [*found, *await super().run(dispatcher, tracker, domain)]

    # Typed answers: only to the question asked, so that a description is never read as a place.
    def _typed_if_asked(self, slot: str, tracker: Tracker) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != slot:
            return {}
        text = typed_answer(tracker)
        return {slot: text} if text else {}

    async def extract_report_kind(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # A kind the NLU recognised comes through the domain's mapping; other words are matched with the api's names.
        return {} if entity(tracker, "report_kind") else self._typed_if_asked("report_kind", tracker)

    async def extract_report_place(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = " ".join(str((tracker.latest_message or {}).get("text") or "").split())
        if tracker.get_slot("requested_slot") == "report_place" and means_here(text):
            # "여기요" may read as a greeting and "my location" as a nearby search: here they answer where.
            return {"report_place": text}
        return self._typed_if_asked("report_place", tracker)

    async def extract_report_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._typed_if_asked("report_description", tracker)

    async def extract_report_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "report_phone":
            return {}
        if intent_of(tracker) == "deny":  # "I don't agree, continue without a call"
            return {"report_callback": False}
        mention = entity(tracker, "phone")
        if mention:
            return {"report_phone": str(mention.get("resolved") or mention["value"])}
        return self._typed_if_asked("report_phone", tracker)

    async def validate_report_kind(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        async def named() -> dict[str, Any]:
            code = kind_named(str(slot_value or ""), await self.api.report_kinds(language_of(tracker)))
            if code is None:
                dispatcher.utter_message(response="utter_report_kind_unknown")
            return {"report_kind": code}

        return await self.attempt(dispatcher, named(), lambda _: {"report_kind": None})

    async def validate_report_place(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        place = " ".join(str(slot_value or "").split())
        if means_here(place):
            # Not a place's name: where is asked again, for the location the channel can give (action_ask_report_place).
            return {"report_place": None}
        if len(place) > MAX_PLACE:
            dispatcher.utter_message(response="utter_report_place_too_long", limit=MAX_PLACE)
            return {"report_place": None}
        if not place:
            return {"report_place": None}
        try:
            # The city's gazetteer, asked now so that an unknown place is said at once, not after the summary.
            await self.api.known_place(place, language_of(tracker))
        except ApiRefused as refusal:
            self.explain(dispatcher, refusal)
            return {"report_place": None}
        except ApiUnavailable as problem:
            logger.warning("a report's place was not checked: %s", problem)  # the api checks it on filing
        # "near Geumchon Station" also reads as a facilities question, whose slot took the place: it is not one.
        return {"report_place": place, "facility_place": None}

    async def validate_report_description(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        description = str(slot_value or "").strip()
        if len(description) > MAX_DESCRIPTION:
            dispatcher.utter_message(
                response="utter_report_description_too_long", length=len(description), limit=MAX_DESCRIPTION
            )
            return {"report_description": None}
        if len(description) < MIN_DESCRIPTION:
            dispatcher.utter_message(response="utter_report_description_too_short")
            return {"report_description": None}
        return {"report_description": description}

    async def validate_report_photos_done(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "Continue" and "no photos" both end the step.
        return {"report_photos_done": True}

    async def validate_report_callback(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is True:
            return {"report_callback": True}
        return {"report_callback": False, "report_phone": None, "report_consent_text": None}

    async def validate_report_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not tracker.get_slot("report_consent_text"):  # the consent could not be shown, so no number is taken
            dispatcher.utter_message(response="utter_report_callback_unavailable")
            return {"report_phone": None, "report_callback": False}
        phone = mobile_number(str(slot_value or ""))
        if phone is None:
            dispatcher.utter_message(response="utter_invalid_report_phone")
        return {"report_phone": phone}

    async def validate_report_confirmed(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "No" is an answer too: action_submit_report then files nothing.
        return {"report_confirmed": slot_value is True}


class ActionAskReportKind(ApiCaller, Action):
    """Asks what to report with a button for every kind the api offers (staff may add kinds), or typed words."""

    def name(self) -> str:
        return "action_ask_report_kind"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        try:
            kinds = await self.api.report_kinds(language_of(tracker))
        except ApiProblem as problem:  # typed words still work; the api is asked again when they come
            logger.warning("report kinds not read: %s", problem)
            kinds = []
        buttons = [{"title": k["name"], "payload": payload("report_problem", report_kind=k["code"])} for k in kinds]
        dispatcher.utter_message(response="utter_ask_report_kind", buttons=buttons)
        return []


class ActionAskReportPlace(Action):
    """Asks where: on Telegram a location is sent with 📎; the web chat adds its own location button. After "here",
    asks for the location the channel can give: Telegram's location button, the web chat's, or (KakaoTalk, which
    receives no location) a landmark or address."""

    def name(self) -> str:
        return "action_ask_report_place"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        channel, _ = channel_user(tracker.sender_id)
        if said_here(tracker):
            dispatcher.utter_message(response=HERE_RESPONSES.get(channel, "utter_ask_report_landmark"))
        else:
            dispatcher.utter_message(
                response="utter_ask_report_location" if channel == "telegram" else "utter_ask_report_place"
            )
        return []


class ActionAskReportPhotosDone(Action):
    def name(self) -> str:
        return "action_ask_report_photos_done"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        count = len(tracker.get_slot("report_photo_ids") or [])
        if count:
            dispatcher.utter_message(response="utter_ask_report_more_photos", left=MAX_PHOTOS - count)
        else:
            dispatcher.utter_message(response="utter_ask_report_photos", limit=MAX_PHOTOS)
        return []


class ActionAskReportPhone(ApiCaller, Action):
    """Shows the api's consent statement for the callback number and asks for it; keeps the statement as shown."""

    def name(self) -> str:
        return "action_ask_report_phone"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        try:
            consent = (await self.api.report_consent(language_of(tracker)))["text"]
        except ApiProblem as problem:
            logger.warning("the consent statement was not read: %s", problem)
            dispatcher.utter_message(
                response="utter_report_callback_unavailable",
                buttons=[{"title": pick(language_of(tracker), "계속", "Continue"), "payload": "/deny"}],
            )
            return [SlotSet("report_consent_text", None)]
        dispatcher.utter_message(response="utter_ask_report_phone", consent=consent)
        return [SlotSet("report_consent_text", consent)]


class ActionAskReportConfirmed(ApiAction):
    """The whole report, for a last look before it is filed."""

    def name(self) -> str:
        return "action_ask_report_confirmed"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        kinds = {k["code"]: k["name"] for k in await self.api.report_kinds(language)}
        place = tracker.get_slot("report_place")
        if _point(tracker):
            place = pick(language, "보내 주신 위치", "the location you sent") + (f" ({place})" if place else "")
        photos = len(tracker.get_slot("report_photo_ids") or [])
        phone = tracker.get_slot("report_phone")
        dispatcher.utter_message(
            response="utter_ask_report_confirmed",
            kind=kinds.get(tracker.get_slot("report_kind"), pick(language, "기타", "other")),
            place=place,
            description=tracker.get_slot("report_description"),
            photos=pick(language, f"{photos}장", str(photos)) if photos else pick(language, "없음", "none"),
            callback=mask_phone(phone) if phone else pick(language, "받지 않음", "no"),
        )
        return []


def idempotency_key(tracker: Tracker) -> str:
    """The same for every run of the citizen's message (Rasa or the gateway retrying it): it files one report."""
    said = next((event for event in reversed(tracker.events) if event.get("event") == "user"), {})
    message = said.get("message_id") or said.get("timestamp") or ""
    digest = hashlib.sha256(f"{tracker.sender_id}\n{message}".encode()).hexdigest()
    return f"report-{digest[:40]}"


def report_body(tracker: Tracker) -> dict[str, Any]:
    point = _point(tracker)
    phone = tracker.get_slot("report_phone")
    body: dict[str, Any] = {
        "kind": tracker.get_slot("report_kind"),
        "description": tracker.get_slot("report_description"),
        "photo_ids": [int(p) for p in tracker.get_slot("report_photo_ids") or []],
    }
    if tracker.get_slot("report_place"):
        body["place"] = tracker.get_slot("report_place")
    if point:
        body["latitude"], body["longitude"] = point
    if phone:
        body["callback_phone"], body["consent_text"] = phone, tracker.get_slot("report_consent_text")
    return body


def forget_report() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in REPORT_SLOTS]


class ActionSubmitReport(ApiAction):
    """Files the confirmed report and gives the receipt number, department and expected first answer; or tells the
    citizen it joined a case filed nearby today. A refusal about one answer asks for that answer again."""

    def name(self) -> str:
        return "action_submit_report"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        if tracker.get_slot("report_confirmed") is not True:
            dispatcher.utter_message(response="utter_report_cancelled")
            return forget_report()
        filed = await self.api.file_report(
            tracker.sender_id, report_body(tracker), idempotency_key(tracker), language_of(tracker)
        )
        if filed.get("merged"):
            dispatcher.utter_message(
                response="utter_report_merged", receipt_no=filed["receipt_no"], kind=filed["kind_name"]
            )
        else:
            dispatcher.utter_message(
                response="utter_report_filed",
                receipt_no=filed["receipt_no"],
                kind=filed["kind_name"],
                department=filed["department_name"],
                due=filed["due_text"],
            )
        return forget_report()

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        if not isinstance(problem, ApiRefused):
            # The answers stay: its button files them once the api is back (the form shows the summary again).
            dispatcher.utter_message(response="utter_report_try_again")
            return [SlotSet("report_confirmed", None)]
        again = ASK_AGAIN.get(problem.code)
        if again is None:
            return forget_report()
        return [*(SlotSet(slot, None) for slot in (*again, "report_confirmed")), FollowupAction("report_form")]


class ActionStopReport(Action):
    """Leaves the report on "stop" or "cancel" at any step: nothing is filed and the answers are forgotten."""

    def name(self) -> str:
        return "action_stop_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        take_location_button_away(dispatcher, tracker)
        dispatcher.utter_message(response="utter_report_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *forget_report()]


# --- my reports --------------------------------------------------------------------------------------------------


def _local(iso: str) -> datetime:
    """An instant the api wrote, in Seoul; one written without its offset is UTC, as the api stores times."""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(SEOUL)


def format_moment(iso: str, language: str) -> str:
    local = _local(iso)
    weekday = weekday_name(local.date(), language)
    if language == "en":
        return f"{weekday} {local.day} {local:%b}, {local:%H:%M}"
    return f"{local.month}월 {local.day}일({weekday}) {local:%H:%M}"


def format_day(iso: str, language: str) -> str:
    local = _local(iso)
    return pick(language, f"{local.month}월 {local.day}일", f"{local.day} {local:%b}")


def case_line(case: dict[str, Any], language: str) -> str:
    day = format_day(case["created_at"], language)
    filed = pick(language, f"{day} 접수", f"filed {day}")
    where = f" · {case['place_name']}" if case.get("place_name") else ""
    return f"• {case['receipt_no']} {case['kind_name']}{where}: {case['status_name']} ({filed})"


def rating_buttons(receipt_no: str, language: str) -> list[dict[str, str]]:
    return [
        {
            "title": pick(language, f"{score}점", f"{score}/5"),
            "payload": payload("rate_report", receipt_no=receipt_no, score=score),
        }
        for score in range(1, 6)
    ]


class ActionReportStatus(ApiAction):
    """One case's status and what the citizen was told so far, by its receipt number; else this chat's cases."""

    def name(self) -> str:
        return "action_report_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        receipt_no = receipt_in(tracker)
        if receipt_no:
            self._one(dispatcher, await self.api.report(receipt_no, language), language)
            return []
        cases = await self.api.my_reports(tracker.sender_id, language)
        if not cases:
            dispatcher.utter_message(response="utter_no_reports")
            return []
        dispatcher.utter_message(
            response="utter_report_list",
            cases="\n".join(case_line(case, language) for case in cases),
            buttons=[
                {"title": case["receipt_no"], "payload": payload("report_status", receipt_no=case["receipt_no"])}
                for case in cases[:MAX_LISTED]
            ],
        )
        return []

    def _one(self, dispatcher: CollectingDispatcher, case: dict[str, Any], language: str) -> None:
        where = [part for part in (case.get("place_name"), case.get("district_name") or case.get("district")) if part]
        place = f"{where[0]} ({where[1]})" if len(where) == 2 else (where[0] if where else "-")
        steps = []
        for step in case.get("history") or []:
            said = [part for part in (step.get("status_name"), step.get("text")) if part]
            steps.append(f"  - {format_moment(step['at'], language)} {': '.join(said)}".rstrip())
        progress = "\n".join([pick(language, "• 진행 상황:", "• Progress:"), *steps]) if steps else ""
        if case["status"] == "received" and case.get("due_at"):
            due = format_moment(case["due_at"], language)
            progress = "\n".join(
                [pick(language, f"• 첫 답변 예정: {due}까지", f"• First answer expected by {due}"), progress]
            ).strip()
        rateable = case["status"] == "done" and case.get("rating") is None
        dispatcher.utter_message(
            response="utter_report_case",
            receipt_no=case["receipt_no"],
            kind=case["kind_name"],
            status=case["status_name"],
            department=case["department_name"],
            place=place,
            filed=format_moment(case["created_at"], language),
            progress=progress,
            buttons=rating_buttons(case["receipt_no"], language) if rateable else [],
        )


# --- rating a finished report -------------------------------------------------------------------------------------


def forget_rating() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in RATING_SLOTS]


async def send_rating(
    api: ApiClient, dispatcher: CollectingDispatcher, tracker: Tracker, receipt_no: str, score: int, comment: str | None
) -> bool:
    """Posts the rating; a refusal is told as the api words it (403 here is about the citizen, not about the action
    server's token: it is not their report)."""
    try:
        await api.rate_report(tracker.sender_id, receipt_no, score, comment, language_of(tracker))
    except ApiRefused as refusal:
        dispatcher.utter_message(text=refusal.detail)
        return False
    return True


class ActionRateReport(ApiAction):
    """A score button of the "done" message: the score is saved at once, then an optional one-line comment is asked
    for (the api adds it to the same rating); a case not done or already rated is said at once."""

    def name(self) -> str:
        return "action_rate_report"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        receipt_no = receipt_in(tracker)
        score = _number((entity(tracker, "score") or {}).get("value"))
        if receipt_no is None or score is None or int(score) != score or not 1 <= score <= 5:
            dispatcher.utter_message(response="utter_rating_invalid")
            return [SlotSet("rating_open", False)]
        case = await self.api.report(receipt_no, language)
        if case["status"] != "done":
            dispatcher.utter_message(response="utter_rating_not_done", receipt_no=receipt_no)
            return [SlotSet("rating_open", False), *forget_rating()]
        if case.get("rating") is not None:
            dispatcher.utter_message(response="utter_rating_already", receipt_no=receipt_no)
            return [SlotSet("rating_open", False), *forget_rating()]
        if not await send_rating(self.api, dispatcher, tracker, receipt_no, int(score), None):
            return [SlotSet("rating_open", False), *forget_rating()]
        dispatcher.utter_message(response="utter_rating_received", receipt_no=receipt_no, score=int(score))
        return [
            SlotSet("rating_receipt_no", receipt_no),
            SlotSet("rating_score", float(score)),
            SlotSet("rating_comment", None),
            SlotSet("rating_open", True),
        ]

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        return [SlotSet("rating_open", False)]


class ValidateRatingCommentForm(FormValidation):
    """The comment: any typed words (kind words and a plain yes included); "skip" or "no" sends the score alone."""

    def name(self) -> str:
        return "validate_rating_comment_form"

    async def extract_rating_comment(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "rating_comment":
            return {}
        if intent_of(tracker) == "deny":
            return {"rating_comment": ""}
        text = typed_answer(tracker, also=COMMENT_WORDS)
        return {"rating_comment": text} if text else {}

    async def validate_rating_comment(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            # Cleared by action_rate_report in the same turn (rasa_sdk validates every slot set since the last
            # message): not yet an answer, so the form asks for the comment.
            return {"rating_comment": None}
        comment = str(slot_value).strip()
        if len(comment) > MAX_COMMENT:
            dispatcher.utter_message(response="utter_rating_comment_too_long", limit=MAX_COMMENT)
            return {"rating_comment": None}
        return {"rating_comment": comment}


class ActionSubmitRating(ApiAction):
    """Adds the comment to the score saved on the tap; skipping or stopping leaves the score as it is."""

    def name(self) -> str:
        return "action_submit_rating"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        receipt_no, score = tracker.get_slot("rating_receipt_no"), tracker.get_slot("rating_score")
        closing = [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("rating_open", None)]
        comment = tracker.get_slot("rating_comment") or None
        if receipt_no and score is not None and comment:
            if await send_rating(self.api, dispatcher, tracker, receipt_no, int(score), comment):
                dispatcher.utter_message(response="utter_rating_saved")
        elif receipt_no and score is not None:
            dispatcher.utter_message(response="utter_rating_saved")
        return [*closing, *forget_rating()]

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        # The api is down: the score stays, and the citizen may press the button again later.
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("rating_open", None)]
