"""The gateway's router against the real api app (in process) with Rasa down or the api down."""

import asyncio
import json
import re
import uuid
from datetime import timedelta

import httpx
import pytest
import time_machine
from sqlalchemy import select

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from api.training.models import InboxItem
from bot.gateway.api_client import ApiClient, ApiUnavailable
from bot.gateway.messages import Button, IncomingMessage, Reply
from bot.gateway.own_replies import own_reply
from bot.gateway.rasa_client import RasaClient
from bot.gateway.router import MessageRouter, TurnInProgress
from common.clock import utcnow

TOKEN = "router-test-token-0123456789"
CLOSED_PORT = "http://127.0.0.1:9"


@pytest.fixture
def api_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, service_token=TOKEN))
    yield app
    app.state.engine.dispose()


def _router(api_app, rasa_url: str = CLOSED_PORT) -> tuple[MessageRouter, ApiClient]:
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    return MessageRouter(api, RasaClient(rasa_url, 2), max_nlu_chars=1000), api


def _message(text: str, user: str = "citizen-1", payload: str | None = None) -> IncomingMessage:
    return IncomingMessage("web", user, uuid.uuid4().hex, text=text, payload=payload)


async def test_when_rasa_is_down_the_citizen_is_told_politely_and_the_message_is_kept(api_app):
    router, api = _router(api_app)
    replies = await router.handle(_message("hello"))
    assert replies[0].text.startswith("Sorry, the assistant cannot answer right now")
    transcript = await api.transcript("web", "citizen-1")
    assert [(m["direction"], m["text"]) for m in transcript] == [("in", "hello"), ("out", replies[0].text)]


async def test_when_the_api_is_down_nothing_is_sent_on_and_the_channel_is_told_to_retry():
    api = ApiClient(CLOSED_PORT, TOKEN, 2)
    router = MessageRouter(api, RasaClient(CLOSED_PORT, 2), max_nlu_chars=1000)
    with pytest.raises(ApiUnavailable):
        await router.handle(_message("안녕하세요"))


async def test_one_citizens_quick_messages_are_each_answered_before_the_next_is_handled(api_app):
    router, api = _router(api_app)
    texts = [f"메시지 {n}" for n in range(5)]
    await asyncio.gather(*(router.handle(_message(text)) for text in texts))
    transcript = await api.transcript("web", "citizen-1")
    assert [m["text"] for m in transcript if m["direction"] == "in"] == texts
    assert [m["direction"] for m in transcript] == ["in", "out"] * 5


async def test_a_pressed_button_is_recorded_with_its_title_and_payload(api_app):
    router, api = _router(api_app)
    await router.handle(_message("도움말", payload="/help"))
    incoming = (await api.transcript("web", "citizen-1"))[0]
    assert incoming["text"] == "도움말"
    assert incoming["payload"] == {"button": "/help"}


async def test_a_button_the_assistant_never_offered_is_refused_politely(api_app):
    router, _api = _router(api_app)
    replies = await router.handle(_message("예약 확정", payload='/book_tour{"party": {"adult": 99}}'))
    assert replies[0].text.startswith("이 버튼은 더 이상 사용할 수 없어요")


async def test_a_button_the_assistant_offered_goes_on_to_the_assistant(api_app):
    router, api = _router(api_app)
    turn = await api.begin_turn(_message("안녕"), "안녕", "ko")
    await api.end_turn(turn["message_id"], [Reply(text="메뉴", buttons=[Button(title="도움말", payload="/help")])])
    replies = await router.handle(_message("도움말", payload="/help"))
    # Rasa is down in this test: the press got past the gateway's check to the assistant.
    assert "상담봇이 잠시 응답하지 못하고" in replies[0].text


async def test_the_language_command_offers_a_choice_and_the_choice_decides_the_reply_language(api_app):
    router, _api = _router(api_app)
    [menu] = await router.handle(IncomingMessage("telegram", "77", "1", text="/language", command="language"))
    assert [button.title for button in menu.buttons] == ["한국어", "English", "자동"]

    english = menu.buttons[1]
    [chosen] = await router.handle(IncomingMessage("telegram", "77", "2", text=english.title, payload=english.payload))
    assert chosen.text.startswith("I'll answer in English")
    # Rasa is down here: even the gateway's own apology follows the choice, not the Korean text.
    [reply] = await router.handle(IncomingMessage("telegram", "77", "3", text="안녕하세요"))
    assert reply.text.startswith("Sorry, the assistant cannot answer right now")


async def test_a_language_choice_that_was_never_offered_changes_nothing(api_app):
    router, api = _router(api_app)
    forged = '/choose_language{"language":"en"}'
    [reply] = await router.handle(IncomingMessage("telegram", "78", "1", text="영어", payload=forged))
    assert reply.text.startswith("이 버튼은 더 이상 사용할 수 없어요")
    turn = await api.begin_turn(IncomingMessage("telegram", "78", "2", text="안녕"), "안녕", "ko")
    assert turn["preferred_language"] is None


