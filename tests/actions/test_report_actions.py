"""Citizen-report actions (the report form, filing, status, rating) with hand-built trackers and the api mocked by
respx. Each form step is run as Rasa runs `validate_report_form`: the message, then the slot candidates."""

import json
from pathlib import Path

import httpx
import pytest
import respx
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.reports import (
    ActionAskReportConfirmed,
    ActionAskReportKind,
    ActionAskReportPhone,
    ActionAskReportPhotosDone,
    ActionAskReportPlace,
    ActionRateReport,
    ActionReportStatus,
    ActionStopReport,
    ActionSubmitRating,
    ActionSubmitReport,
    ValidateRatingCommentForm,
    ValidateReportForm,
    idempotency_key,
    means_here,
    mobile_number,
    receipt_in,
)

API = "http://api.test"
KINDS = f"{API}/api/reports/kinds"
PLACES = f"{API}/api/facilities/places"
CONSENT = f"{API}/api/reports/consent"
REPORTS = f"{API}/api/reports"
CASE = f"{API}/api/reports/PJ-2026-000123"
DOMAIN = Domain.load(Path(__file__).parents[2] / "domain").as_dict()
KIND_LIST = [
    {"code": code, "name": name, "department": department, "department_name": department_name}
    for code, name, department, department_name in (
        ("illegal_parking", "불법 주정차", "traffic", "교통행정과"),
        ("streetlight", "가로등 고장", "roads", "도로관리과"),
        ("pothole", "도로 파손·포트홀", "roads", "도로관리과"),
        ("manhole", "맨홀 뚜껑 파손", "roads", "도로관리과"),  # added by staff in the console
        ("other", "기타 생활불편", "civil_affairs", "민원여권과"),
    )
]
CONSENT_KO = (
    "남겨 주신 연락처는 이 신고와 관련해 연락드릴 때만 사용하고, 신고 처리가 끝나고 30일이 지나면 삭제해요. "
    "동의하시나요?"
)
FILED = {
    "receipt_no": "PJ-2026-000123",
    "kind": "illegal_parking",
    "kind_name": "불법 주정차",
    "department": "traffic",
    "department_name": "교통행정과",
    "status": "received",
    "status_name": "접수",
    "place_name": "금촌역 앞",
    "district": "금촌1동",
    "due_at": "2026-12-01T07:00:00Z",
    "due_text": "12월 1일(화) 오후 4시까지",
    "photos": 1,
    "merged": False,
}
CASE_DETAIL = {
    "receipt_no": "PJ-2026-000123",
    "kind": "streetlight",
    "kind_name": "가로등 고장",
    "status": "in_progress",
    "status_name": "처리 중",
    "department": "roads",
    "department_name": "도로관리과",
    "created_at": "2026-11-30T05:05:00Z",
    "due_at": "2026-12-01T05:05:00Z",
    "place_name": "금촌역",
    "district": "금촌1동",
    "district_name": "금촌1동",
    "photos": 0,
    "rating": None,
    "history": [
        {"at": "2026-11-30T05:05:00Z", "status": "received", "status_name": "접수", "text": None},
        {
            "at": "2026-11-30T06:00:00Z",
            "status": "in_progress",
            "status_name": "처리 중",
            "text": "가로등 수리 업체에 수리를 요청했어요.",
        },
    ],
}


@pytest.fixture(autouse=True)
def api_env(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    monkeypatch.setenv("SERVICE_TOKEN", "svc")


def tracker(
    slots: dict | None = None,
    text: str = "",
    intent: str = "inform",
    entities: list | None = None,
    candidates: dict | None = None,
    sender: str = "telegram:42",
    language: str = "ko",
    form: str = "report_form",
    message_id: str = "msg-1",
    confidence: float = 1.0,
) -> Tracker:
    """The tracker a form's validation action receives: the citizen's message, the form, then the slot candidates
    Rasa's own mappings found in the message (already set, as Rasa sets them)."""
    candidates = candidates or {}
    events = [
        {
            "event": "user",
            "text": text,
            "message_id": message_id,
            "parse_data": {"intent": {"name": intent, "confidence": confidence}},
        },
        {"event": "action", "name": form},
        *({"event": "slot", "name": name, "value": value} for name, value in candidates.items()),
    ]
    return Tracker(
        sender_id=sender,
        slots={"language": language, **(slots or {}), **candidates},
        latest_message={"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": entities or []},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": form},
        latest_action_name="action_listen",
    )


async def validate(tracker: Tracker) -> tuple[dict, CollectingDispatcher]:
    """Runs the form's validation; returns the slots it set, in order, and what it said."""
    dispatcher = CollectingDispatcher()
    events = await ValidateReportForm().run(dispatcher, tracker, DOMAIN)
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher


def said(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] or m["text"] for m in dispatcher.messages]


def filled(**answers) -> dict:
    """A report whose answers are all given, but for those named."""
    return {
        "report_kind": "illegal_parking",
        "report_place": "금촌역 앞",
        "report_description": "아침부터 횡단보도 위에 차가 서 있어요",
        "report_photos_done": True,
        "report_callback": False,
        **answers,
    }


