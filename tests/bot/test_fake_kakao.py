"""The fake Kakao platform against a tiny skill server: the requests it builds, the answers it checks, the callback
and Event API calls it takes, so the end-to-end tests can trust it."""

import json
import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.fake_kakao import FakeKakao, bot_user_key
from tests.support.fake_telegram import LoopbackServer
from tests.support.kakao_chat import KakaoChat

ASK_DAY = {
    "version": "2.0",
    "template": {
        "outputs": [{"simpleText": {"text": "언제 방문하실 건가요?"}}],
        "quickReplies": [
            {"label": "내일", "action": "message", "messageText": "내일", "extra": {"payload": "/inform"}},
            {"label": "예약 그만", "action": "message", "messageText": "그만할래요"},
        ],
    },
}


class SkillServer:
    """Stands in for the gateway: answers each request with the next planned answer and records what came."""

    def __init__(self, fake: FakeKakao) -> None:
        self.fake = fake
        self.received: list[tuple[dict, dict]] = []
        self.answers: list[dict] = []
        self.later: dict | None = None  # when set: answer useCallback, then post this to the callback URL
        self._server = LoopbackServer(Starlette(routes=[Route("/kakao/skill", self._skill, methods=["POST"])]))

    async def _skill(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        self.received.append((body, dict(request.headers)))
        if request.headers.get(self.fake.secret_header.lower()) != self.fake.skill_secret:
            return JSONResponse({"detail": "wrong skill secret"}, status_code=403)
        if self.later is not None and "callbackUrl" in body["userRequest"]:
            # The real answer follows on the callback URL, a moment after the useCallback answer.
            url, later = body["userRequest"]["callbackUrl"], self.later
            threading.Timer(0.3, lambda: httpx.post(url, json=later)).start()
            return JSONResponse({"version": "2.0", "useCallback": True, "data": {"text": "잠시만 기다려 주세요"}})
        return JSONResponse(self.answers.pop(0) if self.answers else ASK_DAY)

    def __enter__(self) -> "SkillServer":
        self._server.start()
        self.fake.connect(f"http://127.0.0.1:{self._server.port}")
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop()


@pytest.fixture
def fake():
    kakao = FakeKakao().start()
    yield kakao
    kakao.stop()


@pytest.fixture
def skill(fake):
    with SkillServer(fake) as server:
        yield server


def test_a_text_request_carries_what_the_bot_engine_sends_and_the_secret_header(fake, skill):
    chat = KakaoChat(fake, "서연", callback=False)
    outputs = chat.say("DMZ 투어 예약하고 싶어요")
    body, headers = skill.received[0]
    assert headers["x-kakao-skill-secret"] == fake.skill_secret
    user_request = body["userRequest"]
    assert user_request["utterance"] == "DMZ 투어 예약하고 싶어요"
    assert (user_request["lang"], user_request["timezone"]) == ("ko", "Asia/Seoul")
    assert user_request["user"]["type"] == "botUserKey" and user_request["user"]["id"] == bot_user_key("서연")
    assert len(user_request["user"]["id"]) <= 70
    assert "callbackUrl" not in user_request
    assert body["bot"]["id"] == fake.bot_id and body["flow"]["trigger"]["type"] == "TEXT_INPUT"
    assert set(body["action"]) == {"id", "name", "params", "detailParams", "clientExtra"}
    assert outputs == ASK_DAY["template"]["outputs"] and chat.replies == ["언제 방문하실 건가요?"]
    assert fake.new_breaches() == []


def test_pressing_a_quick_reply_sends_its_message_text_and_its_extra(fake, skill):
    chat = KakaoChat(fake, "민준", language="en", callback=False)
    chat.say("book a tour")
    chat.press("예약 그만")
    chat.press(0)
    stop, tomorrow = (body for body, _ in skill.received[1:])
    assert stop["userRequest"]["utterance"] == "그만할래요" and stop["action"]["clientExtra"] == {}
    assert tomorrow["userRequest"]["utterance"] == "내일"
    assert tomorrow["action"]["clientExtra"] == {"payload": "/inform"}
    assert tomorrow["flow"]["trigger"]["type"] == "QUICKREPLY_BUTTON_MESSAGE"
    assert tomorrow["userRequest"]["lang"] == "en"
    with pytest.raises(AssertionError, match="no button '취소'"):
        chat.press("취소")


def test_a_photo_arrives_as_a_secure_image_parameter_whose_address_serves_the_image(fake, skill):
    KakaoChat(fake, "지우", callback=False).send_photo()
    body, _ = skill.received[0]
    image = json.loads(body["action"]["params"]["secureimage"])
    assert image["privacyAgreement"] == "Y" and image["imageQuantity"] == "1"
    url = image["secureUrls"].removeprefix("List(").removesuffix(")")
    assert httpx.get(url).content.startswith(b"\x89PNG")
    assert body["action"]["detailParams"]["secureimage"]["value"] == body["action"]["params"]["secureimage"]


def test_a_location_arrives_as_a_parameter(fake, skill):
    KakaoChat(fake, "하은", callback=False).share_location(37.7142, 126.7615)
    params = skill.received[0][0]["action"]["params"]
    assert (float(params["latitude"]), float(params["longitude"])) == (37.7142, 126.7615)


def test_an_answer_past_the_limits_is_recorded_as_a_breach(fake, skill):
    skill.answers.append({"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "가" * 1001}}]}})
    KakaoChat(fake, "도윤", callback=False).say("안녕")
    [breach] = fake.new_breaches()
    assert "answer to '안녕'" in breach and "1001 characters" in breach
    assert fake.new_breaches() == [], "each breach is reported once"


def test_a_use_callback_answer_is_followed_to_the_body_posted_once_to_its_callback_url(fake, skill):
    skill.later = {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "2024년 외국인 관광객은 …"}}]}}
    chat = KakaoChat(fake, "서연")
    outputs = chat.say("2024년 외국인 관광객 수")
    assert chat.exchange.used_callback and outputs == skill.later["template"]["outputs"]
    again = httpx.post(chat.exchange.request["userRequest"]["callbackUrl"], json=skill.later)
    assert again.status_code == 400 and again.json()["status"] == "FAIL"
    assert [call.status for call in fake.callbacks_for(chat.exchange)] == [200, 400]
    [breach] = fake.new_breaches()
    assert breach.endswith("callbackUrl used a second time")


