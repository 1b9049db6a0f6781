"""Messages the city sends reach KakaoTalk users through Kakao's Event API, with the outbox's retries and
unreachable marking: what is posted, and what each of Kakao's answers comes to."""

import json

import httpx
import respx

from bot.gateway.channels.kakao_events import KakaoEventApi, event_text
from bot.gateway.outbox import OutboxWorker
from bot.gateway.settings import GatewaySettings
from tests.support.kakao_limits import event_breaches

BASE = "https://bot-api.kakao.test"
TALK = f"{BASE}/v2/bots/paju-bot-id/talk"
USER = "1b2bfc8caf85a5dff8fadd1bf4cc70125b533fea7b665d0cdb0fb493a135e94b4d"


def _events() -> KakaoEventApi:
    return KakaoEventApi(BASE, "paju-bot-id", "rest-api-key-0123", "paju_message")


def _message(text: str = "담당자 답변입니다: 내일 10시 회차는 운영해요.", **fields) -> dict:
    return {
        "id": 7,
        "channel": "kakao",
        "channel_user_id": USER,
        "language": "ko",
        "text": text,
        "attempts": 1,
        **fields,
    }


@respx.mock
async def test_an_outbox_message_is_posted_as_the_named_event_to_the_users_bot_user_key():
    route = respx.post(TALK).respond(200, json={"taskId": "task-1", "status": "SUCCESS", "timestamp": 1})
    delivery = await _events().deliver(_message())
    assert (delivery.status, delivery.channel_message_id) == ("delivered", "task-1")
    request = route.calls.last.request
    assert request.headers["Authorization"] == "KakaoAK rest-api-key-0123"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.content)
    assert body == {
        "event": {"name": "paju_message", "data": {"text": "담당자 답변입니다: 내일 10시 회차는 운영해요."}},
        "user": [{"type": "botUserKey", "id": USER}],
    }
    assert event_breaches(body) == []


@respx.mock
async def test_a_long_message_goes_as_several_events_of_at_most_1000_characters_and_buttons_are_listed():
    route = respx.post(TALK).respond(200, json={"taskId": "t", "status": "SUCCESS"})
    text = " ".join(f"{n}번째 문장이에요." for n in range(150))
    buttons = [{"title": "예약 확인", "payload": "/my_bookings"}, {"title": "도움말", "payload": "/help"}]
    delivery = await _events().deliver(_message(text, buttons=buttons))
    sent = [json.loads(call.request.content)["event"]["data"]["text"] for call in route.calls]
    assert delivery.status == "delivered" and len(sent) == 2
    assert all(len(part) <= 1000 for part in sent)
    assert sent[-1].endswith("다음 중 하나를 보내 주세요:\n· 예약 확인\n· 도움말")


@respx.mock
async def test_a_4xx_for_a_user_kakao_does_not_know_marks_the_citizen_unreachable():
    respx.post(TALK).respond(400, json={"status": "FAIL", "message": "invalid user"})
    delivery = await _events().deliver(_message())
    assert delivery.status == "unreachable" and "invalid user" in delivery.error


@respx.mock
async def test_a_5xx_a_timeout_or_a_refused_key_is_retried_and_a_429_after_kakaos_wait():
    route = respx.post(TALK)
    route.side_effect = [
        httpx.Response(503, text="busy"),
        httpx.ConnectTimeout("timed out"),
        httpx.Response(401, json={"message": "invalid appkey"}),
        httpx.Response(429, headers={"Retry-After": "30"}),
        httpx.Response(200, json={"status": "FAIL", "message": "not accepted"}),
    ]
    events = _events()
    deliveries = [await events.deliver(_message()) for _ in range(5)]
    assert [d.status for d in deliveries] == ["retry"] * 5
    assert deliveries[3].retry_after == 30
    assert "ConnectTimeout" in deliveries[1].error and "not accepted" in deliveries[4].error


class Api:
    """Stands in for the api's outbox routes: hands out claimed messages, keeps the reported results."""

    def __init__(self, claimed: list[dict]) -> None:
        self.claimed = claimed
        self.reports: list[tuple[int, dict]] = []
        self.channels: list[list[str]] = []

    async def claim_outbox(self, channels: list[str], limit: int, lease_seconds: int) -> list[dict]:
        self.channels.append(channels)
        claimed, self.claimed = self.claimed, []
        return claimed

    async def report_delivery(self, outbox_id: int, result: dict) -> bool:
        self.reports.append((outbox_id, result))
        return True


@respx.mock
async def test_the_outbox_worker_claims_kakao_messages_and_reports_each_result_as_for_telegram():
    respx.post(TALK).mock(
        side_effect=lambda request: (
            httpx.Response(404, text="unknown user")
            if json.loads(request.content)["user"][0]["id"] == "gone-user"
            else httpx.Response(200, json={"taskId": "task-9", "status": "SUCCESS"})
        )
    )
    api = Api([_message(), {**_message(), "id": 8, "channel_user_id": "gone-user"}])
    worker = OutboxWorker(api, {"kakao": _events()}, poll_seconds=1, batch=20)
    assert await worker.deliver_due() == 2
    assert api.channels == [["kakao"]]
    assert sorted(api.reports, key=lambda report: report[0]) == [
        (7, {"status": "delivered", "channel_message_id": "task-9", "attempt": 1}),
        (8, {"status": "unreachable", "error": "Kakao answered 404: unknown user", "attempt": 1}),
    ]


def test_without_the_bot_id_or_the_rest_api_key_there_is_no_event_sender():
    assert KakaoEventApi.from_settings(GatewaySettings(kakao_bot_id="bot")) is None
    assert KakaoEventApi.from_settings(GatewaySettings(kakao_rest_api_key="key")) is None
    assert KakaoEventApi.from_settings(GatewaySettings(kakao_bot_id="bot", kakao_rest_api_key="key")) is not None


def test_an_event_message_writes_a_link_as_its_address_and_lists_the_other_buttons_to_send():
    buttons = [
        {"title": "자세히 보기", "payload": "https://www.paju.go.kr/notice/1"},
        {"title": "위험", "payload": "javascript:alert(1)"},
        {"title": "도움말", "payload": "/help"},
    ]
    text = event_text(_message("공지가 올라왔어요.", buttons=buttons))
    assert text == (
        "공지가 올라왔어요.\n\n자세히 보기: https://www.paju.go.kr/notice/1\n\n다음 중 하나를 보내 주세요:\n· 도움말"
    )
