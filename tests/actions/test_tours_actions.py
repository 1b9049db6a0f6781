"""Booking-conversation actions with a hand-built tracker and the api mocked by respx."""

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.bookings import ActionMyBookings, ActionShowLookedUpBooking
from actions.tours import (
    ActionAskConsent,
    ActionAskRunId,
    ActionConfirmWaitlist,
    ActionSubmitBooking,
    ActionTourInfo,
    ValidateBookingForm,
)
from common import clock

API = "http://api.test"
CHOICES = f"{API}/api/tours/dmz-peace/runs/choices"
DOMAIN = Domain.load(Path(__file__).parents[2] / "domain").as_dict()
DAY = (clock.today() + timedelta(days=3)).isoformat()


@pytest.fixture(autouse=True)
def api_env(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    monkeypatch.setenv("SERVICE_TOKEN", "svc")


def tracker(slots: dict | None = None, entities: list | None = None, text: str = "", language: str = "ko") -> Tracker:
    return Tracker(
        sender_id="web:citizen-1",
        slots={"language": language, **(slots or {})},
        latest_message={"text": text, "intent": {"name": "inform"}, "entities": entities or []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "booking_form"},
        latest_action_name="action_listen",
    )


def run(run_id: int, hour: int, option: str = "walk", seats_left: int = 40) -> dict:
    """A departure as the api shows it, with its labels."""
    starts = datetime.fromisoformat(f"{DAY}T{hour:02d}:20:00+09:00").astimezone(ZoneInfo("UTC"))
    names = {"walk": ("도보", "on foot"), "monorail": ("모노레일", "monorail")}[option]
    return {
        "id": run_id,
        "date": DAY,
        "starts_at": starts.isoformat().replace("+00:00", "Z"),
        "option": option,
        "capacity": 250,
        "seats_left": seats_left,
        "status": "open",
        "time": f"{hour:02d}:20",
        "part_of_day": "morning" if hour < 12 else "afternoon",
        "day_ko": "12월 5일(토)",
        "day_en": "Dec 5 (Sat)",
        "option_ko": names[0],
        "option_en": names[1],
        "label_ko": f"{hour:02d}:20 {names[0]} · {seats_left}석",
        "label_en": f"{hour:02d}:20 {names[1]} · {seats_left} seats",
    }


def choices(runs: list[dict], nearest: list[dict] | None = None, closed: bool = False) -> dict:
    """A day's departures to pick from, as the api offers them."""
    day = {"date": DAY, "day_ko": "12월 5일(토)", "day_en": "Dec 5 (Sat)"}
    return day | {"closed": closed, "runs": runs, "nearest": nearest or []}


def date_entity(text="다음주 토요일", resolved=DAY, **extra) -> dict:
    return {"entity": "date", "value": text, "resolved": resolved, **extra}


@respx.mock
async def test_a_date_is_resolved_from_the_nlu_and_kept_with_its_part_of_day():
    route = respx.get(CHOICES).respond(200, json=choices([run(1, 9), run(2, 13)]))
    entities = [date_entity(resolved_part_of_day="afternoon")]
    slots = await ValidateBookingForm().validate_tour_date(
        "다음주 토요일 오후에", CollectingDispatcher(), tracker(entities=entities), {}
    )
    assert slots == {"tour_date": DAY, "part_of_day": "afternoon"}
    assert dict(route.calls.last.request.url.params) == {"date": DAY, "seats": "1"}


@respx.mock
async def test_a_day_without_runs_is_a_closed_day_and_is_asked_again():
    respx.get(CHOICES).respond(200, json=choices([], [run(7, 10)], closed=True))
    dispatcher = CollectingDispatcher()
    slots = await ValidateBookingForm().validate_tour_date("월요일", dispatcher, tracker(entities=[date_entity()]), {})
    assert slots == {"tour_date": None}
    assert (dispatcher.messages[0]["response"], dispatcher.messages[0]["day"]) == ("utter_closed_day", "12월 5일(토)")


@respx.mock
async def test_a_past_or_unreadable_date_is_asked_again_with_the_reason():
    respx.get(CHOICES).respond(422, json={"detail": "이미 지난 날짜예요.", "code": "past_date"})
    dispatcher = CollectingDispatcher()
    past = (clock.today() - timedelta(days=3)).isoformat()
    assert await ValidateBookingForm().validate_tour_date(
        "x", dispatcher, tracker(entities=[date_entity("그제", past)]), {}
    ) == {"tour_date": None}
    assert await ValidateBookingForm().validate_tour_date("언젠가", dispatcher, tracker(), {}) == {"tour_date": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_past_date", "utter_invalid_date"]


@respx.mock
async def test_a_full_day_offers_the_nearest_runs_with_seats_as_buttons():
    respx.get(CHOICES).respond(200, json=choices([], [run(7, 10), run(8, 13)]))
    dispatcher = CollectingDispatcher()
    slots = await ValidateBookingForm().validate_tour_date(DAY, dispatcher, tracker(entities=[date_entity()]), {})
    assert slots == {"tour_date": None}
    [message] = dispatcher.messages
    assert message["response"] == "utter_no_seats_that_day"
    assert json.loads(message["buttons"][0]["payload"].removeprefix("/inform")) == {"tour_date": DAY, "run_id": "7"}
    assert message["buttons"][0]["title"] == "12월 5일(토) 10:20 도보 · 40석"


@respx.mock
async def test_the_apis_reason_is_shown_when_a_party_is_refused():
    respx.post(f"{API}/api/bookings/check").respond(
        422, json={"detail": "개인 예약은 10명까지예요.", "code": "group_booking_required"}
    )
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "party", "value": "어른 12명", "resolved": {"adult": 12}}]
    slots = await ValidateBookingForm().validate_party("어른 12명", dispatcher, tracker({"run_id": "1"}, entities), {})
    assert slots == {"party": None}
    assert dispatcher.messages[0]["text"] == "개인 예약은 10명까지예요."


