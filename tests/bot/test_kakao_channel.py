"""The KakaoTalk skill endpoint with a stand-in router: the secret, the body limit, what a request becomes, and the
answer within Kakao's five seconds (useCallback and one POST to the callbackUrl, or an apology and the outbox)."""

import asyncio
import json

import httpx
import respx

from bot.gateway.app import create_app
from bot.gateway.channels.kakao import KakaoChannel, RetryWindow, SkillRequest
from bot.gateway.messages import Button, IncomingMessage, Reply
from bot.gateway.rate_limits import GatewayLimits
from bot.gateway.settings import GatewaySettings
from common.button_keys import button_key
from tests.support.kakao_limits import callback_body_breaches, skill_response_breaches
from tests.support.raw_http import TWO_MB
from tests.support.redis_server import temporary_prefix

SECRET = "kakao-skill-secret-for-the-tests-0123456789"
HEADERS = {"X-Kakao-Skill-Secret": SECRET}
USER = "1b2bfc8caf85a5dff8fadd1bf4cc70125b533fea7b665d0cdb0fb493a135e94b4d"
CALLBACK = "https://bot-api.kakao.com/v1/callback/one-time-token"
CLOSED_PORT = "http://127.0.0.1:9"
WAITING = {
    "ko": "답변을 준비하고 있어요. 잠시만 기다려 주세요",
    "en": "I'm preparing your answer. Just a moment, please",
}


class Router:
    """Stands in for the router: records each message and answers it, after `release` is set when one is given."""

    def __init__(self, replies: list[Reply] | None = None, release: asyncio.Event | None = None) -> None:
        self.handled: list[IncomingMessage] = []
        self.replies = [Reply(text="안녕하세요! 파주시 시민 도우미예요.")] if replies is None else replies
        self.release = release

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        self.handled.append(message)
        if self.release is not None:
            await self.release.wait()
        return self.replies


class Api:
    """Stands in for the api: keeps what was left in the outbox."""

    def __init__(self) -> None:
        self.outbox: list[dict] = []

    async def enqueue_outbox(self, channel: str, channel_user_id: str, text: str, **fields) -> None:
        self.outbox.append({"channel": channel, "channel_user_id": channel_user_id, "text": text, **fields})


def _settings(**changes) -> GatewaySettings:
    quiet = {"api_url": CLOSED_PORT, "rasa_url": CLOSED_PORT, "telegram_bot_token": "", "kakao_skill_secret": SECRET}
    return GatewaySettings(**quiet | changes)


def _gateway(router: Router, api: Api | None = None, **settings):
    """The gateway app without its lifespan, its Kakao channel over the stand-ins (made in the test's event loop)."""
    settings = _settings(**settings)
    app = create_app(settings)
    channel = KakaoChannel(settings, router, api or Api(), GatewayLimits(settings))
    app.state.kakao = channel
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test")
    return client, channel


def skill_request(
    utterance: str = "안녕하세요",
    *,
    user: str = USER,
    extra: dict | None = None,
    params: dict | None = None,
    detail_params: dict | None = None,
    callback: str | None = None,
    trigger: str = "TEXT_INPUT",
    lang: str = "ko",
    **user_request,
) -> dict:
    """A skill request as Kakao sends it from the fallback block."""
    block = {"id": "fallback-block", "name": "폴백 블록"}
    request = {
        "intent": block,
        "userRequest": {
            "timezone": "Asia/Seoul",
            "block": block,
            "utterance": utterance,
            "lang": lang,
            "user": {"id": user, "type": "botUserKey", "properties": {"botUserKey": user, "isFriend": True}},
            "params": {"surface": "Kakaotalk.plusfriend"},
            **({"callbackUrl": callback} if callback else {}),
            **user_request,
        },
        "bot": {"id": "paju-bot", "name": "파주시 시민 도우미"},
        "action": {
            "id": "paju-skill",
            "name": "paju",
            "params": params or {},
            "detailParams": detail_params or {},
            "clientExtra": extra or {},
        },
        "flow": {"trigger": {"type": trigger, "referrerBlock": block}, "lastBlock": block},
        "contexts": [],
    }
    return request


async def _ask(client: httpx.AsyncClient, body: dict, headers: dict | None = None) -> httpx.Response:
    return await client.post("/kakao/skill", json=body, headers=HEADERS if headers is None else headers)


def _only_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert skill_response_breaches(response.json()) == []
    [output] = response.json()["template"]["outputs"]
    return output["simpleText"]["text"]


