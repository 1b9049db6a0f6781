"""The nearby-facilities action with a hand-built tracker and the api mocked by respx."""

import json

import httpx
import pytest
import respx
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.facilities import ActionFacilityNearby, format_distance

API = "http://api.test"
NEARBY = f"{API}/api/facilities/nearby"
CLEARED = [
    SlotSet("facility_kind", None),
    SlotSet("latitude", None),
    SlotSet("longitude", None),
    SlotSet("facility_place", None),
]
PARKING_LOT = {
    "kind": "parking",
    "name": "금촌역 공영주차장",
    "name_en": "Geumchon Station Public Parking",
    "address": "경기도 파주시 금정로 27",
    "address_en": "27 Geumjeong-ro, Paju",
    "lat": 37.7668,
    "lon": 126.7752,
    "hours": "00:00-24:00",
    "spaces": 112,
    "fee_30min_won": 600,
    "distance_m": 354,
}
FREE_LOT = PARKING_LOT | {"name": "파주시청 부설주차장", "name_en": "Paju City Hall Car Park", "fee_30min_won": 0}
TOILET = {
    "kind": "toilet",
    "name": "문산역 공중화장실",
    "name_en": "Munsan Station Public Toilet",
    "address": "경기도 파주시 문산읍 문산역로 18",
    "address_en": "18 Munsanyeok-ro, Munsan-eup, Paju",
    "lat": 37.8545,
    "lon": 126.7874,
    "hours": "06:00-22:00",
    "accessible": True,
    "distance_m": 1234,
}


@pytest.fixture(autouse=True)
def api_env(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    monkeypatch.setenv("SERVICE_TOKEN", "svc")


def tracker(language: str = "ko", sender: str = "telegram:42", **slots) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots={"language": language, "facility_kind": None, "latitude": None, "longitude": None, **slots},
        latest_message={"text": "", "intent": {"name": "facility_nearby"}, "entities": []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def act(tracker: Tracker) -> tuple[list, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = await ActionFacilityNearby().run(dispatcher, tracker, {})
    return events, dispatcher


@pytest.mark.parametrize(("metres", "shown"), [(0, "0 m"), (354, "350 m"), (996, "1.0 km"), (1234, "1.2 km")])
def test_distances_read_in_metres_then_kilometres(metres, shown):
    assert format_distance(metres) == shown


@respx.mock
async def test_the_three_nearest_parking_lots_are_listed_in_korean_and_the_slots_cleared():
    route = respx.get(NEARBY).respond(200, json=[PARKING_LOT, FREE_LOT])
    events, dispatcher = await act(tracker(facility_kind="parking", latitude=37.7664, longitude=126.7747))
    request = route.calls.last.request
    assert dict(request.url.params) == {"kind": "parking", "lat": "37.7664", "lon": "126.7747", "limit": "3"}
    assert request.headers["Authorization"] == "Bearer svc" and request.headers["Accept-Language"] == "ko"
    [message] = dispatcher.messages
    assert message["response"] == "utter_facilities_nearby"
    assert message["kinds"] == "주차장"
    lines = message["facilities"].splitlines()
    assert lines[:3] == ["1. 금촌역 공영주차장 (350 m)", "   경기도 파주시 금정로 27", "   24시간 · 112면 · 30분 600원"]
    assert lines[3] == "2. 파주시청 부설주차장 (350 m)" and "무료" in lines[5]
    assert "http" not in message["facilities"]
    # Each place opens on the map from a button named after it; the long encoded address is only its payload.
    first_map, second_map, also = message["buttons"]
    assert first_map == {
        "title": "지도 보기: 금촌역 공영주차장",
        "payload": "https://map.kakao.com/link/map/"
        "%EA%B8%88%EC%B4%8C%EC%97%AD%20%EA%B3%B5%EC%98%81%EC%A3%BC%EC%B0%A8%EC%9E%A5,37.7668,126.7752",
    }
    assert second_map["title"] == "지도 보기: 파주시청 부설주차장"
    assert also["title"] == "이 근처 화장실도 보기"
    assert events == CLEARED


@respx.mock
async def test_toilets_in_english_say_whether_they_are_accessible_and_offer_parking_at_the_same_place():
    respx.get(NEARBY).respond(200, json=[TOILET, TOILET | {"accessible": False, "hours": "00:00-24:00"}])
    _, dispatcher = await act(tracker("en", facility_kind="toilet", latitude=37.8547, longitude=126.7877))
    [message] = dispatcher.messages
    assert message["kinds"] == "public toilets"
    text = message["facilities"]
    assert "1. Munsan Station Public Toilet (1.2 km)" in text
    assert "open 06:00–22:00 · wheelchair accessible" in text
    assert "open 24 hours · no wheelchair-accessible toilet" in text
    assert "18 Munsanyeok-ro" in text and "http" not in text
    first_map, _, button = message["buttons"]
    assert first_map["title"] == "Map: Munsan Station Public Toilet"
    assert first_map["payload"].startswith("https://map.kakao.com/link/map/Munsan%20Station")
    assert button["title"] == "Parking near here too"
    assert json.loads(button["payload"].removeprefix("/facility_nearby")) == {
        "facility_kind": "parking",
        "latitude": 37.8547,
        "longitude": 126.7877,
    }


async def test_without_a_kind_the_citizen_chooses_one_and_the_location_is_kept():
    events, dispatcher = await act(tracker(latitude=37.76, longitude=126.78))
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_facility_kind"]
    assert events == []


@pytest.mark.parametrize(
    ("sender", "response"),
    [("telegram:42", "utter_ask_location"), ("web:abc", "utter_ask_place_name"), ("kakao:k1", "utter_ask_place_name")],
)
async def test_without_a_location_it_is_asked_for_and_the_kind_is_kept(sender, response):
    events, dispatcher = await act(tracker(sender=sender, facility_kind="toilet"))
    [message] = dispatcher.messages
    assert message["response"] == response and message["kinds"] == "공중화장실"
    assert events == []


@respx.mock
async def test_a_place_outside_paju_gets_the_apis_reason_and_nothing_else():
    detail = "파주시 안의 시설만 안내해 드릴 수 있어요. 보내 주신 위치는 파주시청에서 약 45km 떨어져 있어요."
    respx.get(NEARBY).respond(422, json={"detail": detail, "code": "outside_paju"})
    events, dispatcher = await act(tracker(facility_kind="parking", latitude=37.46, longitude=126.44))
    [message] = dispatcher.messages
    assert message["text"] == detail and not message["response"] and not message["buttons"]
    assert events == [SlotSet("latitude", None), SlotSet("longitude", None), SlotSet("facility_place", None)]


@respx.mock
async def test_the_citizen_hears_a_polite_apology_when_the_api_is_down():
    respx.get(NEARBY).mock(side_effect=httpx.ConnectError("refused"))
    events, dispatcher = await act(tracker(facility_kind="parking", latitude=37.76, longitude=126.78))
    assert [m["response"] for m in dispatcher.messages] == ["utter_service_unavailable"]
    assert events == []


@respx.mock
async def test_a_place_known_by_name_stands_in_for_a_shared_location():
    route = respx.get(NEARBY).respond(200, json=[PARKING_LOT])
    events, dispatcher = await act(tracker(facility_kind="parking", facility_place="금촌역"))
    assert dict(route.calls.last.request.url.params) == {"kind": "parking", "place": "금촌역", "limit": "3"}
    [message] = dispatcher.messages
    assert message["response"] == "utter_facilities_nearby"
    assert message["buttons"][-1]["payload"] == '/facility_nearby{"facility_kind":"toilet","place":"금촌역"}'
    assert events == CLEARED