@respx.mock
@pytest.mark.parametrize(
    ("said", "name"),
    [("홍길동입니다", "홍길동"), ("제 이름은 이서연이에요", "이서연"), ("my name is Anna Lee", "Anna Lee")],
)
async def test_the_name_is_taken_without_the_words_around_it(said, name):
    respx.post(f"{API}/api/bookings/check").respond(200, json={"ok": True, "total_fee": None})
    slots = await ValidateBookingForm().validate_booker_name(said, CollectingDispatcher(), tracker(), {})
    assert slots == {"booker_name": name}


@respx.mock
async def test_the_departure_buttons_follow_the_option_and_part_of_day_said():
    route = respx.get(CHOICES).respond(200, json=choices([run(4, 13, "monorail")]))
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "tour_option", "value": "모노레일", "resolved": "monorail"}]
    slots = {"tour_date": DAY, "part_of_day": "afternoon", "party": {"adult": 2}}
    await ActionAskRunId().run(dispatcher, tracker(slots, entities), {})
    asked = dict(route.calls.last.request.url.params)
    assert asked == {"date": DAY, "seats": "2", "option": "monorail", "part_of_day": "afternoon"}
    [message] = dispatcher.messages
    assert [json.loads(b["payload"].removeprefix("/inform"))["run_id"] for b in message["buttons"]] == ["4"]
    assert message["buttons"][0]["title"] == "13:20 모노레일 · 40석"


def _filled(language="ko") -> Tracker:
    slots = {
        "tour_date": DAY,
        "run_id": "3",
        "party": {"adult": 2, "child": 1},
        "booker_name": "김민수",
        "booker_phone": "01012345678",
        "consent": True,
        "booking_confirmed": True,
    }
    return tracker(slots, language=language)


@respx.mock
async def test_submitting_books_once_for_this_messenger_user_and_confirms_with_the_code():
    booking = {
        "code": "7KQ3XP",
        "status": "confirmed",
        "total_fee": 24600,
        "party": {"adult": 2, "child": 1},
        "seats": 3,
    }
    booking |= {"run": run(3, 13), "booker_name": "김*수", "booker_phone": "010-****-5678", "created_at": "x"}
    route = respx.post(f"{API}/api/bookings").respond(201, json=booking)
    respx.get(f"{API}/api/tours/dmz-peace").respond(
        200, json={"meeting_point_en": "Imjingak", "id_rules_en": "Bring a passport."}
    )
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitBooking().run(dispatcher, _filled("en"), {})
    sent = route.calls.last.request
    body = json.loads(sent.content)
    assert body | {} == {
        "run_id": 3,
        "party": {"adult": 2, "child": 1},
        "name": "김민수",
        "phone": "01012345678",
        "channel": "web",
        "channel_user_id": "citizen-1",
    }
    assert "Idempotency-Key" not in sent.headers, "the api derives it from this chat's answers"
    assert sent.headers["Accept-Language"] == "en"
    [message] = dispatcher.messages
    assert (message["response"], message["code"], message["fee"]) == ("utter_booking_done", "7KQ3XP", "24,600 KRW")
    assert {e["name"] for e in events} >= {"tour_date", "run_id", "party", "booker_phone"}
    assert all(e["value"] is None for e in events), "personal data is not kept in the conversation"