# --- where ---------------------------------------------------------------------------------------------------------


async def test_a_location_shared_while_the_form_asks_where_is_the_reports_point_and_no_facility_search():
    asked = tracker({"report_kind": "illegal_parking", "requested_slot": "report_place"}, "/facility_nearby")
    asked.latest_message["intent"] = {"name": "facility_nearby"}
    asked.latest_message["entities"] = [
        {"entity": "latitude", "value": 37.7664},
        {"entity": "longitude", "value": 126.7747},
    ]
    slots, dispatcher = await validate(asked)
    assert slots["report_latitude"] == 37.7664 and slots["report_longitude"] == 126.7747
    # The facilities' slots took the same location; they are emptied so "parking near me" asks afresh.
    assert slots["latitude"] is None and slots["longitude"] is None
    assert "report_place" not in slots
    assert slots["requested_slot"] == "report_description"
    assert said(dispatcher) == ["utter_report_location_received"]


@respx.mock
async def test_a_typed_place_is_checked_with_the_citys_gazetteer_and_kept_as_typed():
    route = respx.get(PLACES).respond(200, json=[{"name": "금촌역", "name_en": "Geumchon Station"}])
    slots, dispatcher = await validate(
        tracker({"report_kind": "pothole", "requested_slot": "report_place"}, "금촌역 2번 출구 앞 횡단보도")
    )
    assert dict(route.calls.last.request.url.params) == {"q": "금촌역 2번 출구 앞 횡단보도"}
    assert slots["report_place"] == "금촌역 2번 출구 앞 횡단보도"
    assert slots["requested_slot"] == "report_description"
    assert dispatcher.messages == []


@respx.mock
async def test_an_unknown_place_is_refused_with_the_apis_reason_and_asked_again():
    detail = "'우리집 앞' 위치를 몰라요. 아는 곳: 운정역, 금촌역, 문산역."
    respx.get(PLACES).respond(404, json={"detail": detail, "code": "place_not_found"})
    slots, dispatcher = await validate(
        tracker({"report_kind": "pothole", "requested_slot": "report_place"}, "우리집 앞")
    )
    assert slots["report_place"] is None and slots["requested_slot"] == "report_place"
    assert said(dispatcher) == [detail]


@respx.mock
async def test_a_place_is_kept_when_the_gazetteer_cannot_be_asked_because_filing_checks_it_again():
    respx.get(PLACES).mock(side_effect=httpx.ConnectError("refused"))
    slots, dispatcher = await validate(tracker({"report_kind": "pothole", "requested_slot": "report_place"}, "운정역"))
    assert slots["report_place"] == "운정역" and dispatcher.messages == []


@pytest.mark.parametrize(
    ("sender", "response"),
    [
        ("telegram:42", "utter_ask_report_location"),
        ("web:abc", "utter_ask_report_place"),
        ("kakao:k", "utter_ask_report_place"),
    ],
)
async def test_telegram_is_asked_for_a_location_and_the_other_channels_for_a_place_in_words(sender, response):
    dispatcher = CollectingDispatcher()
    await ActionAskReportPlace().run(dispatcher, tracker(sender=sender), DOMAIN)
    assert said(dispatcher) == [response]


HERE = [
    "여기",
    "여기요",
    "여기예요",
    "여기에요!",
    "지금 여기",
    "지금 여기요~",
    "바로 여기",
    "현재 위치",
    "현재위치요",
    "내 위치",
    "제 위치요",
    "지금 제가 있는 곳이요",
    "이 근처",
    "현재 위치로 해주세요",
    "📍 현재 위치 보내기",
    "here",
    "Here.",
    "right here",
    "I'm right here",
    "my location",
    "My current location please",
    "where I am",
    "where I'm standing",
    "near me",
]


@pytest.mark.parametrize("typed", HERE)
def test_here_in_korean_or_english_means_where_the_citizen_is(typed):
    assert means_here(typed)


@pytest.mark.parametrize(
    "typed",
    ["금촌역 앞", "여기저기 쓰레기", "우리집 앞", "Here Cafe", "near Unjeong Station", "여기 가로등이 나갔어요"],
)
def test_a_place_or_a_sentence_is_not_here(typed):
    assert not means_here(typed)


def after_location_button(asked: Tracker) -> Tracker:
    """The tracker of the citizen's answer to the question that offered the location button."""
    asked.events[:0] = [
        {"event": "user", "text": "여기", "parse_data": {"intent": {"name": "inform"}}},
        {
            "event": "bot",
            "text": "지금 계신 곳을 보내 주세요.",
            "data": {"custom": {"location_button": "📍 현재 위치 보내기"}},
        },
    ]
    return asked