async def test_a_request_without_the_secret_or_with_a_wrong_one_is_refused_with_403_and_never_handled():
    router = Router()
    client, _channel = _gateway(router)
    async with client:
        assert (await _ask(client, skill_request(), headers={})).status_code == 403
        assert (await _ask(client, skill_request(), headers={"X-Kakao-Skill-Secret": SECRET[:-1]})).status_code == 403
        assert (await _ask(client, skill_request(), headers={"X-Other": SECRET})).status_code == 403
    assert router.handled == []


async def test_without_a_configured_secret_the_skill_accepts_nothing():
    router = Router()
    settings = _settings(kakao_skill_secret="")
    app = create_app(settings)
    app.state.kakao = KakaoChannel(settings, router, Api())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as client:
        assert (await _ask(client, skill_request(), headers={"X-Kakao-Skill-Secret": ""})).status_code == 403
        app.state.kakao = None  # the channel is off: what the app does without KAKAO_SKILL_SECRET
        assert (await _ask(client, skill_request())).status_code == 403
    assert router.handled == []


async def test_the_secret_header_name_is_a_setting():
    client, _channel = _gateway(Router(), kakao_skill_secret_header="X-Paju-Secret")
    async with client:
        assert (await _ask(client, skill_request())).status_code == 403
        assert (await _ask(client, skill_request(), headers={"X-Paju-Secret": SECRET})).status_code == 200


async def test_an_oversized_skill_request_is_refused_with_413_and_never_handled():
    router = Router()
    client, _channel = _gateway(router)
    async with client:
        refused = await _ask(client, skill_request("가" * TWO_MB))
    assert refused.status_code == 413
    assert router.handled == []


async def test_a_body_that_is_not_a_skill_request_is_refused_with_400():
    client, _channel = _gateway(Router())
    async with client:
        assert (await _ask(client, {"userRequest": {"user": {"id": "x" * 71}}})).status_code == 400
        assert (await _ask(client, {"userRequest": {"user": {"id": "bad key!"}}})).status_code == 400
        not_json = await client.post("/kakao/skill", content=b"{", headers=HEADERS)
        assert not_json.status_code == 400


async def test_a_message_becomes_the_gateways_message_of_the_kakao_user_and_its_answer_a_skill_response():
    router = Router()
    client, _channel = _gateway(router)
    async with client:
        answered = await _ask(client, skill_request("DMZ 투어 예약하고 싶어요"))
    assert _only_text(answered) == "안녕하세요! 파주시 시민 도우미예요."
    [message] = router.handled
    assert (message.channel, message.channel_user_id, message.sender_id) == ("kakao", USER, f"kakao:{USER}")
    assert (message.text, message.language_hint, message.payload, message.location) == (
        "DMZ 투어 예약하고 싶어요",
        "ko",
        None,
        None,
    )


async def test_the_message_id_is_kakaos_own_when_given_else_a_retry_within_ten_seconds_keeps_the_first_id():
    router = Router()
    client, _channel = _gateway(router)
    async with client:
        await _ask(client, skill_request("안녕", messageId="kakao-message-42"))
        await _ask(client, skill_request("안녕"))
        await _ask(client, skill_request("안녕"))  # delivered again: the same message
        await _ask(client, skill_request("안녕하세요"))
    ids = [message.channel_message_id for message in router.handled]
    assert ids[0] == "m:kakao-message-42"
    assert ids[1] == ids[2] and ids[1].startswith("h:") and ids[3] != ids[1]
    again, retries = SkillRequest(user_id=USER, utterance="안녕"), RetryWindow(10)
    first = await retries.message_id(again, 1_009.9)
    # A retry 0.2 s later is the same message even across a multiple of 10 s; ten seconds after the first, a new one.
    assert await retries.message_id(again, 1_010.1) == first and await retries.message_id(again, 1_019.8) == first
    assert await retries.message_id(again, 1_019.9) != first
    assert await retries.message_id(SkillRequest(user_id="other", utterance="안녕"), 1_010.0) != first


async def test_a_kakao_retry_reaching_another_gateway_replica_is_the_same_message_through_redis():
    with temporary_prefix() as (url, prefix):
        replicas = [RetryWindow(1, redis_url=url, key_prefix=prefix) for _ in range(2)]
        request = SkillRequest(user_id=USER, utterance="예약할래요")
        first = await replicas[0].message_id(request, 100.0)
        assert await replicas[1].message_id(request, 100.4) == first  # Kakao's retry, answered by the other replica
        await asyncio.sleep(1.1)  # the window (1 s here) has passed: the same words are a new message
        assert await replicas[1].message_id(request, 101.6) != first
        for window in replicas:
            await window.close()


async def test_the_kakao_retry_window_stands_in_locally_when_redis_is_down():
    window = RetryWindow(10, redis_url="redis://127.0.0.1:9/0")
    request = SkillRequest(user_id=USER, utterance="안녕")
    first = await window.message_id(request, 5.0)
    assert await window.message_id(request, 5.5) == first
    await window.close()