@respx.mock
async def test_the_same_answers_submitted_twice_reach_the_api_alike_for_it_to_book_once():
    route = respx.post(f"{API}/api/bookings").respond(503)
    await ActionSubmitBooking().run(CollectingDispatcher(), _filled(), {})
    await ActionSubmitBooking().run(CollectingDispatcher(), _filled(), {})
    bodies = {call.request.content for call in route.calls}
    assert len(route.calls) == 4 and len(bodies) == 1  # one retry each, the same chat's same answers


@respx.mock
async def test_seats_gone_at_the_last_moment_offers_other_runs_and_the_waitlist():
    respx.post(f"{API}/api/bookings").respond(
        409, json={"detail": "이 회차에는 남은 좌석이 부족해요.", "code": "sold_out"}
    )
    respx.get(f"{API}/api/tours/dmz-peace/runs/available").respond(200, json=[run(9, 14)])
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitBooking().run(dispatcher, _filled(), {})
    assert dispatcher.messages[0]["text"] == "이 회차에는 남은 좌석이 부족해요."
    payloads = [b["payload"] for b in dispatcher.messages[1]["buttons"]]
    assert payloads[-1] == '/join_waitlist{"run_id":"3"}'
    assert {"name": "run_id", "value": None} in [{"name": e["name"], "value": e["value"]} for e in events]


