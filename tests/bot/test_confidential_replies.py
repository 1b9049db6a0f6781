"""A certified notice's content in chat: the citizen sees it on every channel, the transcript only a placeholder."""

import uuid

import httpx
import pytest
from sqlalchemy import text

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from bot.gateway.api_client import ApiClient
from bot.gateway.channels.telegram_render import render
from bot.gateway.messages import IncomingMessage, Reply, for_transcript
from bot.gateway.rasa_client import RasaClient
from bot.gateway.router import MessageRouter
from common.confidential import PLACEHOLDER, payload

TOKEN = "confidential-test-token-0123456789"
BODY = "과오납된 지방세 12,340원을 환급해 드립니다. 환급 계좌를 알려 주십시오."
SHOWN = f"📨 세정과에서 보낸 공인알림 (11월 24일)\n지방세 환급 안내\n\n{BODY}"


@pytest.fixture
def api_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, service_token=TOKEN))
    yield app
    app.state.engine.dispose()


def _rasa_showing_the_notice(request: httpx.Request) -> httpx.Response:
    # What Rasa's REST channel gives for the action's json_message: one custom reply, in one piece.
    replies = [{"recipient_id": "x", "text": "본인 확인이 되었어요."}, {"recipient_id": "x", "custom": payload(SHOWN)}]
    return httpx.Response(200, json=replies)


def test_a_marked_reply_shows_its_text_and_records_only_the_placeholder():
    reply = Reply.model_validate({"custom": payload(SHOWN)})
    assert reply.text == SHOWN and reply.custom == {"confidential": True}
    assert [m.text for m in render([reply])] == [SHOWN]
    assert for_transcript(reply) == Reply(text=PLACEHOLDER, custom={"confidential": True})
    plain = Reply(text="안녕하세요")
    assert for_transcript(plain) is plain


async def test_the_citizen_reads_the_notice_and_the_transcript_table_keeps_a_placeholder(api_app):
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    rasa = RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(_rasa_showing_the_notice))
    router = MessageRouter(api, rasa, max_nlu_chars=1000)

    replies = await router.handle(IncomingMessage("web", "citizen-1", uuid.uuid4().hex, text="482913"))
    assert [r.text for r in replies] == ["본인 확인이 되었어요.", SHOWN]

    with api_app.state.sessionmaker() as session:
        rows = session.execute(text("SELECT text, payload FROM messages ORDER BY id")).all()
    assert [row.text for row in rows] == ["482913", "본인 확인이 되었어요.", PLACEHOLDER]
    assert not any("12,340" in f"{row.text} {row.payload}" or "환급" in f"{row.text} {row.payload}" for row in rows)
