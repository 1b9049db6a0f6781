"""What a reply carries besides its words: named links instead of addresses, cards, the open days as chips, and
Korean replies without English words or raw addresses."""

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import respx
import time_machine
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.bookings import ActionShowLookedUpBooking
from actions.cards import link_button, public_link
from actions.opendata import ActionOpendataAnswer
from actions.tours import ActionAskTourDate, ActionSubmitBooking
from bot.nlu.gateway_channel import GatewayCollector

API = "http://api.test"
AVAILABLE = f"{API}/api/tours/dmz-peace/runs/available"
DOMAIN_DIR = Path(__file__).parents[2] / "domain"
SEOUL = ZoneInfo("Asia/Seoul")
# A Korean reply may name these as they are written on signs and tickets.
KOREAN_REPLY_ALLOWS = {"DMZ"}
ADDRESS = re.compile(r"https?://|www\.|localhost|/api/", re.IGNORECASE)


@pytest.fixture(autouse=True)
def api_env(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    monkeypatch.setenv("SERVICE_TOKEN", "svc")


def tracker(language: str = "ko", text: str = "", slots: dict | None = None, loop: str = "booking_form") -> Tracker:
    return Tracker(
        sender_id="web:citizen-1",
        slots={"language": language, **(slots or {})},
        latest_message={"text": text, "intent": {"name": "book_tour"}, "entities": []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": loop},
        latest_action_name="action_listen",
    )


def departure(run_id: int, day: str, hour: int) -> dict:
    """A departure with seats as the api lists it, with its day's labels."""
    moment = datetime.fromisoformat(f"{day}T{hour:02d}:00:00+09:00")
    weekday_ko, weekday_en = "월화수목금토일"[moment.weekday()], moment.strftime("%a")
    return {
        "id": run_id,
        "date": day,
        "time": f"{hour:02d}:00",
        "day_ko": f"{moment.month}월 {moment.day}일({weekday_ko})",
        "day_en": f"{moment:%b} {moment.day} ({weekday_en})",
        "option_ko": "도보",
        "option_en": "on foot",
        "label_ko": f"{hour:02d}:00 도보",
        "label_en": f"{hour:02d}:00 on foot",
    }


# --- the date question offers the next open days ------------------------------------------------------------------


@respx.mock
@time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=SEOUL), tick=False)
async def test_the_date_question_offers_the_next_open_days_as_chips_besides_typing():
    days = ["2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06", "2026-12-08"]
    runs = [departure(n * 2 + k, day, 10 + 3 * k) for n, day in enumerate(days) for k in (0, 1)]
    route = respx.get(AVAILABLE).respond(200, json=runs)
    dispatcher = CollectingDispatcher()
    slots = {"party": {"adult": 3}}
    assert await ActionAskTourDate().run(dispatcher, tracker(slots=slots), {}) == []
    params = dict(route.calls.last.request.url.params)
    # From today in Seoul, for the seats of the party said so far.
    assert params["from"] == "2026-12-01" and params["seats"] == "3"
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_tour_date"
    assert [b["title"] for b in message["buttons"]] == [
        "12월 2일(수)",
        "12월 3일(목)",
        "12월 4일(금)",
        "12월 5일(토)",
        "12월 6일(일)",
    ]
    assert message["buttons"][3]["payload"] == '/inform{"tour_date":"2026-12-05"}'


@respx.mock
@time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=SEOUL), tick=False)
async def test_english_chips_name_the_days_in_english():
    respx.get(AVAILABLE).respond(200, json=[departure(1, "2026-12-05", 10)])
    dispatcher = CollectingDispatcher()
    await ActionAskTourDate().run(dispatcher, tracker("en", loop="change_form"), {})
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "Dec 5 (Sat)", "payload": '/inform{"tour_date":"2026-12-05"}'}
    ]


@respx.mock
async def test_without_the_api_the_date_is_still_asked_only_without_chips():
    respx.get(AVAILABLE).respond(503)
    dispatcher = CollectingDispatcher()
    await ActionAskTourDate().run(dispatcher, tracker(), {})
    assert [(m["response"], m["buttons"]) for m in dispatcher.messages] == [("utter_ask_tour_date", [])]