@respx.mock
@pytest.mark.parametrize(
    ("typed", "intent"), [("여기요", "greet"), ("지금 여기", "inform"), ("my location", "facility_nearby")]
)
async def test_here_at_the_where_question_is_no_place_so_where_is_asked_again_without_not_found(typed, intent):
    route = respx.get(PLACES).respond(404, json={"detail": "모르는 곳", "code": "place_not_found"})
    slots, dispatcher = await validate(
        tracker({"report_kind": "pothole", "requested_slot": "report_place"}, typed, intent)
    )
    assert not route.called
    assert slots["report_place"] is None and slots["requested_slot"] == "report_place"
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("sender", "response"),
    [
        ("telegram:42", "utter_ask_report_location_button"),
        ("web:abc", "utter_ask_report_location_web"),
        ("kakao:k", "utter_ask_report_landmark"),
    ],
)
async def test_after_here_each_channel_asks_for_the_location_it_can_give(sender, response):
    dispatcher = CollectingDispatcher()
    asked = tracker({"requested_slot": "report_place"}, "여기요", "greet", sender=sender)
    await ActionAskReportPlace().run(dispatcher, asked, DOMAIN)
    assert said(dispatcher) == [response]


async def test_a_request_naming_here_as_its_place_is_asked_for_the_location_at_once():
    dispatcher = CollectingDispatcher()
    asked = tracker(
        {"report_kind": "streetlight"},
        "여기 가로등이 나갔어요",
        "report_problem",
        entities=[{"entity": "place", "value": "여기"}],
    )
    await ActionAskReportPlace().run(dispatcher, asked, DOMAIN)
    assert said(dispatcher) == ["utter_ask_report_location_button"]


def _variations(name: str) -> dict[str, dict]:
    """A response's Korean (unconditioned) and English variation."""
    variations = DOMAIN["responses"][name]
    english = [v for v in variations if v.get("condition") == [{"type": "slot", "name": "language", "value": "en"}]]
    korean = [v for v in variations if not v.get("condition")]
    return {"en": english[0], "ko": korean[0]}


def test_telegram_and_the_web_chat_offer_a_location_button_in_korean_and_english_and_kakao_a_landmark():
    telegram = _variations("utter_ask_report_location_button")
    assert telegram["ko"]["custom"] == {"location_button": "📍 현재 위치 보내기"}
    assert telegram["en"]["custom"] == {"location_button": "📍 Send my location"}
    web = _variations("utter_ask_report_location_web")
    assert "입력칸 옆의 위치 버튼" in web["ko"]["text"] and "location button (the pin)" in web["en"]["text"]
    assert web["ko"]["custom"]["location_button"] and web["en"]["custom"]["location_button"]
    kakao = _variations("utter_ask_report_landmark")
    assert "건물" in kakao["ko"]["text"] and "landmark" in kakao["en"]["text"]
    assert "custom" not in kakao["ko"] and "custom" not in kakao["en"]


@respx.mock
async def test_a_place_typed_after_the_location_button_takes_telegrams_keyboard_away():
    respx.get(PLACES).respond(200, json=[{"name": "금촌역"}])
    asked = after_location_button(tracker({"report_kind": "pothole", "requested_slot": "report_place"}, "금촌역"))
    slots, dispatcher = await validate(asked)
    assert slots["report_place"] == "금촌역"
    assert dispatcher.messages[0]["custom"] == {"remove_keyboard": True}


@respx.mock
async def test_the_web_chat_and_a_turn_without_the_button_get_no_keyboard_marker():
    respx.get(PLACES).respond(200, json=[{"name": "금촌역"}])
    web = after_location_button(tracker({"requested_slot": "report_place"}, "금촌역", sender="web:abc"))
    _, dispatcher = await validate(web)
    assert dispatcher.messages == []
    _, dispatcher = await validate(tracker({"requested_slot": "report_place"}, "금촌역"))
    assert dispatcher.messages == []


async def test_a_location_shared_with_the_button_leaves_the_keyboard_to_the_gateways_answer():
    asked = after_location_button(
        tracker({"report_kind": "pothole", "requested_slot": "report_place"}, "/facility_nearby")
    )
    asked.latest_message["intent"] = {"name": "facility_nearby"}
    asked.latest_message["entities"] = [
        {"entity": "latitude", "value": 37.76},
        {"entity": "longitude", "value": 126.77},
    ]
    slots, dispatcher = await validate(asked)
    assert slots["report_latitude"] == 37.76
    assert said(dispatcher) == ["utter_report_location_received"]


async def test_here_again_after_the_location_button_keeps_it():
    asked = after_location_button(tracker({"report_kind": "pothole", "requested_slot": "report_place"}, "여기"))
    _, dispatcher = await validate(asked)
    assert dispatcher.messages == []


async def test_stopping_after_the_location_button_takes_telegrams_keyboard_away():
    dispatcher = CollectingDispatcher()
    asked = after_location_button(tracker({"requested_slot": "report_place"}, "그만", "stop"))
    await ActionStopReport().run(dispatcher, asked, DOMAIN)
    assert dispatcher.messages[0]["custom"] == {"remove_keyboard": True}
    assert said(dispatcher)[1:] == ["utter_report_cancelled"]


