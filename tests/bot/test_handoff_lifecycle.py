"""The gateway's side of a handoff: what the citizen is told while waiting, for an old button, and after a score, with
no call to Rasa; and a staff member's messages prefixed with who writes on Telegram and KakaoTalk."""

import uuid

import httpx
import pytest

from api.conversations import handoffs
from api.conversations.models import Handoff
from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from api.staff.service import create_user
from bot.gateway.api_client import ApiClient
from bot.gateway.channels.kakao_events import event_text
from bot.gateway.channels.telegram_render import outbox_reply, render
from bot.gateway.messages import IncomingMessage
from bot.gateway.rasa_client import RasaClient
from bot.gateway.router import MessageRouter

TOKEN = "handoff-test-token-0123456789"
BOOK = '/book_tour{"tour_id":1}'


class CountingRasa:
    """Offers a booking button to whatever it is sent, and counts what reached it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(httpx.Request("POST", request.url, content=request.content).read().decode())
        reply = {"text": "예약할까요?", "buttons": [{"title": "예약하기", "payload": BOOK}]}
        return httpx.Response(200, json={"messages": [reply], "parse": None})


@pytest.fixture
def api_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, service_token=TOKEN))
    yield app
    app.state.engine.dispose()


@pytest.fixture
def rasa() -> CountingRasa:
    return CountingRasa()


@pytest.fixture
def router(api_app, rasa) -> MessageRouter:
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    return MessageRouter(api, RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(rasa)), 1000)


def _message(text: str = "", payload: str | None = None, user: str = "42") -> IncomingMessage:
    return IncomingMessage("telegram", user, uuid.uuid4().hex, text=text, payload=payload)


async def _texts(router: MessageRouter, message: IncomingMessage) -> list[str]:
    return [reply.text for reply in await router.handle(message)]


async def _waiting(router: MessageRouter, user: str = "42") -> dict:
    """The citizen asked about a group booking (and was offered a button), then the assistant asked for a person."""
    await router.handle(_message("DMZ 단체 투어 예약하고 싶어요", user=user))
    body = {"channel": "telegram", "channel_user_id": user, "department": "open_data"}
    response = await router._api._http.post("/api/conversations/handoffs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def _outbox(api: ApiClient) -> list[dict]:
    """Every message the city wrote, in order, delivered as a gateway does: one per conversation at a time."""
    sent = []
    while claimed := await api.claim_outbox(["telegram"], 10, 60):
        for message in claimed:
            await api.report_delivery(message["id"], {"status": "delivered", "attempt": message["attempts"]})
        sent += claimed
    return sent


async def test_while_waiting_the_first_message_is_acknowledged_and_none_reaches_rasa(router, rasa):
    handoff = await _waiting(router)
    assert handoff["department"] == "tourism"  # the words beat the assistant's guess
    before = len(rasa.seen)
    assert await _texts(router, _message("아직인가요?")) == [
        "접수됐어요, 담당자에게 전달했어요. 상담원이 연결되면 여기에서 알려 드릴게요."
    ]
    assert await _texts(router, _message("30명이에요")) == []
    assert len(rasa.seen) == before


async def test_an_old_button_says_why_it_does_nothing_while_a_person_has_the_conversation(router, rasa):
    await _waiting(router)
    before = len(rasa.seen)
    assert await _texts(router, _message(payload=BOOK)) == [
        "지금은 상담원과 대화 중이에요. 상담이 끝나면 다시 쓸 수 있어요."
    ]
    assert len(rasa.seen) == before


async def test_staff_messages_are_prefixed_with_who_writes_on_telegram_and_kakao(api_app, router):
    handoff = await _waiting(router)
    with api_app.state.sessionmaker() as session:
        staff = create_user(session, "tour@paju.go.kr", "이관광", "correct horse battery")
        handoffs.claim(session, handoff["id"], staff)
        handoffs.reply(session, session.get(Handoff, handoff["id"]).conversation_id, staff, "단체 예약 도와드릴게요.")
    connected, reply = await _outbox(router._api)
    assert [m.text for m in render([outbox_reply(connected)])] == [
        "관광과 상담원이 연결됐어요. 궁금한 점을 여기에 적어 주세요."
    ]
    assert [m.text for m in render([outbox_reply(reply)])] == ["[관광과 상담원] 단체 예약 도와드릴게요."]
    assert event_text(reply) == "[관광과 상담원] 단체 예약 도와드릴게요."
    assert event_text(connected) == connected["text"]


async def test_a_satisfaction_tap_is_thanked_and_kept_once_without_reaching_rasa(api_app, router, rasa):
    handoff = await _waiting(router)
    with api_app.state.sessionmaker() as session:
        staff = create_user(session, "tour@paju.go.kr", "이관광", "correct horse battery")
        handoffs.claim(session, handoff["id"], staff)
        handoffs.close(session, handoff["id"], staff, "안내 완료")
    question = (await _outbox(router._api))[-1]
    [message] = render([outbox_reply(question)])
    assert message.text.startswith("상담은 만족스러우셨나요?")
    assert [row[0].title for row in message.keyboard] == ["1점", "2점", "3점", "4점", "5점"]
    before = len(rasa.seen)
    five = message.keyboard[4][0].callback_data
    assert await _texts(router, _message(payload=five)) == ["5점, 소중한 의견 고마워요. 더 나은 상담을 위해 쓸게요."]
    assert await _texts(router, _message(payload=message.keyboard[0][0].callback_data)) == [
        "이미 5점으로 답해 주셨어요. 고마워요."
    ]
    assert len(rasa.seen) == before
    with api_app.state.sessionmaker() as session:
        assert session.get(Handoff, handoff["id"]).satisfaction == 5
    # The assistant answers the next message as before (restarted first: a person had the conversation).
    assert await _texts(router, _message("투어 목록 보여줘")) == ["예약할까요?"]
    assert "투어 목록 보여줘" in rasa.seen[-1]
    assert not any("rate_handoff" in seen for seen in rasa.seen)
