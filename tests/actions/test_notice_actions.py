"""The notice actions with a hand-built tracker and the api mocked by respx: cards, search keywords, subscriptions
with consent, phone linking and certified notices opened only after a code."""

import json
from pathlib import Path

import httpx
import pytest
import respx
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.notices import (
    ActionMyNotices,
    ActionMySubscriptions,
    ActionNoticeLatest,
    ActionNoticeOpen,
    ActionNoticeRead,
    ActionNoticeSearch,
    ActionNoticeSubscribe,
    ActionNoticeUnsubscribe,
    ActionPhoneLinked,
    ActionShowPersonalNotice,
    ActionStopNoticeFlow,
    ValidateNoticeSearchForm,
    ValidateNoticeUnlockForm,
    ValidatePhoneLinkForm,
    code_in,
    search_keyword,
)

API = "http://api.test"
DOMAIN = Domain.load(Path(__file__).parents[2] / "domain").as_dict()
VERIFIED_HEADER = "✅ 파주시 공식 알림 | Paju City verified"
PARKING = {
    "id": 1,
    "category": "traffic",
    "category_name": "교통·도로",
    "department": "주차관리과",
    "title": "공영주차장 운영 안내",
    "summary": "금촌역·문산역·운정역 공영주차장 24시간 운영.",
    "body": "금촌역, 문산역, 운정역 공영주차장의 운영 시간과 요금을 알려 드립니다.",
    "title_en": "Public car parks: hours and fees",
    "summary_en": "The public parking lots are open 24 hours.",
    "attachments": [{"title": "요금표", "url": "https://example.com/paju-sample/fees.pdf"}],
    "status": "published",
    "urgent": False,
    "published_at": "2026-11-23T00:00:00Z",
    "expires_at": None,
    "updated_at": "2026-11-23T00:00:00Z",
}
FESTIVAL = PARKING | {
    "id": 2,
    "category": "culture",
    "title": "파주 장단콩 축제 개최",
    "title_en": None,
    "summary_en": None,
}
WHO = {"channel": "telegram", "channel_user_id": "42"}