# --- what ----------------------------------------------------------------------------------------------------------


@respx.mock
async def test_the_kind_is_asked_with_a_button_for_every_kind_the_api_offers_including_new_ones():
    route = respx.get(KINDS).respond(200, json=KIND_LIST)
    dispatcher = CollectingDispatcher()
    await ActionAskReportKind().run(dispatcher, tracker(language="en"), DOMAIN)
    assert route.calls.last.request.headers["Accept-Language"] == "en"
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_report_kind"
    assert [b["title"] for b in message["buttons"]][-2:] == ["맨홀 뚜껑 파손", "기타 생활불편"]
    assert message["buttons"][0]["payload"] == '/report_problem{"report_kind":"illegal_parking"}'


@respx.mock
async def test_a_kind_named_in_the_request_is_kept_and_not_asked_again():
    respx.get(KINDS).respond(200, json=KIND_LIST)
    respx.get(PLACES).respond(200, json=[{"name": "운정역"}])
    slots, _ = await validate(
        tracker(
            text="운정역 앞 불법주차 신고",
            intent="report_problem",
            candidates={"report_kind": "illegal_parking", "report_place": "운정역"},
        )
    )
    assert slots["report_kind"] == "illegal_parking" and slots["report_place"] == "운정역"
    assert slots["requested_slot"] == "report_description"


@respx.mock
@pytest.mark.parametrize(("typed", "code"), [("맨홀 뚜껑", "manhole"), ("기타", "other"), ("도로", "pothole")])
async def test_a_typed_kind_is_matched_with_the_apis_names(typed, code):
    respx.get(KINDS).respond(200, json=KIND_LIST)
    slots, dispatcher = await validate(tracker({"requested_slot": "report_kind"}, typed, intent="report_problem"))
    assert slots["report_kind"] == code and dispatcher.messages == []


@respx.mock
async def test_words_that_name_no_kind_get_a_clear_message_and_the_kind_is_asked_again():
    respx.get(KINDS).respond(200, json=KIND_LIST)
    slots, dispatcher = await validate(
        tracker({"requested_slot": "report_kind"}, "이상한 거요", intent="report_problem")
    )
    assert slots["report_kind"] is None and slots["requested_slot"] == "report_kind"
    assert said(dispatcher) == ["utter_report_kind_unknown"]


async def test_a_question_in_the_middle_is_not_taken_as_the_answer_so_the_form_lets_it_be_answered():
    slots, _ = await validate(
        tracker({"report_kind": "pothole", "requested_slot": "report_place"}, "투어 예약 가능해?", "tour_availability")
    )
    assert "report_place" not in slots  # nothing extracted: Rasa rejects the form and a rule answers the question


async def test_a_description_over_500_characters_is_refused_with_its_length():
    long = "가" * 501
    slots, dispatcher = await validate(
        tracker({"report_kind": "noise", "report_place": "운정역", "requested_slot": "report_description"}, long)
    )
    assert slots["report_description"] is None and slots["requested_slot"] == "report_description"
    [message] = dispatcher.messages
    assert (message["response"], message["length"], message["limit"]) == ("utter_report_description_too_long", 501, 500)


# --- photos --------------------------------------------------------------------------------------------------------


def photo(photo_id: int, slots: dict, **location) -> Tracker:
    entities = [{"entity": "photo_id", "value": photo_id}] + [{"entity": k, "value": v} for k, v in location.items()]
    return tracker(slots, f'/report_photo{{"photo_id":{photo_id}}}', "report_photo", entities)


async def test_each_photo_is_counted_and_the_third_ends_the_photo_step():
    answers = filled(report_photos_done=None, report_callback=None, requested_slot="report_photos_done")
    slots, dispatcher = await validate(photo(12, answers | {"report_photo_ids": [10, 11]}))
    assert slots["report_photo_ids"] == [10, 11, 12] and slots["report_photos_done"] is True
    assert slots["requested_slot"] == "report_callback"
    assert [(m["response"], m.get("count")) for m in dispatcher.messages] == [("utter_report_photo_received", 3)]


async def test_a_photo_with_a_location_gives_the_report_its_point_so_where_is_not_asked():
    slots, dispatcher = await validate(
        photo(7, {"report_kind": "pothole", "requested_slot": "report_place"}, latitude=37.76, longitude=126.77)
    )
    assert slots["report_photo_ids"] == [7]
    assert (slots["report_latitude"], slots["report_longitude"]) == (37.76, 126.77)
    assert slots["requested_slot"] == "report_description"
    assert said(dispatcher) == ["utter_report_photo_received", "utter_report_photo_place"]


async def test_a_photo_sent_again_is_kept_once_and_a_fourth_is_not_kept():
    answers = filled(report_photo_ids=[1, 2, 3], requested_slot="report_confirmed")
    slots, dispatcher = await validate(photo(2, answers))
    assert slots["report_photo_ids"] == [1, 2, 3] and dispatcher.messages == []
    slots, dispatcher = await validate(photo(4, answers))
    assert slots["report_photo_ids"] == [1, 2, 3] and said(dispatcher) == ["utter_report_photos_full"]