class SlowRasa:
    """A Rasa that greets, after `release` is set when one is given; counts the messages it answered."""

    def __init__(self, release: asyncio.Event | None = None) -> None:
        self.release = release
        self.answered = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.release is not None:
            await self.release.wait()
        self.answered += 1
        return httpx.Response(200, json={"messages": [{"text": "안녕하세요! 파주시 시민 도우미예요."}], "parse": None})

    def client(self) -> RasaClient:
        return RasaClient("http://rasa.test", 30, transport=httpx.MockTransport(self))


def _gateway(api_app, rasa: SlowRasa, lease_seconds: int = 20) -> MessageRouter:
    """One gateway replica: its own router (and locks) in front of the shared api."""
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    return MessageRouter(api, rasa.client(), max_nlu_chars=1000, lease_seconds=lease_seconds)


def _statuses(transcript: list[dict]) -> list[str]:
    return [m["status"] for m in transcript if m["direction"] == "in"]


async def test_a_message_whose_turn_died_with_its_gateway_is_answered_once_when_the_channel_retries_it(api_app):
    rasa = SlowRasa()
    message = _message("안녕하세요")
    # A gateway recorded the message, held it for 5 seconds and died before answering.
    dead = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    await dead.begin_turn(message, "안녕하세요", "ko", "dead-gateway", lease_seconds=5)

    with time_machine.travel(utcnow() + timedelta(seconds=6), tick=False):
        replies = await _gateway(api_app, rasa).handle(message)
    assert [reply.text for reply in replies] == ["안녕하세요! 파주시 시민 도우미예요."]
    again = await _gateway(api_app, rasa).handle(message)
    assert again == replies, "an answered message is not answered again"
    assert rasa.answered == 1
    transcript = await dead.transcript("web", "citizen-1")
    assert [m["direction"] for m in transcript] == ["in", "out"]
    assert _statuses(transcript) == ["answered"]


async def test_a_retry_reaching_another_gateway_while_the_first_still_answers_leaves_the_answer_to_the_first(api_app):
    release = asyncio.Event()
    rasa = SlowRasa(release)
    message = _message("안녕하세요")
    first = asyncio.create_task(_gateway(api_app, rasa).handle(message))
    await asyncio.sleep(0.3)  # the first gateway is waiting for Rasa

    with pytest.raises(TurnInProgress):  # it waited two of its leases for the first to answer
        await _gateway(api_app, rasa, lease_seconds=5).handle(message)
    release.set()
    replies = await first
    assert await _gateway(api_app, rasa).handle(message) == replies
    assert rasa.answered == 1


async def test_a_retry_reaching_the_same_gateway_waits_for_the_answer_and_gets_it(api_app):
    release = asyncio.Event()
    rasa = SlowRasa(release)
    gateway = _gateway(api_app, rasa)
    message = _message("안녕하세요")
    first = asyncio.create_task(gateway.handle(message))
    retry = asyncio.create_task(gateway.handle(message))
    await asyncio.sleep(0.3)
    release.set()
    assert await retry == await first
    assert rasa.answered == 1


async def test_a_slow_answer_keeps_holding_its_message_past_the_first_lease(api_app):
    release = asyncio.Event()
    rasa = SlowRasa(release)
    message = _message("안녕하세요")
    first = asyncio.create_task(_gateway(api_app, rasa, lease_seconds=5).handle(message))
    await asyncio.sleep(6)  # longer than the lease: only its extensions keep it

    with pytest.raises(TurnInProgress):
        await _gateway(api_app, rasa, lease_seconds=5).handle(message)
    release.set()
    await first
    assert rasa.answered == 1


async def test_a_retry_arriving_while_a_dead_gateways_hold_still_lasts_is_answered_once_the_hold_lapses(api_app):
    message = _message("안녕하세요")
    dying = asyncio.create_task(_gateway(api_app, SlowRasa(asyncio.Event()), lease_seconds=5).handle(message))
    await asyncio.sleep(0.3)  # recorded and held; the gateway is waiting for Rasa
    dying.cancel()  # its process dies: nobody answers the message or extends the hold
    rasa = SlowRasa()
    replies = await _gateway(api_app, rasa, lease_seconds=5).handle(message)
    assert [reply.text for reply in replies] == ["안녕하세요! 파주시 시민 도우미예요."]
    assert rasa.answered == 1


async def test_after_the_assistant_was_down_a_retry_of_the_message_gets_a_real_answer(api_app):
    message = _message("안녕하세요")
    [apology] = await _router(api_app)[0].handle(message)  # Rasa is down
    assert apology.text.startswith("죄송해요, 지금 상담봇이")
    api = _router(api_app)[1]
    assert _statuses(await api.transcript("web", "citizen-1")) == ["unanswered"]

    rasa = SlowRasa()
    replies = await _gateway(api_app, rasa).handle(message)
    assert [reply.text for reply in replies] == ["안녕하세요! 파주시 시민 도우미예요."]
    assert _statuses(await api.transcript("web", "citizen-1")) == ["answered"]