def test_use_callback_without_a_callback_url_is_a_breach(fake, skill):
    skill.answers.append({"version": "2.0", "useCallback": True, "data": {"text": "잠시만요"}})
    assert fake.send(fake.text(bot_user_key("민준"), "차트 보여줘")).used_callback
    assert fake.new_breaches() == ["answer to '차트 보여줘': useCallback without a callbackUrl in the request"]


def test_a_wrong_or_missing_secret_gets_the_refusal_and_counts_no_breach(fake, skill):
    request = fake.text(bot_user_key("지우"), "안녕")
    assert fake.send(request, secret="wrong").status == 403
    assert fake.send(request, secret="").status == 403
    assert fake.secret_header.lower() not in skill.received[1][1]
    assert fake.new_breaches() == []


def test_the_event_api_takes_a_call_with_the_rest_api_key_and_refuses_a_wrong_one(fake):
    url = f"{fake.base_url}/v2/bots/{fake.bot_id}/talk"
    user = bot_user_key("하은")
    body = {"event": {"name": "paju_message", "data": {"text": "파주시 관광과입니다."}}, "user": [
        {"type": "botUserKey", "id": user}]}  # fmt: skip
    accepted = httpx.post(url, json=body, headers={"Authorization": f"KakaoAK {fake.rest_api_key}"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "SUCCESS" and accepted.json()["taskId"]
    [event] = fake.events_for(user)
    assert "파주시 관광과입니다." in event.text
    refused = httpx.post(url, json=body, headers={"Authorization": "KakaoAK wrong"})
    assert refused.status_code == 401
    other_bot = httpx.post(
        f"{fake.base_url}/v2/bots/000000000000000000000000/talk",
        json=body,
        headers={"Authorization": f"KakaoAK {fake.rest_api_key}"},
    )
    assert other_bot.status_code == 404
    assert len(fake.new_breaches()) == 2