async def test_the_photo_question_offers_to_go_on_without_photos_or_after_some():
    dispatcher = CollectingDispatcher()
    await ActionAskReportPhotosDone().run(dispatcher, tracker(), DOMAIN)
    await ActionAskReportPhotosDone().run(dispatcher, tracker({"report_photo_ids": [5]}), DOMAIN)
    assert [(m["response"], m.get("limit"), m.get("left")) for m in dispatcher.messages] == [
        ("utter_ask_report_photos", 3, None),
        ("utter_ask_report_more_photos", None, 2),
    ]


# --- a callback number ----------------------------------------------------------------------------------------------


@respx.mock
async def test_the_number_is_asked_with_the_apis_consent_statement_which_is_kept_as_shown():
    respx.get(CONSENT).respond(200, json={"text": CONSENT_KO, "retention_days": 30})
    dispatcher = CollectingDispatcher()
    events = await ActionAskReportPhone().run(dispatcher, tracker(), DOMAIN)
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_report_phone" and message["consent"] == CONSENT_KO
    assert events == [SlotSet("report_consent_text", CONSENT_KO)]


@pytest.mark.parametrize(
    ("typed", "digits"),
    [("010-1234-5678", "01012345678"), ("010 9876 5432", "01098765432"), ("+82 10-1234-5678", "01012345678")],
)
def test_korean_mobile_numbers_are_read_in_their_usual_spellings(typed, digits):
    assert mobile_number(typed) == digits


@pytest.mark.parametrize("typed", ["031-940-4114", "12345", "010-12-5678", "전화번호요"])
def test_other_numbers_and_words_are_not_mobile_numbers(typed):
    assert mobile_number(typed) is None


async def test_a_wrong_number_gets_a_clear_message_and_is_asked_again():
    answers = filled(report_callback=True, report_consent_text=CONSENT_KO, requested_slot="report_phone")
    slots, dispatcher = await validate(tracker(answers, "031-940-4114"))
    # No requested_slot: Rasa asks the form's first unanswered slot, the number, again.
    assert slots["report_phone"] is None and "requested_slot" not in slots
    assert said(dispatcher) == ["utter_invalid_report_phone"]


async def test_a_mobile_number_is_kept_as_digits():
    answers = filled(report_callback=True, report_consent_text=CONSENT_KO, requested_slot="report_phone")
    entities = [{"entity": "phone", "value": "010-1234-5678", "resolved": "01012345678"}]
    slots, _ = await validate(tracker(answers, "010-1234-5678", entities=entities))
    assert slots["report_phone"] == "01012345678" and "requested_slot" not in slots  # Rasa asks for the summary


async def test_not_agreeing_to_the_consent_goes_on_without_a_call():
    answers = filled(report_callback=True, report_consent_text=CONSENT_KO, requested_slot="report_phone")
    slots, _ = await validate(tracker(answers, "/deny", "deny"))
    assert slots["report_callback"] is False and slots["report_consent_text"] is None
    assert slots["requested_slot"] == "report_confirmed"


# --- the last look and filing ---------------------------------------------------------------------------------------


@respx.mock
async def test_the_summary_names_the_kind_and_masks_the_number():
    respx.get(KINDS).respond(200, json=KIND_LIST)
    answers = filled(report_photo_ids=[3], report_callback=True, report_phone="01012345678")
    dispatcher = CollectingDispatcher()
    await ActionAskReportConfirmed().run(dispatcher, tracker(answers), DOMAIN)
    [message] = dispatcher.messages
    assert message["kind"] == "불법 주정차" and message["place"] == "금촌역 앞"
    assert message["photos"] == "1장" and message["callback"] == "010-****-5678"


@respx.mock
async def test_the_summary_in_english_says_the_location_was_sent():
    respx.get(KINDS).respond(200, json=KIND_LIST)
    answers = filled(report_place=None, report_latitude=37.7, report_longitude=126.7)
    dispatcher = CollectingDispatcher()
    await ActionAskReportConfirmed().run(dispatcher, tracker(answers, language="en"), DOMAIN)
    [message] = dispatcher.messages
    assert message["place"] == "the location you sent" and message["photos"] == "none" and message["callback"] == "no"


