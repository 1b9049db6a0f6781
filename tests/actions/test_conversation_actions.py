import httpx
import pytest
import respx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiClient
from actions.conversation import ActionRequestHuman

API = "http://api.test"


def tracker(text: str) -> Tracker:
    return Tracker(
        sender_id="telegram:123456789",
        slots={"language": "ko"},
        latest_message={"text": text, "intent": {"name": "request_human", "confidence": 0.99}, "entities": []},
        events=[{"event": "user", "text": text}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@respx.mock
async def test_request_human_queues_a_handoff_with_the_service_token_and_tells_the_queue_place():
    route = respx.post(f"{API}/api/conversations/handoffs").respond(
        201, json={"id": 7, "status": "waiting", "reason": "request_human", "requested_at": "x", "waiting_ahead": 2}
    )
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman(ApiClient(API, "svc-token")).run(dispatcher, tracker("상담원 연결"), {})

    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer svc-token"
    assert b'"channel_user_id":"123456789"' in request.content.replace(b" ", b"")
    assert b'"channel":"telegram"' in request.content.replace(b" ", b"")
    assert dispatcher.messages[0]["response"] == "utter_handoff_requested"
    assert dispatcher.messages[0]["waiting_ahead"] == 2


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
