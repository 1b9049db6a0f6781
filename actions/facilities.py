"""Action of the nearby-facilities conversation: the public parking lots or toilets nearest to a shared location.

The kind asked for waits in its slot until the location arrives; which places are near, and whether a
place is in Paju at all, is the api's to say.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import ApiProblem, ApiRefused, channel_user
from actions.base import ApiAction, language_of, pick
from actions.tours import format_won
from common.payloads import payload

KIND_NAMES = {
    "ko": {"parking": "주차장", "toilet": "공중화장실"},
    "en": {"parking": "public parking lots", "toilet": "public toilets"},
}
OTHER_KIND = {"parking": "toilet", "toilet": "parking"}
ALSO_SHOW = {
    "ko": {"parking": "이 근처 주차장도 보기", "toilet": "이 근처 화장실도 보기"},
    "en": {"parking": "Parking near here too", "toilet": "Toilets near here too"},
}
ALL_DAY = "00:00-24:00"
MAP_LINK = "https://map.kakao.com/link/map/{name},{lat},{lon}"
WHERE_SLOTS = ("latitude", "longitude", "facility_place")


def format_distance(metres: int) -> str:
    rounded = round(metres, -1)
    return f"{rounded} m" if rounded < 1000 else f"{metres / 1000:.1f} km"


def format_hours(hours: str, language: str) -> str:
    if hours == ALL_DAY:
        return pick(language, "24시간", "open 24 hours")
    opens, closes = hours.split("-")
    return pick(language, f"{opens}~{closes}", f"open {opens}–{closes}")


def kind_details(facility: dict[str, Any], language: str) -> list[str]:
    if facility["kind"] == "parking":
        fee = facility["fee_30min_won"]
        price = (
            pick(language, "무료", "free")
            if fee == 0
            else pick(language, f"30분 {format_won(fee, language)}", f"{format_won(fee, language)} per 30 min")
        )
        return [pick(language, f"{facility['spaces']}면", f"{facility['spaces']} spaces"), price]
    if facility["accessible"]:
        return [pick(language, "장애인 화장실 있음", "wheelchair accessible")]
    return [pick(language, "장애인 화장실 없음", "no wheelchair-accessible toilet")]


def facility_lines(number: int, facility: dict[str, Any], language: str) -> str:
    name = facility["name_en"] if language == "en" else facility["name"]
    address = facility["address_en"] if language == "en" else facility["address"]
    details = " · ".join([format_hours(facility["hours"], language), *kind_details(facility, language)])
    return "\n".join(
        [f"{number}. {name} ({format_distance(facility['distance_m'])})", f"   {address}", f"   {details}"]
    )


def map_button(facility: dict[str, Any], language: str) -> dict[str, str]:
    """A named link to the place on Kakao Map: the address itself (a long encoded name) never goes in the text."""
    name = facility["name_en"] if language == "en" else facility["name"]
    link = MAP_LINK.format(name=quote(name), lat=facility["lat"], lon=facility["lon"])
    return {"title": pick(language, f"지도 보기: {name}", f"Map: {name}"), "payload": link}


def also_show_button(kind: str, where: dict[str, Any], language: str) -> dict[str, str]:
    other = OTHER_KIND[kind]
    return {"title": ALSO_SHOW[language][other], "payload": payload("facility_nearby", facility_kind=other, **where)}


class ActionFacilityNearby(ApiAction):
    """Asks for what is missing (the kind, then the location), else lists the three nearest places."""

    def name(self) -> str:
        return "action_facility_nearby"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        kind = tracker.get_slot("facility_kind")
        lat, lon = tracker.get_slot("latitude"), tracker.get_slot("longitude")
        # A place the city knows by name ("금촌역 근처") stands in for a shared location.
        place = tracker.get_slot("facility_place") if lat is None or lon is None else None
        if kind not in OTHER_KIND:
            dispatcher.utter_message(response="utter_ask_facility_kind")
            return []
        if (lat is None or lon is None) and not place:
            channel, _ = channel_user(tracker.sender_id)
            # Telegram sends a location with 📎; elsewhere (web chat, KakaoTalk) a place name does the same.
            response = "utter_ask_location" if channel == "telegram" else "utter_ask_place_name"
            dispatcher.utter_message(response=response, kinds=KIND_NAMES[language][kind])
            return []
        facilities = await self.api.facilities_nearby(kind, language, lat=lat, lon=lon, place=place)
        dispatcher.utter_message(
            response="utter_facilities_nearby",
            kinds=KIND_NAMES[language][kind],
            facilities="\n".join(facility_lines(n, f, language) for n, f in enumerate(facilities, start=1)),
            buttons=[
                *(map_button(facility, language) for facility in facilities),
                also_show_button(kind, {"place": place} if place else {"latitude": lat, "longitude": lon}, language),
            ],
        )
        # A later "near me" asks for a fresh location rather than answering for where the citizen was.
        return [SlotSet(slot, None) for slot in ("facility_kind", *WHERE_SLOTS)]

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        # Refused: outside Paju, or a place it does not know, so the location is of no further use.
        return [SlotSet(slot, None) for slot in WHERE_SLOTS] if isinstance(problem, ApiRefused) else []