@respx.mock
async def test_a_confirmed_report_is_filed_once_per_message_and_the_receipt_number_department_and_due_time_told():
    route = respx.post(REPORTS).respond(201, json=FILED)
    answers = filled(
        report_confirmed=True,
        report_photo_ids=[3],
        report_callback=True,
        report_phone="01012345678",
        report_consent_text=CONSENT_KO,
    )
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitReport().run(dispatcher, tracker(answers, "/affirm", "affirm"), DOMAIN)
    request = route.calls.last.request
    assert json.loads(request.content) == {
        "channel": "telegram",
        "channel_user_id": "42",
        "kind": "illegal_parking",
        "description": "아침부터 횡단보도 위에 차가 서 있어요",
        "photo_ids": [3],
        "place": "금촌역 앞",
        "callback_phone": "01012345678",
        "consent_text": CONSENT_KO,
    }
    # The key comes from the citizen's message: Rasa running the action again for it files nothing new.
    key = request.headers["Idempotency-Key"]
    assert key == idempotency_key(tracker(answers)) != idempotency_key(tracker(answers, message_id="msg-2"))
    [message] = dispatcher.messages
    assert message["response"] == "utter_report_filed"
    assert (message["receipt_no"], message["department"], message["due"]) == (
        "PJ-2026-000123",
        "교통행정과",
        "12월 1일(화) 오후 4시까지",
    )
    assert SlotSet("report_kind", None) in events and SlotSet("report_phone", None) in events


@respx.mock
async def test_a_shared_point_is_sent_instead_of_a_place():
    route = respx.post(REPORTS).respond(201, json=FILED)
    answers = filled(report_confirmed=True, report_place=None, report_latitude=37.76, report_longitude=126.77)
    await ActionSubmitReport().run(CollectingDispatcher(), tracker(answers), DOMAIN)
    body = json.loads(route.calls.last.request.content)
    assert (body["latitude"], body["longitude"]) == (37.76, 126.77) and "place" not in body


@respx.mock
async def test_a_report_joined_to_one_filed_nearby_says_so_with_its_receipt_number():
    respx.post(REPORTS).respond(201, json=FILED | {"merged": True, "receipt_no": "PJ-2026-000099"})
    dispatcher = CollectingDispatcher()
    await ActionSubmitReport().run(dispatcher, tracker(filled(report_confirmed=True)), DOMAIN)
    [message] = dispatcher.messages
    assert (message["response"], message["receipt_no"]) == ("utter_report_merged", "PJ-2026-000099")


@respx.mock
async def test_a_place_the_api_cannot_find_is_asked_for_again_and_the_other_answers_kept():
    detail = "파주시 밖의 위치예요. 파주시 안의 장소만 신고할 수 있어요."
    respx.post(REPORTS).respond(422, json={"detail": detail, "code": "outside_paju"})
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitReport().run(dispatcher, tracker(filled(report_confirmed=True)), DOMAIN)
    assert said(dispatcher) == [detail]
    assert events == [
        SlotSet("report_place", None),
        SlotSet("report_latitude", None),
        SlotSet("report_longitude", None),
        SlotSet("report_confirmed", None),
        FollowupAction("report_form"),
    ]


@respx.mock
async def test_too_many_reports_today_is_told_in_the_citizens_language_and_the_report_dropped():
    detail = "You can file up to 3 reports a day. Please try again tomorrow, or call 120 for anything urgent."
    route = respx.post(REPORTS).respond(429, json={"detail": detail, "code": "too_many_reports"})
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitReport().run(dispatcher, tracker(filled(report_confirmed=True), language="en"), DOMAIN)
    assert route.calls.last.request.headers["Accept-Language"] == "en"
    assert said(dispatcher) == [detail]
    assert SlotSet("report_description", None) in events and not any(e["event"] == "followup" for e in events)


@respx.mock
async def test_when_the_api_is_down_the_answers_are_kept_to_file_later():
    respx.post(REPORTS).mock(side_effect=httpx.ConnectError("refused"))
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitReport().run(dispatcher, tracker(filled(report_confirmed=True)), DOMAIN)
    assert said(dispatcher) == ["utter_service_unavailable", "utter_report_try_again"]
    assert events == [SlotSet("report_confirmed", None)]


@respx.mock
async def test_saying_no_at_the_summary_files_nothing():
    route = respx.post(REPORTS)
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitReport().run(dispatcher, tracker(filled(report_confirmed=False)), DOMAIN)
    assert not route.called and said(dispatcher) == ["utter_report_cancelled"]
    assert SlotSet("report_kind", None) in events


async def test_stopping_ends_the_form_at_any_step_and_forgets_the_answers():
    dispatcher = CollectingDispatcher()
    events = await ActionStopReport().run(dispatcher, tracker(filled(requested_slot="report_callback")), DOMAIN)
    assert said(dispatcher) == ["utter_report_cancelled"]
    assert events[:2] == [ActiveLoop(None), SlotSet("requested_slot", None)]
    assert SlotSet("report_place", None) in events and SlotSet("report_photo_ids", None) in events


# --- my reports ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "receipt_no"),
    [
        ("PJ-2026-000123 어떻게 됐나요", "PJ-2026-000123"),
        ("pj 2026 000123 처리됐어요?", "PJ-2026-000123"),
        ("접수번호PJ-2025-004567확인", "PJ-2025-004567"),
        ("내 신고 어떻게 됐어요?", None),
    ],
)
def test_a_receipt_number_is_read_however_it_is_typed(text, receipt_no):
    assert receipt_in(tracker(text=text)) == receipt_no


