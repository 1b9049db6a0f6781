"""A certified notice in chat: Rasa carries only a reference; the gateway opens it with the api for the conversation
it was unlocked in, the citizen sees it on every channel, and the transcript keeps only a placeholder."""

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.identity import service as identity
from api.main import create_app
from api.notices import personal
from api.notices.models import PersonalNotice
from api.notices.schemas import PersonalNoticeIn
from bot.gateway.api_client import ApiClient
from bot.gateway.app import create_app as create_gateway
from bot.gateway.channels import web
from bot.gateway.channels.telegram_render import render
from bot.gateway.messages import IncomingMessage, Reply, for_transcript
from bot.gateway.personal_notices import content
from bot.gateway.rasa_client import RasaClient
from bot.gateway.rate_limits import GatewayLimits
from bot.gateway.router import MessageRouter
from bot.gateway.settings import GatewaySettings
from common.confidential import PLACEHOLDER, notice_reference

TOKEN = "confidential-test-token-0123456789"
SECRET = "web-session-secret-for-the-tests-0123456789"
PHONE = "010-2345-6789"
TITLE = "지방세 환급 안내"
BODY = "과오납된 지방세 12,340원을 환급해 드립니다. 환급 계좌를 알려 주십시오."
SENT_AT = datetime(2025, 11, 24, 1, 0, tzinfo=UTC)  # 10:00 on 24 November in Seoul
SHOWN = f"📨 세정과에서 보낸 공인알림 (11월 24일)\n{TITLE}\n\n{BODY}"
CONFIRMED = "본인 확인이 되었어요."
OPEN_AGAIN = '/notice_open{"personal_notice_id":"%d"}'


class Phone:
    """The citizen's phone: it keeps the last code the api texted to it."""

    name = "test-phone"

    def __init__(self) -> None:
        self.code = ""

    def send(self, session, phone: str, text: str, code: str) -> None:
        self.code = code


class Rasa:
    """What Rasa's gateway channel gives after the code was accepted: a line of its own, then the action's reference
    (made, as the action makes it, for the sender of the message). `custom` replaces the reference when set."""

    def __init__(self, notice_id: int, language: str = "ko", custom: dict | None = None) -> None:
        self.notice_id, self.language, self.custom = notice_id, language, custom
        self.bodies: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        custom = self.custom or notice_reference(self.notice_id, body["sender"], self.language)
        messages = [{"recipient_id": "x", "text": CONFIRMED}, {"recipient_id": "x", "custom": custom}]
        return httpx.Response(200, json={"messages": messages, "parse": None})


class ReadFails(httpx.AsyncBaseTransport):
    """The api for every call but reading a notice, which finds it unreachable."""

    def __init__(self, app) -> None:
        self._app = httpx.ASGITransport(app=app)
        self.reads = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/read"):
            self.reads += 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self._app.handle_async_request(request)


@pytest.fixture
def api_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, service_token=TOKEN))
    yield app
    app.state.engine.dispose()


def _notice(api_app, channel: str, user: str, unlocked: bool = True) -> int:
    """A certified notice for the citizen whose phone is linked to this chat; `unlocked`: they entered its code."""
    phone = Phone()
    letter = PersonalNoticeIn(phone=PHONE, department="세정과", title=TITLE, body=BODY)
    with api_app.state.sessionmaker() as session:
        identity.start_link(session, channel, user, PHONE, phone)
        personal.confirm_link(session, channel, user, phone.code)
        notice = personal.send(session, letter, None, now=SENT_AT)
        if unlocked:
            personal.request_identity_code(session, notice.id, channel, user, phone)
            personal.confirm_identity(session, notice.id, channel, user, phone.code)
        return notice.id


def _router(api_app, rasa: Rasa, transport: httpx.AsyncBaseTransport | None = None) -> MessageRouter:
    api = ApiClient("http://api", TOKEN, 5, transport=transport or httpx.ASGITransport(app=api_app))
    return MessageRouter(api, RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(rasa)), 1000)


def _code_message(user: str = "citizen-1") -> IncomingMessage:
    return IncomingMessage("web", user, uuid.uuid4().hex, text="482913")


def _stored(api_app) -> list:
    with api_app.state.sessionmaker() as session:
        return session.execute(text("SELECT text, payload FROM messages ORDER BY id")).all()


def _nothing_of_the_letter_in(rows) -> bool:
    return not any(part in f"{row.text} {row.payload}" for row in rows for part in ("12,340", "환급", TITLE))


def _read_at(api_app, notice_id: int) -> datetime | None:
    with api_app.state.sessionmaker() as session:
        return session.get(PersonalNotice, notice_id).read_at