async def test_a_pressed_button_brings_back_its_payload_or_its_short_key_in_client_extra():
    long = '/inform{"tour_date":"2026-12-05","run_id":"1234","note":"a payload too long for the extra"}'
    title = "14:40 도보 · 40석"
    router = Router(replies=[Reply(text="회차를 골라 주세요", buttons=[Button(title=title, payload=long)])])
    client, _channel = _gateway(router)
    async with client:
        offered = (await _ask(client, skill_request("예약"))).json()
        [quick] = offered["template"]["quickReplies"]
        assert quick["extra"] == {"payload": button_key(long)} and quick["messageText"] == title
        trigger = "QUICKREPLY_BUTTON_MESSAGE"
        await _ask(client, skill_request(quick["messageText"], extra=quick["extra"], trigger=trigger))
        await _ask(client, skill_request("동의합니다", extra={"payload": "/affirm"}, trigger=trigger))
    pressed_key, pressed_payload = router.handled[1:]
    assert (pressed_key.payload_key, pressed_key.payload, pressed_key.text) == (button_key(long), None, title)
    assert (pressed_payload.payload, pressed_payload.payload_key) == ("/affirm", None)


async def test_a_location_from_a_plugin_becomes_the_location_telegram_sends_for_a_shared_location():
    router = Router()
    client, _channel = _gateway(router)
    async with client:
        await _ask(client, skill_request("", params={"latitude": "37.7599", "longitude": "126.7802"}))
        detail = {"latitude": {"origin": "37.5", "value": "37.5"}, "longitude": {"origin": "126.9", "value": "126.9"}}
        await _ask(client, skill_request("내 위치", detail_params=detail))
        await _ask(client, skill_request("여기", params={"latitude": "200", "longitude": "126.9"}))
    assert [message.location for message in router.handled] == [(37.7599, 126.7802), (37.5, 126.9), None]


async def test_a_video_or_file_link_gets_a_polite_reply_in_the_users_language_and_is_never_handled():
    router = Router()
    client, _channel = _gateway(router)
    async with client:
        link = await _ask(client, skill_request("http://dn-m.talk.kakao.com/talkm/bl4ah/video.mp4"))
        english = await _ask(client, skill_request("https://k.kakaocdn.net/dn/abc/file.pdf", lang="en"))
    assert _only_text(link).startswith("저는 글, 위치, 사진만 읽을 수 있어요.")
    assert _only_text(english).startswith("I can read text, locations and photos only.")
    assert router.handled == []


async def test_a_message_for_the_staff_inbox_is_acknowledged_since_kakao_needs_a_response():
    client, _channel = _gateway(Router(replies=[]))
    async with client:
        answered = await _ask(client, skill_request("담당자님 답변 기다릴게요"))
    assert _only_text(answered).startswith("담당 직원에게 전달했어요.")


async def test_the_fourth_message_of_one_kakao_user_in_a_minute_is_refused_with_a_polite_text_and_never_handled():
    router = Router()
    client, _channel = _gateway(router, rate_limit_kakao_per_user="3/minute")
    async with client:
        for n in range(3):
            await _ask(client, skill_request(f"질문 {n}"))
        refused = await _ask(client, skill_request("네 번째"))
        other = await _ask(client, skill_request("안녕", user="another-user-key"))
    assert _only_text(refused).startswith("요청이 너무 많아요.")
    assert other.status_code == 200 and len(router.handled) == 4


async def test_the_rest_of_a_long_answer_comes_with_more_for_this_user_only():
    long = " ".join(f"{n}번째 안내 문장이에요." for n in range(250))  # four simpleTexts: one is left for page two
    client, _channel = _gateway(Router(replies=[Reply(text=long)]))
    async with client:
        first = (await _ask(client, skill_request("안내해 주세요"))).json()
        [more] = first["template"]["quickReplies"]
        trigger = "QUICKREPLY_BUTTON_MESSAGE"
        second = (await _ask(client, skill_request("더 보기", extra=more["extra"], trigger=trigger))).json()
        stolen = await _ask(client, skill_request("더 보기", user="someone-else", extra=more["extra"]))
        forged = await _ask(client, skill_request("더 보기", extra={"more": more["extra"]["more"][:-1] + "0"}))
    assert skill_response_breaches(second) == []
    assert more["label"] == "더 보기" and "quickReplies" not in second["template"]
    texts = [o["simpleText"]["text"] for page in (first, second) for o in page["template"]["outputs"]]
    assert len(texts) == 4 and " ".join(texts) == long
    assert _only_text(stolen).startswith("이 버튼은 더 이상 사용할 수 없어요.")
    assert _only_text(forged).startswith("이 버튼은 더 이상 사용할 수 없어요.")