@respx.mock
async def test_without_a_receipt_number_the_citizens_reports_are_listed_with_their_status():
    listed = [
        {
            "receipt_no": "PJ-2026-000123",
            "kind_name": "가로등 고장",
            "status": "in_progress",
            "status_name": "처리 중",
            "created_at": "2026-11-30T05:05:00Z",
            "place_name": "금촌역",
            "rated": False,
        }
    ]
    route = respx.get(REPORTS).respond(200, json=listed)
    dispatcher = CollectingDispatcher()
    await ActionReportStatus().run(dispatcher, tracker(text="내 신고 어떻게 됐어요?", sender="web:abc"), DOMAIN)
    assert dict(route.calls.last.request.url.params) == {"channel": "web", "channel_user_id": "abc"}
    [message] = dispatcher.messages
    assert message["cases"] == "• PJ-2026-000123 가로등 고장 · 금촌역: 처리 중 (11월 30일 접수)"
    assert message["buttons"] == [
        {"title": "PJ-2026-000123", "payload": '/report_status{"receipt_no":"PJ-2026-000123"}'}
    ]


@respx.mock
async def test_a_citizen_without_reports_is_told_so():
    respx.get(REPORTS).respond(200, json=[])
    dispatcher = CollectingDispatcher()
    await ActionReportStatus().run(dispatcher, tracker(text="신고 처리 상황"), DOMAIN)
    assert said(dispatcher) == ["utter_no_reports"]


@respx.mock
async def test_a_receipt_number_shows_that_cases_status_and_what_the_citizen_was_told_in_seoul_time():
    respx.get(CASE).respond(200, json=CASE_DETAIL)
    dispatcher = CollectingDispatcher()
    await ActionReportStatus().run(dispatcher, tracker(text="PJ-2026-000123 어떻게 됐나요"), DOMAIN)
    [message] = dispatcher.messages
    assert message["response"] == "utter_report_case"
    assert (message["status"], message["department"], message["place"]) == ("처리 중", "도로관리과", "금촌역 (금촌1동)")
    assert message["filed"] == "11월 30일(월) 14:05"
    assert message["progress"].splitlines() == [
        "• 진행 상황:",
        "  - 11월 30일(월) 14:05 접수",
        "  - 11월 30일(월) 15:00 처리 중: 가로등 수리 업체에 수리를 요청했어요.",
    ]
    assert message["buttons"] == []


@respx.mock
async def test_a_done_case_not_yet_rated_offers_the_rating_buttons_in_english():
    done = {
        "status": "done",
        "status_name": "done",
        "district_name": "Geumchon 1-dong",
        "created_at": "2026-11-30T05:05:00",
    }
    respx.get(CASE).respond(200, json=CASE_DETAIL | done)
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "receipt_no", "value": "PJ-2026-000123"}]
    await ActionReportStatus().run(dispatcher, tracker(text="/report_status", entities=entities, language="en"), DOMAIN)
    [message] = dispatcher.messages
    # A time written without its offset is the api's UTC.
    assert message["place"] == "금촌역 (Geumchon 1-dong)" and message["filed"] == "Mon 30 Nov, 14:05"
    assert [b["title"] for b in message["buttons"]] == ["1/5", "2/5", "3/5", "4/5", "5/5"]
    assert message["buttons"][4]["payload"] == '/rate_report{"receipt_no":"PJ-2026-000123","score":5}'


@respx.mock
async def test_an_unknown_receipt_number_gets_the_apis_answer_not_an_error():
    detail = "'PJ-2026-999999' 신고를 찾을 수 없어요. 접수번호는 PJ-2026-000123 형식이에요."
    respx.get(f"{API}/api/reports/PJ-2026-999999").respond(404, json={"detail": detail, "code": "report_not_found"})
    dispatcher = CollectingDispatcher()
    await ActionReportStatus().run(dispatcher, tracker(text="PJ-2026-999999 조회"), DOMAIN)
    assert said(dispatcher) == [detail]


# --- rating ---------------------------------------------------------------------------------------------------------


def rating(score, receipt_no="PJ-2026-000123", **slots) -> Tracker:
    entities = [{"entity": "receipt_no", "value": receipt_no}, {"entity": "score", "value": score}]
    return tracker(slots, "/rate_report", "rate_report", entities, form="")


@respx.mock
async def test_a_score_is_saved_on_the_tap_and_a_comment_is_asked_for():
    respx.get(CASE).respond(200, json=CASE_DETAIL | {"status": "done"})
    rated = respx.post(f"{CASE}/rating").respond(200, json=CASE_DETAIL | {"status": "done", "rating": 4})
    dispatcher = CollectingDispatcher()
    events = await ActionRateReport().run(dispatcher, rating(4), DOMAIN)
    assert json.loads(rated.calls.last.request.content) == {"channel": "telegram", "channel_user_id": "42", "score": 4}
    assert [(m["response"], m["score"]) for m in dispatcher.messages] == [("utter_rating_received", 4)]
    assert events == [
        SlotSet("rating_receipt_no", "PJ-2026-000123"),
        SlotSet("rating_score", 4.0),
        SlotSet("rating_comment", None),
        SlotSet("rating_open", True),
    ]