def test_the_notice_is_laid_out_with_sender_date_title_and_body_in_the_citizens_language():
    letter = {"department": "세정과", "title": TITLE, "body": BODY, "sent_at": "2025-11-24T01:00:00Z"}
    shown = content(letter, "ko")
    assert shown.text == SHOWN and shown.custom == {"confidential": True}
    assert content(letter, "en").text == f"📨 Certified notice from 세정과 (Nov 24)\n{TITLE}\n\n{BODY}"
    assert [m.text for m in render([shown])] == [SHOWN]
    assert for_transcript(shown) == Reply(text=PLACEHOLDER, custom={"confidential": True})
    plain = Reply(text="안녕하세요")
    assert for_transcript(plain) is plain


async def test_the_reference_is_opened_with_the_api_shown_to_the_citizen_and_recorded_as_the_placeholder(api_app):
    notice_id = _notice(api_app, "web", "citizen-1")
    rasa = Rasa(notice_id)
    replies = await _router(api_app, rasa).handle(_code_message())

    assert [r.text for r in replies] == [CONFIRMED, SHOWN]
    assert [m.text for m in render(replies)] == [CONFIRMED, SHOWN]  # the same on Telegram
    assert rasa.bodies[0]["message"] == "482913"  # Rasa heard the code, and never the letter
    rows = _stored(api_app)
    # After the "a notice is waiting" message the api sent: the code, and the two replies to it.
    assert [row.text for row in rows][-3:] == ["482913", CONFIRMED, PLACEHOLDER]
    assert _nothing_of_the_letter_in(rows)
    assert _read_at(api_app, notice_id) is not None  # showing it is what counts as reading it


async def test_a_reference_the_api_refuses_gets_a_polite_message_and_a_way_to_open_it_again(api_app):
    notice_id = _notice(api_app, "web", "citizen-1", unlocked=False)
    replies = await _router(api_app, Rasa(notice_id)).handle(_code_message())

    refused = replies[1]
    assert refused.text.startswith("죄송해요, 이 공인알림은 지금 보여 드릴 수 없어요")
    assert [(b.title, b.payload) for b in refused.buttons] == [("본인 확인하고 열기", OPEN_AGAIN % notice_id)]
    assert _nothing_of_the_letter_in(_stored(api_app)) and _read_at(api_app, notice_id) is None


async def test_when_the_api_cannot_be_reached_for_the_notice_the_citizen_is_told_in_their_language(api_app):
    notice_id = _notice(api_app, "web", "citizen-1")
    transport = ReadFails(api_app)
    replies = await _router(api_app, Rasa(notice_id, language="en"), transport).handle(_code_message())

    assert transport.reads == 2  # one retry, as for every call to the api
    assert (
        replies[1].text == "Sorry, I couldn't fetch your certified notice just now. Please open it again in a moment."
    )
    assert [b.title for b in replies[1].buttons] == ["Confirm and open"]
    assert _nothing_of_the_letter_in(_stored(api_app)) and _read_at(api_app, notice_id) is None


@pytest.mark.parametrize(
    "custom",
    [
        pytest.param(notice_reference("{id}", "web:citizen-1", "ko"), id="a reference made for another chat"),
        pytest.param({"confidential": True, "text": SHOWN}, id="the content itself, through Rasa"),
    ],
)
async def test_a_marked_reply_that_is_no_reference_for_this_conversation_is_shown_to_nobody(api_app, custom):
    notice_id = _notice(api_app, "web", "citizen-1")
    custom = {key: value.format(id=notice_id) if isinstance(value, str) else value for key, value in custom.items()}
    replies = await _router(api_app, Rasa(notice_id, custom=custom)).handle(_code_message("citizen-2"))

    assert replies[1].text.startswith("죄송해요, 이 공인알림은 지금 보여 드릴 수 없어요") and not replies[1].buttons
    assert _nothing_of_the_letter_in(_stored(api_app)) and _read_at(api_app, notice_id) is None


async def test_the_web_chat_shows_the_notice_to_the_cookies_holder_and_its_history_the_placeholder(api_app):
    settings = GatewaySettings(service_token=TOKEN, web_session_secret=SECRET)
    gateway = create_gateway(settings)
    gateway.state.api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    gateway.state.limits = GatewayLimits(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://testserver") as browser:
        await browser.get("/")
        user_id = browser.cookies[web.COOKIE].partition(".")[0]
        notice_id = _notice(api_app, "web", user_id)
        rasa = RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(Rasa(notice_id)))
        gateway.state.router = MessageRouter(gateway.state.api, rasa, 1000)

        sent = await browser.post("/web/messages", json={"message_id": uuid.uuid4().hex, "text": "482913"})
        history = (await browser.get("/web/history")).json()

    assert sent.status_code == 200, sent.text
    assert [r["text"] for r in sent.json()["replies"]] == [CONFIRMED, SHOWN]
    assert [m["text"] for m in history][-3:] == ["482913", CONFIRMED, PLACEHOLDER]