# --- cards --------------------------------------------------------------------------------------------------------


def booking(status: str = "confirmed") -> dict:
    return {
        "code": "7KQ3XP",
        "status": status,
        "total_fee": 18400,
        "party": {"adult": 2},
        "seats": 2,
        "run": departure(3, "2026-12-05", 13),
    }


@respx.mock
async def test_a_looked_up_booking_comes_with_its_card_and_its_full_text_fields():
    respx.get(f"{API}/api/bookings/7KQ3XP").respond(200, json=booking())
    dispatcher = CollectingDispatcher()
    slots = {"booking_code": "7KQ3XP", "booker_phone": "01012345678", "manage_intent": "show"}
    await ActionShowLookedUpBooking().run(dispatcher, tracker(slots=slots, loop=None), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_booking_card" and message["code"] == "7KQ3XP"
    assert message["custom"] == {
        "card": {
            "kind": "booking",
            "title": "DMZ 평화관광 예약",
            "fields": [
                ["예약번호", "7KQ3XP"],
                ["상태", "확정"],
                ["날짜", "12월 5일(토) 13:00"],
                ["코스", "도보"],
                ["인원", "어른 2명"],
                ["요금", "18,400원"],
            ],
            "body": None,
        }
    }


@respx.mock
async def test_a_new_booking_in_english_comes_with_a_card_of_its_code_and_meeting_point():
    respx.post(f"{API}/api/bookings").respond(201, json=booking())
    respx.get(f"{API}/api/tours/dmz-peace").respond(
        200, json={"meeting_point_en": "Imjingak", "id_rules_en": "Bring a passport."}
    )
    slots = {
        "tour_date": "2026-12-05",
        "run_id": "3",
        "party": {"adult": 2},
        "booker_name": "김민수",
        "booker_phone": "01012345678",
        "consent": True,
        "booking_confirmed": True,
    }
    dispatcher = CollectingDispatcher()
    await ActionSubmitBooking().run(dispatcher, tracker("en", slots=slots), {})
    card = dispatcher.messages[0]["custom"]["card"]
    assert card["kind"] == "booking" and card["title"] == "Your booking is confirmed"
    assert dict(card["fields"]) == {
        "Booking number": "7KQ3XP",
        "When": "Dec 5 (Sat) 13:00",
        "Course": "on foot",
        "Party": "adult 2",
        "Fee": "18,400 KRW (paid on site)",
        "Meet": "Imjingak",
    }
    assert card["body"] == "Bring a passport."


async def test_a_card_travels_with_its_words_to_the_gateway_not_as_a_message_of_its_own():
    collector = GatewayCollector()
    card = {"card": {"kind": "notice", "title": "공지", "fields": [], "body": "본문\n\n둘째 문단"}}
    buttons = [{"title": "자세히 보기", "payload": "/notice_read"}]
    await collector.send_response("web:1", {"text": "공지\n\n둘째 문단", "buttons": buttons, "custom": card})
    await collector.send_response("web:1", {"text": "첫 문단\n\n둘째 문단"})
    await collector.send_response("web:1", {"custom": {"remove_keyboard": True}})
    assert collector.messages == [
        {"recipient_id": "web:1", "text": "공지\n\n둘째 문단", "buttons": buttons, "custom": card},
        # Without a card, Rasa's own way: a plain text's paragraphs are bubbles, a custom alone is its own message.
        {"recipient_id": "web:1", "text": "첫 문단"},
        {"recipient_id": "web:1", "text": "둘째 문단"},
        {"recipient_id": "web:1", "custom": {"remove_keyboard": True}},
    ]


# --- links --------------------------------------------------------------------------------------------------------


def data_answer(page: str) -> dict:
    source = "출처: 파주시 DMZ 평화관광 월별 관광객 현황 — 파주시"
    return {
        "answered": True,
        "language": "ko",
        "answer": f"2025년 4월 외국인 관광객은 5,120명이에요.\n{source}",
        "numbers": [],
        "dataset": {
            "id": "dmz-peace-tourism-monthly",
            "title": "파주시 DMZ 평화관광 월별 관광객 현황",
            "source": "파주시",
            "source_url": "https://www.data.go.kr/data/15153986/fileData.do",
            "licence": "공공누리",
            "link": "https://chat.paju.example/api/datasets/dmz-peace-tourism-monthly",
            "page": page,
            "is_sample": False,
        },
        "query": {"dataset": "dmz-peace-tourism-monthly"},
        "explanation": "",
        "chart_url": None,
        "choices": [],
    }


@respx.mock
async def test_a_data_answer_names_its_source_once_and_links_its_readable_page_by_name():
    page = "https://chat.paju.example/data/dmz-peace-tourism-monthly"
    respx.post(f"{API}/api/opendata/ask").respond(200, json=data_answer(page))
    dispatcher = CollectingDispatcher()
    await ActionOpendataAnswer().run(dispatcher, tracker(text="4월 외국인 몇 명?", loop=None), {})
    [message] = dispatcher.messages
    assert message["text"].count("출처") == 1 and not ADDRESS.search(message["text"])
    assert message["buttons"] == [{"title": "데이터 자세히 보기", "payload": page}]


@respx.mock
async def test_a_dataset_page_on_an_internal_address_is_never_offered():
    respx.post(f"{API}/api/opendata/ask").respond(200, json=data_answer("http://localhost:8000/data/x"))
    dispatcher = CollectingDispatcher()
    await ActionOpendataAnswer().run(dispatcher, tracker(text="4월 외국인 몇 명?", loop=None), {})
    assert dispatcher.messages[0]["buttons"] == []


@pytest.mark.parametrize(
    "address",
    [
        "http://chat.paju.example/data/x",
        "https://localhost/data/x",
        "https://127.0.0.1:8000/data/x",
        "https://192.168.0.10/data/x",
        "https://api.internal/data/x",
        "javascript:alert(1)",
        "",
        None,
    ],
)
def test_only_public_https_addresses_become_links(address):
    assert public_link(address) is None and link_button("열기", address) is None


def test_a_public_https_address_becomes_a_named_link():
    assert link_button("지도 보기", "https://map.kakao.com/link/map/x,1,2") == {
        "title": "지도 보기",
        "payload": "https://map.kakao.com/link/map/x,1,2",
    }


# --- the words of every response -----------------------------------------------------------------------------------


def responses() -> list[tuple[str, str, str]]:
    """(response name, language, text or button title) of every variation in the domain."""
    found = []
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        for name, variations in (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}).items():
            for variation in variations:
                english = any(c.get("value") == "en" for c in variation.get("condition") or [])
                language = "en" if english else "ko"
                texts = [variation.get("text") or ""] + [b.get("title", "") for b in variation.get("buttons") or []]
                found += [(name, language, text) for text in texts if text]
    return found


def english_words(text: str) -> list[str]:
    """Words of Latin letters only, outside {placeholders} and /commands: a code such as 7KQ3XP is no word."""
    plain = re.sub(r"\{[^}]*\}|(?<!\w)/[a-z_]+", " ", text)
    words = re.findall(r"(?<![\w-])[A-Za-z][\w'-]*", plain)
    return [w for w in words if w.isascii() and w.replace("-", "").replace("'", "").isalpha() and len(w) > 1]


def test_the_scan_finds_english_words_and_leaves_codes_commands_and_placeholders():
    assert english_words("예약 완료! Booking number: {code}") == ["Booking", "number"]
    assert english_words("예약번호 6자리 (예: 7KQ3XP), (/language 로 고정), {tour_name}") == []


def test_korean_responses_have_no_english_words_and_no_response_shows_an_address():
    assert len(responses()) > 100
    english = [(n, w) for n, lang, t in responses() if lang == "ko" for w in english_words(t)]
    assert [(n, w) for n, w in english if w not in KOREAN_REPLY_ALLOWS] == []
    assert [(n, t) for n, _, t in responses() if ADDRESS.search(t)] == []