@respx.mock
async def test_a_case_not_done_or_already_rated_is_answered_at_once():
    respx.get(CASE).respond(200, json=CASE_DETAIL)
    dispatcher = CollectingDispatcher()
    events = await ActionRateReport().run(dispatcher, rating(5), DOMAIN)
    assert said(dispatcher) == ["utter_rating_not_done"] and SlotSet("rating_open", False) in events
    respx.get(CASE).respond(200, json=CASE_DETAIL | {"status": "done", "rating": 3})
    dispatcher = CollectingDispatcher()
    await ActionRateReport().run(dispatcher, rating(5), DOMAIN)
    assert said(dispatcher) == ["utter_rating_already"]


@pytest.mark.parametrize("score", [0, 6, 2.5, "many"])
async def test_a_score_outside_one_to_five_is_refused(score):
    dispatcher = CollectingDispatcher()
    events = await ActionRateReport().run(dispatcher, rating(score), DOMAIN)
    assert said(dispatcher) == ["utter_rating_invalid"] and events == [SlotSet("rating_open", False)]


async def comment(text: str, intent: str = "inform", confidence: float = 1.0) -> dict:
    slots = {"requested_slot": "rating_comment"}
    waiting = tracker(slots, text, intent, form="rating_comment_form", confidence=confidence)
    events = await ValidateRatingCommentForm().run(CollectingDispatcher(), waiting, DOMAIN)
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def test_kind_words_are_a_comment_and_skip_is_no_comment():
    assert (await comment("빨리 고쳐 주셔서 감사해요", "thank"))["rating_comment"] == "빨리 고쳐 주셔서 감사해요"
    assert (await comment("/deny", "deny"))["rating_comment"] == ""
    assert "rating_comment" not in await comment("도움말", "help")


async def test_words_about_how_the_report_was_handled_are_the_comment_even_read_as_a_status_question():
    for said, confidence in (("빨리 처리해 주셔서 좋았어요", 0.53), ("처리가 너무 늦었어요", 0.93)):
        assert (await comment(said, "report_status", confidence=confidence))["rating_comment"] == said
    # Another request the NLU is sure of is answered in passing, not sent as the comment.
    assert "rating_comment" not in await comment("공지 알림 받을래요", "notice_subscribe", confidence=0.98)
    # What it only half places among requests is the comment.
    assert (await comment("공지 잘 봤어요", "notice_latest", confidence=0.55))["rating_comment"] == "공지 잘 봤어요"


async def test_the_comment_form_asks_when_the_rating_action_only_cleared_the_comment():
    started = tracker(
        {"rating_receipt_no": "PJ-2026-000123", "rating_score": 4.0},
        '/rate_report{"receipt_no":"PJ-2026-000123","score":4}',
        "rate_report",
        form="rating_comment_form",
    )
    started.events.append(SlotSet("rating_comment", None))
    events = await ValidateRatingCommentForm().run(CollectingDispatcher(), started, DOMAIN)
    assert {"rating_comment": ""}.items() - {e["name"]: e["value"] for e in events if e["event"] == "slot"}.items()


@respx.mock
async def test_a_comment_is_added_to_the_saved_score():
    route = respx.post(f"{CASE}/rating").respond(200, json=CASE_DETAIL | {"status": "done", "rating": 4})
    waiting = tracker({"rating_receipt_no": "PJ-2026-000123", "rating_score": 4.0, "rating_comment": "친절했어요"})
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitRating().run(dispatcher, waiting, DOMAIN)
    assert json.loads(route.calls.last.request.content) == {
        "channel": "telegram",
        "channel_user_id": "42",
        "score": 4,
        "comment": "친절했어요",
    }
    assert said(dispatcher) == ["utter_rating_saved"]
    assert ActiveLoop(None) in events and SlotSet("rating_score", None) in events


@respx.mock
async def test_stopping_at_the_comment_sends_nothing_more_the_score_is_already_saved():
    route = respx.post(f"{CASE}/rating").respond(200, json=CASE_DETAIL)
    waiting = tracker({"rating_receipt_no": "PJ-2026-000123", "rating_score": 2.0}, "그만", "stop")
    dispatcher = CollectingDispatcher()
    await ActionSubmitRating().run(dispatcher, waiting, DOMAIN)
    assert not route.called
    assert said(dispatcher) == ["utter_rating_saved"]


@respx.mock
async def test_rating_someone_elses_report_is_refused_with_the_apis_words_not_an_outage_apology():
    detail = "이 신고를 하신 분만 평가할 수 있어요."
    respx.post(f"{CASE}/rating").respond(403, json={"detail": detail, "code": "not_your_report"})
    respx.get(CASE).respond(200, json=CASE_DETAIL | {"status": "done"})
    dispatcher = CollectingDispatcher()
    events = await ActionRateReport().run(dispatcher, rating(5), DOMAIN)
    assert said(dispatcher) == [detail]
    assert SlotSet("rating_open", False) in events