@pytest.fixture(autouse=True)
def api_env(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    monkeypatch.setenv("SERVICE_TOKEN", "svc")


def tracker(
    text: str = "", intent: str = "notice_latest", entities: list | None = None, language: str = "ko", **slots
) -> Tracker:
    return Tracker(
        sender_id="telegram:42",
        slots={"language": language, **slots},
        latest_message={"text": text, "intent": {"name": intent}, "entities": entities or []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def button(intent: str, **entities) -> tuple[str, list[dict]]:
    return f"/{intent}{json.dumps(entities)}", [{"entity": k, "value": v} for k, v in entities.items()]


async def run(action, current: Tracker) -> tuple[list, list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, current, DOMAIN)
    return events, dispatcher.messages


def payloads(message: dict) -> list[str]:
    return [b["payload"] for b in message["buttons"]]


# --- words out of messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("주차 관련 공지 찾아줘", "주차"),
        ("도로공사 공지 있어?", "도로공사"),
        ("청년 월세 공지 검색해줘", "청년 월세"),
        ("공지 검색", ""),
        ("공지사항에서 찾아줘", ""),
        ("공지 중에 주차 얘기 있어?", "주차"),
        ("search notices about road works", "road works"),
        ("is there a notice on property tax?", "property tax"),
        ("find the passport notice", "passport"),
        ("/notice_search", ""),
    ],
)
def test_the_keyword_is_what_the_request_is_about(text, keyword):
    assert search_keyword(text) == keyword


@pytest.mark.parametrize(
    ("text", "code"),
    [("482913", "482913"), ("인증번호 391 284", "391284"), ("my code is 019-283", "019283"), ("12345", None)],
)
def test_a_code_is_six_digits_also_with_spaces(text, code):
    assert code_in(text) == code


def test_no_reply_of_the_assistant_carries_the_citys_verified_header():
    for name, variations in DOMAIN["responses"].items():
        for variation in variations:
            assert "✅" not in variation.get("text", ""), name
            assert VERIFIED_HEADER not in variation.get("text", ""), name
    source = (Path(__file__).parents[2] / "actions" / "notices.py").read_text(encoding="utf-8")
    assert "✅" not in source


# --- latest, search, read more --------------------------------------------------------------------------------


@respx.mock
async def test_the_latest_notices_come_as_cards_with_read_more_and_category_buttons():
    route = respx.get(f"{API}/api/notices").respond(200, json=[PARKING, FESTIVAL])
    events, messages = await run(ActionNoticeLatest(), tracker("최신 공지 보여줘"))
    assert dict(route.calls.last.request.url.params) == {"size": "3"}
    assert [m["response"] for m in messages] == [
        "utter_notices_latest",
        "utter_notice_card",
        "utter_notice_card",
        "utter_notice_narrow",
    ]
    first = messages[1]
    assert (first["category"], first["title"], first["date"], first["department"]) == (
        "교통·도로",
        "공영주차장 운영 안내",
        "11월 23일",
        "주차관리과",
    )
    assert payloads(first) == ['/notice_read{"notice_id":"1"}']
    # The same notice as a card's fields, for the pages that draw one; the text above stays whole.
    assert first["custom"]["card"] == {
        "kind": "notice",
        "title": "공영주차장 운영 안내",
        "fields": [["분야", "교통·도로"], ["게시일", "11월 23일"], ["담당 부서", "주차관리과"]],
        "body": first["summary"],
    }
    assert len(messages[3]["buttons"]) == 8
    assert messages[3]["buttons"][2] == {"title": "교통·도로", "payload": '/notice_latest{"notice_category":"traffic"}'}
    assert events == []


@respx.mock
async def test_a_category_button_narrows_the_latest_and_english_readers_get_english_cards():
    route = respx.get(f"{API}/api/notices").respond(200, json=[PARKING, FESTIVAL])
    text, entities = button("notice_latest", notice_category="traffic")
    _, messages = await run(ActionNoticeLatest(), tracker(text, entities=entities, language="en"))
    assert route.calls.last.request.url.params["category"] == "traffic"
    assert (
        messages[0]["response"] == "utter_notices_latest_in_category" and messages[0]["category"] == "Traffic and roads"
    )
    assert messages[1]["title"] == "Public car parks: hours and fees" and messages[1]["date"] == "Nov 23"
    assert messages[1]["buttons"][0]["title"] == "Read more"
    assert messages[1]["custom"]["card"]["fields"][1] == ["Posted", "Nov 23"]
    assert messages[2]["title"] == "파주 장단콩 축제 개최" and messages[2]["summary"].endswith("(Korean only)")
    assert "traffic" not in "".join(payloads(messages[3]))  # the other seven categories


@respx.mock
async def test_a_typed_category_narrows_the_latest_too():
    route = respx.get(f"{API}/api/notices").respond(200, json=[])
    _, messages = await run(ActionNoticeLatest(), tracker("최근 복지 공지 보여줘"))
    assert route.calls.last.request.url.params["category"] == "welfare"
    assert messages[0]["response"] == "utter_no_notices"


async def test_the_search_form_keeps_only_the_keyword_or_asks_for_one():
    form = ValidateNoticeSearchForm()
    dispatcher = CollectingDispatcher()
    found = await form.validate_notice_query(
        "주차 관련 공지 찾아줘", dispatcher, tracker(intent="notice_search"), DOMAIN
    )
    assert found == {"notice_query": "주차"}
    assert await form.validate_notice_query("공지 검색", dispatcher, tracker(), DOMAIN) == {"notice_query": None}


@respx.mock
async def test_search_results_are_cards_and_the_keyword_is_forgotten():
    route = respx.get(f"{API}/api/notices").respond(200, json=[PARKING])
    events, messages = await run(ActionNoticeSearch(), tracker(notice_query="주차"))
    assert dict(route.calls.last.request.url.params) == {"q": "주차", "size": "3"}
    assert [m["response"] for m in messages] == ["utter_notice_search_results", "utter_notice_card"]
    assert messages[0]["query"] == "주차"
    assert events == [SlotSet("notice_query", None)]

    respx.get(f"{API}/api/notices").respond(200, json=[])
    _, messages = await run(ActionNoticeSearch(), tracker(notice_query="우주선", language="en"))
    assert messages[0]["response"] == "utter_notice_search_none" and payloads(messages[0]) == ["/notice_latest"]


@respx.mock
async def test_read_more_shows_the_whole_notice_with_its_attachments():
    respx.get(f"{API}/api/notices/1").respond(200, json=PARKING)
    text, entities = button("notice_read", notice_id="1")
    _, [message] = await run(ActionNoticeRead(), tracker(text, "notice_read", entities))
    assert message["response"] == "utter_notice_full"
    assert message["body"] == PARKING["body"]
    # The attachment is named in the text and opens from its own button: no address in the text.
    assert message["attachments"] == "\n📎 요금표"
    assert message["buttons"] == [{"title": "📎 요금표", "payload": "https://example.com/paju-sample/fees.pdf"}]
    assert message["date"] == "11월 23일"
    assert message["custom"]["card"] == {
        "kind": "notice",
        "title": "공영주차장 운영 안내",
        "fields": [["분야", "교통·도로"], ["게시일", "11월 23일"], ["담당 부서", "주차관리과"]],
        "body": PARKING["body"],
    }


@respx.mock
async def test_read_more_on_a_withdrawn_notice_says_so():
    detail = "게시 중인 공지가 아니에요. 철회되었거나 기간이 끝났어요."
    respx.get(f"{API}/api/notices/9").respond(404, json={"detail": detail, "code": "notice_not_found"})
    text, entities = button("notice_read", notice_id="9")
    _, [message] = await run(ActionNoticeRead(), tracker(text, "notice_read", entities))
    assert message["text"] == detail


@respx.mock
async def test_the_citizen_hears_a_polite_apology_when_the_api_is_down():
    respx.get(f"{API}/api/notices").mock(side_effect=httpx.ConnectError("refused"))
    _, messages = await run(ActionNoticeLatest(), tracker("최신 공지"))
    assert messages[0]["response"] == "utter_service_unavailable"


# --- subscriptions ---------------------------------------------------------------------------------------------


async def test_subscribing_without_a_category_offers_the_categories():
    _, [message] = await run(ActionNoticeSubscribe(), tracker("공지 알림 받고 싶어요", "notice_subscribe"))
    assert message["response"] == "utter_ask_notice_subscribe_category"
    assert payloads(message)[7] == '/notice_subscribe{"notice_category":"safety"}'


async def test_a_chosen_category_asks_for_consent_first():
    _, [message] = await run(ActionNoticeSubscribe(), tracker("교통 공지 알림 받을래", "notice_subscribe"))
    assert message["response"] == "utter_notice_subscribe_consent" and message["category"] == "교통·도로"
    assert payloads(message) == ['/notice_subscribe{"notice_category":"traffic","notice_consent":"yes"}', "/deny"]


@respx.mock
async def test_consent_is_recorded_with_the_statement_the_citizen_saw():
    route = respx.post(f"{API}/api/notice-subscriptions").respond(
        201, json={"category": "safety", "category_name": "Safety", "consented_at": "2026-11-25T01:00:00Z"}
    )
    text, entities = button("notice_subscribe", notice_category="safety", notice_consent="yes")
    _, [message] = await run(ActionNoticeSubscribe(), tracker(text, "notice_subscribe", entities, language="en"))
    body = json.loads(route.calls.last.request.content)
    assert body["category"] == "safety" and body | WHO == body
    assert body["consent_text"].startswith("Do you agree to get Safety notices?")
    assert "Nothing is sent from 21:00 to 08:00" in body["consent_text"]
    assert message["response"] == "utter_notice_subscribed" and payloads(message) == ["/my_subscriptions"]


@respx.mock
async def test_unsubscribing_offers_the_current_subscriptions_then_stops_one_or_all():
    subscriptions = [
        {"category": "traffic", "category_name": "교통·도로", "consented_at": "2026-11-20T01:00:00Z"},
        {"category": "safety", "category_name": "안전", "consented_at": "2026-11-21T01:00:00Z"},
    ]
    respx.get(f"{API}/api/notice-subscriptions").respond(200, json=subscriptions)
    delete = respx.delete(f"{API}/api/notice-subscriptions").respond(200, json=[])
    _, [message] = await run(ActionNoticeUnsubscribe(), tracker("알림 해지", "notice_unsubscribe"))
    assert message["response"] == "utter_notice_unsubscribe_which"
    assert payloads(message)[-1] == '/notice_unsubscribe{"notice_category":"all"}'

    text, entities = button("notice_unsubscribe", notice_category="traffic")
    _, [message] = await run(ActionNoticeUnsubscribe(), tracker(text, "notice_unsubscribe", entities))
    assert delete.calls.last.request.url.params["category"] == "traffic"
    assert message["response"] == "utter_notice_unsubscribed" and message["categories"] == "교통·도로"

    _, [message] = await run(ActionNoticeUnsubscribe(), tracker("알림 전부 끊어주세요", "notice_unsubscribe"))
    assert "category" not in delete.calls.last.request.url.params
    assert message["categories"] == "교통·도로, 안전"

    _, [message] = await run(ActionNoticeUnsubscribe(), tracker("복지 알림 해지할래", "notice_unsubscribe"))
    assert message["response"] == "utter_not_subscribed" and message["category"] == "복지"


@respx.mock
async def test_my_subscriptions_lists_each_category_with_the_day_of_consent():
    subscriptions = [{"category": "jobs", "category_name": "Jobs", "consented_at": "2026-11-20T16:00:00Z"}]
    respx.get(f"{API}/api/notice-subscriptions").respond(200, json=subscriptions)
    _, [message] = await run(ActionMySubscriptions(), tracker("my subscriptions", language="en"))
    assert message["subscriptions"] == "• Jobs (agreed Nov 21)"
    assert payloads(message) == ["/notice_subscribe", "/notice_unsubscribe"]
    respx.get(f"{API}/api/notice-subscriptions").respond(200, json=[])
    _, [message] = await run(ActionMySubscriptions(), tracker("내 구독 목록"))
    assert message["response"] == "utter_no_subscriptions"


# --- certified personal notices ----------------------------------------------------------------------------------


@respx.mock
async def test_without_a_linked_phone_my_notices_starts_linking():
    detail = "먼저 휴대폰 번호를 이 대화에 연결해 주세요."
    respx.get(f"{API}/api/personal-notices").respond(409, json={"detail": detail, "code": "phone_not_linked"})
    events, messages = await run(ActionMyNotices(), tracker("내 공인알림", "my_notices"))
    assert [m["response"] for m in messages] == ["utter_phone_link_needed"]
    assert events[0] == SlotSet("phone_link_needed", True)


@respx.mock
async def test_my_notices_lists_read_and_unread_without_showing_unread_titles():
    listed = [
        {"id": 5, "department": "세정과", "sent_at": "2026-11-24T01:00:00Z", "read": False, "title": None},
        {
            "id": 4,
            "department": "복지정책과",
            "sent_at": "2026-11-20T01:00:00Z",
            "read": True,
            "title": "기초연금 결정",
        },
    ]
    route = respx.get(f"{API}/api/personal-notices").respond(200, json=listed)
    events, messages = await run(ActionMyNotices(), tracker("내 공인알림", "my_notices"))
    assert dict(route.calls.last.request.url.params) == WHO
    assert [m["response"] for m in messages] == [
        "utter_my_notices",
        "utter_personal_notice_item",
        "utter_personal_notice_item",
    ]
    assert (messages[0]["count"], messages[0]["unread"]) == (2, 1)
    assert messages[1]["state"] == "안 읽음" and messages[1]["title"] == "(본인 확인 후 보여요)"
    assert payloads(messages[1]) == ['/notice_open{"personal_notice_id":"5"}']
    assert messages[2]["title"] == "기초연금 결정"
    assert events[0] == SlotSet("phone_link_needed", False)


@respx.mock
async def test_the_phone_gets_a_code_and_a_wrong_code_is_asked_again():
    start = respx.post(f"{API}/api/phone-links").respond(202, json={"phone": "010-****-6789", "expires_at": "x"})
    form = ValidatePhoneLinkForm()
    dispatcher = CollectingDispatcher()
    phone = [{"entity": "phone", "value": "010-2345-6789", "resolved": "01023456789"}]
    slots = await form.validate_link_phone(
        "010-2345-6789", dispatcher, tracker("010-2345-6789", "inform", phone), DOMAIN
    )
    assert slots == {"link_phone": "01023456789"}
    assert json.loads(start.calls.last.request.content) == WHO | {"phone": "01023456789"}
    assert (
        dispatcher.messages[0]["response"] == "utter_code_sent" and dispatcher.messages[0]["phone"] == "010-****-6789"
    )

    wrong = {"detail": "인증번호가 맞지 않아요. 4번 더 입력할 수 있어요.", "code": "wrong_code"}
    respx.post(f"{API}/api/phone-links/confirm").respond(422, json=wrong)
    dispatcher = CollectingDispatcher()
    assert await form.validate_link_code("111111", dispatcher, tracker("111111"), DOMAIN) == {"link_code": None}
    assert dispatcher.messages[0]["text"] == wrong["detail"]
    assert await form.validate_link_code("몰라요", dispatcher, tracker("몰라요"), DOMAIN) == {"link_code": None}
    assert dispatcher.messages[-1]["response"] == "utter_invalid_code_format"

    locked = {"detail": "인증번호를 5번 틀렸어요. 새 인증번호를 요청해 주세요.", "code": "code_locked"}
    respx.post(f"{API}/api/phone-links/confirm").respond(429, json=locked)
    assert await form.validate_link_code("222222", dispatcher, tracker("222222"), DOMAIN) == {"link_code": "failed"}

    linked = {"phone": "010-****-6789", "linked_at": "x", "unread": 1}
    confirm = respx.post(f"{API}/api/phone-links/confirm").respond(200, json=linked)
    assert await form.validate_link_code("482 913", dispatcher, tracker("482 913"), DOMAIN) == {"link_code": "ok"}
    assert json.loads(confirm.calls.last.request.content)["code"] == "482913"


@respx.mock
async def test_a_bad_phone_number_is_asked_again_with_the_apis_reason():
    detail = "휴대전화 번호를 010-1234-5678 형식으로 알려 주세요."
    respx.post(f"{API}/api/phone-links").respond(422, json={"detail": detail, "code": "invalid_phone"})
    dispatcher = CollectingDispatcher()
    slots = await ValidatePhoneLinkForm().validate_link_phone("02-123", dispatcher, tracker("02-123"), DOMAIN)
    assert slots == {"link_phone": None} and dispatcher.messages[0]["text"] == detail


@respx.mock
async def test_when_the_sms_provider_is_down_the_citizen_hears_the_code_was_not_sent_and_it_is_asked_once():
    detail = "지금 인증번호 문자를 보내지 못했어요. 몇 분 뒤에 다시 요청해 주세요."
    start = respx.post(f"{API}/api/phone-links").respond(503, json={"detail": detail, "code": "sms_not_sent"})
    dispatcher = CollectingDispatcher()
    slots = await ValidatePhoneLinkForm().validate_link_phone("010-2345-6789", dispatcher, tracker("x"), DOMAIN)
    assert slots == {"link_phone": None} and dispatcher.messages[0]["text"] == detail
    assert start.call_count == 1  # a second try could send a second code


@respx.mock
async def test_once_linked_the_waiting_notices_are_listed():
    respx.get(f"{API}/api/personal-notices").respond(200, json=[])
    events, messages = await run(ActionPhoneLinked(), tracker(link_phone="01023456789", link_code="ok"))
    assert messages[0] == messages[0] | {"response": "utter_phone_linked", "phone": "010-****-6789"}
    assert messages[1]["response"] == "utter_my_notices_none"
    assert events == [SlotSet("link_phone", None), SlotSet("link_code", None), SlotSet("phone_link_needed", None)]
    _, messages = await run(ActionPhoneLinked(), tracker(link_phone="01023456789", link_code="failed"))
    assert [m["response"] for m in messages] == ["utter_phone_link_failed"]


@respx.mock
async def test_opening_a_notice_sends_a_code_and_the_content_waits_for_it():
    code = respx.post(f"{API}/api/personal-notices/5/code").respond(
        202, json={"phone": "010-****-6789", "expires_at": "x"}
    )
    read = respx.post(f"{API}/api/personal-notices/5/read")
    text, entities = button("notice_open", personal_notice_id="5")
    events, [message] = await run(ActionNoticeOpen(), tracker(text, "notice_open", entities))
    assert json.loads(code.calls.last.request.content) == WHO
    assert message["response"] == "utter_identity_code_sent" and message["phone"] == "010-****-6789"
    assert events == [
        SlotSet("personal_notice_id", "5"),
        SlotSet("otp_code", None),
        SlotSet("identity_code_sent", True),
    ]
    assert not read.called  # nothing of the content before the code


@respx.mock
async def test_a_notice_of_someone_else_cannot_be_opened():
    detail = "찾는 공인알림이 없어요."
    respx.post(f"{API}/api/personal-notices/7/code").respond(
        404, json={"detail": detail, "code": "personal_notice_not_found"}
    )
    text, entities = button("notice_open", personal_notice_id="7")
    events, [message] = await run(ActionNoticeOpen(), tracker(text, "notice_open", entities))
    assert message["text"] == detail and events == [SlotSet("identity_code_sent", False)]


@respx.mock
async def test_after_the_api_accepted_the_code_only_a_reference_to_the_notice_goes_through_rasa():
    wrong = {"detail": "인증번호가 맞지 않아요. 4번 더 입력할 수 있어요.", "code": "wrong_code"}
    confirm = respx.post(f"{API}/api/personal-notices/5/confirm").respond(422, json=wrong)
    read = respx.post(f"{API}/api/personal-notices/5/read")
    form, dispatcher = ValidateNoticeUnlockForm(), CollectingDispatcher()
    waiting = tracker("111111", "verify_code", personal_notice_id="5")
    assert await form.validate_otp_code("111111", dispatcher, waiting, DOMAIN) == {"otp_code": None}
    _, messages = await run(ActionShowPersonalNotice(), tracker(personal_notice_id="5", otp_code=None))
    assert messages[0]["response"] == "utter_identity_not_confirmed"
    assert payloads(messages[0]) == ['/notice_open{"personal_notice_id":"5"}']

    confirm.respond(200, json={"id": 5, "department": "세정과", "sent_at": "x", "read": False, "title": None})
    assert await form.validate_otp_code("482913", dispatcher, waiting, DOMAIN) == {"otp_code": "ok"}
    events, [message] = await run(
        ActionShowPersonalNotice(), tracker(personal_notice_id="5", otp_code="ok", language="en")
    )
    # Rasa's tracker store keeps every reply: this one names the notice and the chat it was unlocked in, and the
    # gateway fetches the content for that chat. Nothing of the letter is in it, nor was it fetched here.
    assert message["custom"] == {
        "confidential": True,
        "personal_notice_id": "5",
        "sender_id": "telegram:42",
        "language": "en",
    }
    assert message.get("text") is None and not read.called
    assert events == [
        SlotSet("otp_code", None),
        SlotSet("identity_code_sent", None),
        SlotSet("personal_notice_id", None),
    ]


async def test_stopping_forgets_everything_of_the_notice_flows():
    events, [message] = await run(ActionStopNoticeFlow(), tracker("그만", "stop"))
    assert message["response"] == "utter_notice_flow_stopped"
    assert events[0] == ActiveLoop(None)
    assert SlotSet("link_phone", None) in events and SlotSet("otp_code", None) in events