@respx.mock
async def test_when_the_api_is_down_the_citizen_is_told_politely():
    respx.post(f"{API}/api/bookings").mock(side_effect=httpx.ConnectError("refused"))
    dispatcher = CollectingDispatcher()
    assert await ActionSubmitBooking().run(dispatcher, _filled(), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_service_unavailable"


@respx.mock
async def test_a_found_booking_being_cancelled_asks_for_confirmation_first():
    booking = {"code": "7KQ3XP", "status": "confirmed", "total_fee": 18400, "party": {"adult": 2}, "seats": 2}
    booking |= {"run": run(3, 13), "booker_name": "김*수", "booker_phone": "010-****-5678", "created_at": "x"}
    respx.get(f"{API}/api/bookings/7KQ3XP").respond(200, json=booking)
    dispatcher = CollectingDispatcher()
    slots = {"booking_code": "7KQ3XP", "booker_phone": "01012345678", "manage_intent": "cancel"}
    events = await ActionShowLookedUpBooking().run(dispatcher, tracker(slots), {})
    assert dispatcher.messages[0]["response"] == "utter_ask_cancel_confirm"
    assert events[0]["name"] == "awaiting_cancel_confirm" and events[0]["value"] is True


@respx.mock
async def test_tour_information_lists_both_options_fares_and_the_id_rules_in_english():
    fares = [
        {"option": option, "fare_type": kind, "amount_won": amount}
        for option, base in (("walk", 9200), ("monorail", 12200))
        for kind, amount in (
            ("adult", base),
            ("youth", base - 1000),
            ("child", base - 2000),
            ("senior", base - 3000),
            ("resident", base - 1500),
        )
    ]
    tour = {
        "fares": fares,
        "itinerary": [{"ko": "임진각", "en": "Imjingak"}, {"ko": "도라전망대", "en": "Dora Observatory"}],
    }
    tour |= {
        "duration_minutes": 180,
        "meeting_point_en": "Imjingak",
        "id_rules_en": "Bring a passport.",
        "what_to_bring_en": "ID",
    }
    respx.get(f"{API}/api/tours/dmz-peace").respond(200, json=tour)
    dispatcher = CollectingDispatcher()
    await ActionTourInfo().run(dispatcher, tracker(language="en"), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_tour_info"
    assert "adult: 9,200 KRW / 12,200 KRW" in message["fares"]
    assert message["itinerary"] == "Imjingak → Dora Observatory"
    assert message["id_rules"] == "Bring a passport."


@respx.mock
async def test_tour_information_apologises_when_the_api_is_down():
    respx.get(f"{API}/api/tours/dmz-peace").mock(side_effect=httpx.ConnectError("refused"))
    dispatcher = CollectingDispatcher()
    assert await ActionTourInfo().run(dispatcher, tracker(), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_service_unavailable"


@respx.mock
async def test_a_confirmed_waitlist_offer_is_the_citizens_booking_with_its_code():
    booking = {"code": "W7Q2KP", "status": "confirmed", "total_fee": 9200, "party": {"adult": 1}, "seats": 1}
    booking |= {"run": run(5, 10), "booker_name": "김*수", "booker_phone": "010-****-5678", "created_at": "x"}
    route = respx.post(f"{API}/api/waitlist/12/confirm").respond(200, json=booking)
    respx.get(f"{API}/api/tours/dmz-peace").respond(200, json={"meeting_point_ko": "임진각", "id_rules_ko": "신분증"})
    dispatcher = CollectingDispatcher()
    pressed = tracker(entities=[{"entity": "waitlist_id", "value": "12"}])
    await ActionConfirmWaitlist().run(dispatcher, pressed, {})
    assert json.loads(route.calls.last.request.content) == {"channel": "web", "channel_user_id": "citizen-1"}
    [message] = dispatcher.messages
    assert (message["response"], message["code"]) == ("utter_booking_done", "W7Q2KP")


@respx.mock
async def test_an_expired_waitlist_offer_gets_the_apis_reason():
    respx.post(f"{API}/api/waitlist/12/confirm").respond(
        404, json={"detail": "유효한 대기 예약 제안이 없어요.", "code": "not_found"}
    )
    dispatcher = CollectingDispatcher()
    await ActionConfirmWaitlist().run(dispatcher, tracker(entities=[{"entity": "waitlist_id", "value": "12"}]), {})
    assert dispatcher.messages[0]["text"] == "유효한 대기 예약 제안이 없어요."


@respx.mock
@pytest.mark.parametrize("language", ["ko", "en"])
async def test_the_consent_shows_the_keeping_period_the_api_applies_and_what_refusing_means(language):
    respx.get(f"{API}/api/tours/dmz-peace").respond(200, json={"booker_retention_days": 45})
    dispatcher = CollectingDispatcher()
    await ActionAskConsent().run(dispatcher, tracker(language=language), DOMAIN)
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_consent" and message["retention_days"] == 45
    variations = DOMAIN["responses"]["utter_ask_consent"]
    shown = next(v for v in variations if bool(v.get("condition")) == (language == "en"))
    text = shown["text"].format(retention_days=message["retention_days"])
    assert ("45일 후 파기" if language == "ko" else "45 days after the tour") in text
    assert ("거부하실 수 있어요" if language == "ko" else "You may refuse") in text
    assert "031-940-4114" in text and "{" not in text


@respx.mock
async def test_the_consent_is_not_asked_with_a_guessed_period_when_the_api_is_down():
    respx.get(f"{API}/api/tours/dmz-peace").respond(503)
    dispatcher = CollectingDispatcher()
    await ActionAskConsent().run(dispatcher, tracker(), DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_service_unavailable"]


@respx.mock
async def test_my_bookings_shows_the_apis_refusal_as_it_words_it_and_apologises_only_for_an_outage():
    route = respx.get(f"{API}/api/bookings").respond(
        429, json={"detail": "조회가 너무 많아요. 잠시 후 다시 해 주세요.", "code": "rate_limited"}
    )
    refused = CollectingDispatcher()
    assert await ActionMyBookings().run(refused, tracker(), {}) == []
    assert [m["text"] for m in refused.messages] == ["조회가 너무 많아요. 잠시 후 다시 해 주세요."]
    assert route.calls.last.request.url.params["status"] == "confirmed", "which bookings to show is the api's to say"

    route.mock(side_effect=httpx.ConnectError("refused"))
    down = CollectingDispatcher()
    assert await ActionMyBookings().run(down, tracker(), {}) == []
    assert [m["response"] for m in down.messages] == ["utter_service_unavailable"]