async def test_a_slow_turn_with_a_callback_url_is_answered_at_once_with_use_callback_then_posted_once():
    release = asyncio.Event()
    api = Api()
    client, channel = _gateway(Router(release=release), api, kakao_skill_deadline_seconds=0.2)
    with respx.mock(assert_all_called=True) as kakao:
        callback = kakao.post(CALLBACK).respond(200, json={"taskId": "task-1", "status": "SUCCESS"})
        async with client:
            waiting = await _ask(client, skill_request("4월 외국인 관광객 수는?", callback=CALLBACK))
        assert waiting.json() == {"version": "2.0", "useCallback": True, "data": {"text": WAITING["ko"]}}
        assert skill_response_breaches(waiting.json(), callback_offered=True) == []
        assert not callback.called
        release.set()
        await channel.stop()
    assert callback.call_count == 1
    posted = json.loads(callback.calls.last.request.content)
    assert callback_body_breaches(posted) == []
    assert posted["template"]["outputs"] == [{"simpleText": {"text": "안녕하세요! 파주시 시민 도우미예요."}}]
    assert api.outbox == []


WAITING = {
    "ko": "답변을 준비하고 있어요. 잠시만 기다려 주세요",
    "en": "I'm preparing your answer. Just a moment, please",
}


async def test_an_english_user_waits_in_english():
    release = asyncio.Event()
    client, channel = _gateway(Router(release=release), kakao_skill_deadline_seconds=0.1)
    with respx.mock() as kakao:
        kakao.post(CALLBACK).respond(200, json={"status": "SUCCESS"})
        async with client:
            waiting = await _ask(client, skill_request("How many foreign visitors came in April?", callback=CALLBACK))
        release.set()
        await channel.stop()
    assert waiting.json()["data"]["text"] == WAITING["en"]


async def test_when_the_callback_fails_the_answer_is_left_in_the_outbox_instead():
    release = asyncio.Event()
    api = Api()
    client, channel = _gateway(Router(release=release), api, kakao_skill_deadline_seconds=0.1)
    with respx.mock() as kakao:
        callback = kakao.post(CALLBACK).respond(400, json={"status": "FAIL", "message": "Invalid callback token."})
        async with client:
            await _ask(client, skill_request("안녕하세요", callback=CALLBACK))
        release.set()
        await channel.stop()
    assert callback.call_count == 1, "a callback URL is used once"
    [left] = api.outbox
    assert (left["channel"], left["channel_user_id"]) == ("kakao", USER)
    assert left["text"] == "안녕하세요! 파주시 시민 도우미예요."
    assert left["kind"] == "late_answer" and left["dedupe_key"].startswith(f"kakao-late:{USER}:h:")


async def test_a_slow_turn_without_a_callback_url_gets_an_apology_in_time_and_the_answer_through_the_outbox():
    release = asyncio.Event()
    api = Api()
    buttons = [Button(title="도움말", payload="/help")]
    router = Router([Reply(text="늦은 답변이에요.", buttons=buttons)], release)
    client, channel = _gateway(router, api, kakao_skill_deadline_seconds=0.1)
    async with client:
        apology = await _ask(client, skill_request("안녕하세요"))
    assert _only_text(apology).startswith("죄송해요, 답변을 준비하는 데 시간이 걸리고 있어요.")
    assert api.outbox == []
    release.set()
    await channel.stop()
    [left] = api.outbox
    assert left["text"] == "늦은 답변이에요." and left["buttons"] == [{"title": "도움말", "payload": "/help"}]


async def test_a_callback_url_outside_kakaos_hosts_is_never_posted_to_and_the_answer_takes_the_outbox():
    release = asyncio.Event()
    api = Api()
    client, channel = _gateway(
        Router([Reply(text="예약자 홍*동 님의 예약이에요.")], release), api, kakao_skill_deadline_seconds=0.1
    )
    with respx.mock(assert_all_called=False) as anywhere:
        elsewhere = anywhere.post(url__regex=r".*").respond(200, json={"status": "SUCCESS"})
        async with client:
            for url in ("http://169.254.169.254/latest/meta-data", "http://bot-api.kakao.com/v1/callback/t"):
                answer = await _ask(client, skill_request(f"안녕 {url[-4:]}", callback=url))
                assert "useCallback" not in answer.json()
            release.set()
            await channel.stop()
    assert not elsewhere.called
    assert [left["text"] for left in api.outbox] == ["예약자 홍*동 님의 예약이에요."] * 2