def _speechless_rasa(request: httpx.Request) -> httpx.Response:
    """Rasa when a turn failed inside it (an action server it could not reach): an answer with no reply in it."""
    return httpx.Response(200, json={"messages": [], "parse": None})


async def test_when_rasa_answers_with_no_reply_the_citizen_is_told_politely_and_a_retry_is_answered(api_app):
    message = _message("안녕하세요")
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    speechless = RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(_speechless_rasa))
    [apology] = await MessageRouter(api, speechless, max_nlu_chars=1000).handle(message)
    assert apology.text == own_reply("assistant_down", "ko").text
    transcript = await api.transcript("web", "citizen-1")
    assert [(m["direction"], m["text"]) for m in transcript] == [("in", "안녕하세요"), ("out", apology.text)]
    # Not an answer: the message stays unanswered, so the channel's retry goes to the assistant again.
    assert _statuses(transcript) == ["unanswered"]

    rasa = SlowRasa()
    replies = await _gateway(api_app, rasa).handle(message)
    assert [reply.text for reply in replies] == ["안녕하세요! 파주시 시민 도우미예요."]
    assert rasa.answered == 1
    assert _statuses(await api.transcript("web", "citizen-1")) == ["answered"]


async def test_a_message_for_the_staff_inbox_counts_as_handled_and_a_retry_is_not_routed_twice(api_app):
    router, api = _router(api_app)
    await router.handle(_message("안녕"))
    response = await api._http.post(
        "/api/conversations/handoffs", json={"channel": "web", "channel_user_id": "citizen-1"}
    )
    assert response.status_code == 201, response.text
    message = _message("예약을 바꾸고 싶어요")
    [received] = await router.handle(message)
    assert received.text.startswith("접수됐어요, 담당자에게 전달했어요")
    assert _statuses(await api.transcript("web", "citizen-1"))[-1] == "answered"
    assert await _gateway(api_app, SlowRasa()).handle(message) == [received]


class Recording(httpx.AsyncBaseTransport):
    """Passes each request on and notes it, in the order of all the recorded transports sharing `calls`."""

    def __init__(self, name: str, inner: httpx.AsyncBaseTransport, calls: list[tuple[str, str]]) -> None:
        self.name, self.inner, self.calls = name, inner, calls

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((self.name, f"{request.method} {request.url.path}"))
        return await self.inner.handle_async_request(request)


def _parsing_rasa(request: httpx.Request) -> httpx.Response:
    """Rasa's gateway channel: a reply, and the parse of the message when asked for it."""
    body = json.loads(request.content)
    parse = {"text": body["message"], "intent": {"name": "book_tour", "confidence": 0.42}, "entities": []}
    return httpx.Response(200, json={"messages": [{"text": "어느 날로 예약할까요?"}], "parse": parse})


def _counted_router(api_app) -> tuple[MessageRouter, list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []
    api = ApiClient("http://api", TOKEN, 5, transport=Recording("api", httpx.ASGITransport(app=api_app), calls))
    rasa = RasaClient("http://rasa.test", 5, transport=Recording("rasa", httpx.MockTransport(_parsing_rasa), calls))
    return MessageRouter(api, rasa, max_nlu_chars=1000, inbox_reports=True), calls


async def test_a_typed_message_costs_one_api_call_before_rasa_one_rasa_call_and_one_api_call_after(api_app):
    router, calls = _counted_router(api_app)
    replies = await router.handle(_message("DMZ 투어 예약하고 싶어요"))

    assert [reply.text for reply in replies] == ["어느 날로 예약할까요?"]
    [(_, begin), (_, rasa), (_, end)] = calls
    assert [who for who, _call in calls] == ["api", "rasa", "api"]
    assert (begin, rasa) == ("POST /api/conversations/turns", "POST /webhooks/gateway/webhook")
    assert re.fullmatch(r"POST /api/conversations/turns/\d+/end", end)
    # That one closing call recorded the reply, marked the message answered and gave the NLU inbox its parse.
    transcript = await router._api.transcript("web", "citizen-1")
    assert [(m["direction"], m["status"]) for m in transcript] == [("in", "answered"), ("out", None)]
    with api_app.state.sessionmaker() as session:
        assert session.scalars(select(InboxItem.intent)).all() == ["book_tour"]


async def test_a_message_for_the_staff_inbox_costs_one_api_call_and_no_rasa_call(api_app):
    router, calls = _counted_router(api_app)
    await router.handle(_message("안녕"))
    response = await router._api._http.post(
        "/api/conversations/handoffs", json={"channel": "web", "channel_user_id": "citizen-1"}
    )
    assert response.status_code == 201, response.text
    calls.clear()

    [received] = await router.handle(_message("직원분 계세요?"))
    assert received.text.startswith("접수됐어요")
    assert calls == [("api", "POST /api/conversations/turns")]
    assert _statuses(await router._api.transcript("web", "citizen-1"))[-1] == "answered"
