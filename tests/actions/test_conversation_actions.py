import httpx
import pytest
import respx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiClient
from actions.conversation import ActionNotUnderstood, ActionRequestHuman, format_opening, guess_department
from actions.vocabulary import Departments

API = "http://api.test"


def _user(intent: str, text: str = "...") -> dict:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.9}}}


def tracker(text: str, events: list[dict] | None = None, language: str = "ko") -> Tracker:
    events = events if events is not None else [_user("request_human", text)]
    return Tracker(
        sender_id="telegram:123456789",
        slots={"language": language},
        latest_message={"text": text, "intent": events[-1]["parse_data"]["intent"], "entities": []},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def _ticket(**overrides) -> dict:
    return {
        "id": 7,
        "status": "waiting",
        "reason": "request_human",
        "department": "tourism",
        "requested_at": "2026-11-25T01:00:00Z",
        "waiting_ahead": 2,
        "expected_wait_minutes": 10,
        "office_open": True,
        "next_opening": None,
        **overrides,
    }


@respx.mock
async def test_in_office_hours_the_citizen_hears_their_place_and_the_expected_wait_and_the_dialogue_pauses():
    route = respx.post(f"{API}/api/conversations/handoffs").respond(201, json=_ticket())
    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman(ApiClient(API, "svc-token")).run(dispatcher, tracker("상담원 연결"), {})

    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer svc-token"
    body = request.content.replace(b" ", b"")
    assert b'"channel_user_id":"123456789"' in body and b'"channel":"telegram"' in body
    [message] = dispatcher.messages
    assert (message["response"], message["waiting_ahead"], message["expected_wait"]) == ("utter_handoff_queued", 2, 10)
    assert events == [{"event": "pause", "timestamp": None}]


@respx.mock
async def test_after_hours_the_citizen_is_told_when_someone_will_reply_in_their_language():
    respx.post(f"{API}/api/conversations/handoffs").respond(
        201, json=_ticket(office_open=False, next_opening="2026-11-30T09:00:00+09:00")
    )
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman(ApiClient(API, "t")).run(dispatcher, tracker("person please", language="en"), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff_after_hours"
    assert message["next_opening"] == "Mon 30 Nov, 09:00"
    assert format_opening("2026-11-30T09:00:00+09:00", "ko") == "11월 30일(월) 09:00"


@respx.mock
@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.Response(503)])
async def test_request_human_retries_once_then_apologises_when_the_api_is_down(failure):
    route = respx.post(f"{API}/api/conversations/handoffs")
    route.side_effect = [failure, failure]
    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman(ApiClient(API, "svc-token")).run(dispatcher, tracker("상담원"), {})
    assert route.call_count == 2
    assert events == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_service_unavailable"]


def test_the_department_is_guessed_from_what_the_citizen_asked_before():
    known = Departments(("tourism", "civil_affairs", "open_data"), default="civil_affairs")
    touring = [_user("greet"), _user("book_tour"), _user("inform"), _user("request_human")]
    assert guess_department(tracker("상담원", touring), known) == "tourism"
    assert guess_department(tracker("상담원", [_user("facility_nearby"), _user("request_human")]), known) == "open_data"
    assert guess_department(tracker("상담원", [_user("greet"), _user("request_human")]), known) == "civil_affairs"
    # What came before a restart (an earlier handoff) does not count.
    restarted = [_user("book_tour"), {"event": "restart"}, _user("request_human")]
    assert guess_department(tracker("상담원", restarted), known) == "civil_affairs"
    # A department the api no longer has is not asked for: its default is.
    assert (
        guess_department(tracker("상담원", touring), Departments(("civil_affairs",), "civil_affairs"))
        == "civil_affairs"
    )


@respx.mock
async def test_the_first_misunderstanding_offers_the_menu_and_nobody_is_called():
    route = respx.post(f"{API}/api/conversations/handoffs").respond(201, json=_ticket())
    dispatcher = CollectingDispatcher()
    events = [_user("greet"), _user("nlu_fallback", "ㅁㄴㅇㄹ")]
    result = await ActionNotUnderstood(ApiClient(API, "t")).run(dispatcher, tracker("ㅁㄴㅇㄹ", events), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_default"]
    assert result == [] and not route.called


@respx.mock
async def test_the_second_misunderstanding_in_a_row_brings_in_a_person():
    route = respx.post(f"{API}/api/conversations/handoffs").respond(201, json=_ticket(department="civil_affairs"))
    dispatcher = CollectingDispatcher()
    events = [_user("greet"), _user("nlu_fallback", "ㅁㄴㅇㄹ"), _user("nlu_fallback", "ㅋㅋㅋ")]
    result = await ActionNotUnderstood(ApiClient(API, "t")).run(dispatcher, tracker("ㅋㅋㅋ", events), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_still_not_understood", "utter_handoff_queued"]
    assert b'"reason":"two_fallbacks"' in route.calls.last.request.content.replace(b" ", b"")
    assert result == [{"event": "pause", "timestamp": None}]
