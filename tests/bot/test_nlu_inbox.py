"""The gateway reports what Rasa made of each message to the NLU inbox, without delaying the citizen's reply."""

import asyncio
import time
import uuid

import httpx
import pytest
from sqlalchemy import select

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from api.training.models import InboxItem
from bot.gateway.api_client import ApiClient
from bot.gateway.messages import IncomingMessage, Reply
from bot.gateway.nlu_inbox import MESSAGE_ID_KEY, InboxReporter, parse_report
from bot.gateway.rasa_client import RasaClient
from bot.gateway.router import MessageRouter

TOKEN = "inbox-test-token-0123456789"


class FakeRasa(RasaClient):
    """Answers every message with a fallback; its tracker's latest message is what it was sent."""

    def __init__(self, tracker_delay: float = 0.0) -> None:
        super().__init__("http://rasa.invalid", 1)
        self.tracker_delay = tracker_delay
        self.latest: dict[str, dict] = {}

    async def send(self, sender_id: str, text: str, metadata: dict) -> list[Reply]:
        self.latest[sender_id] = {
            "text": text,
            "intent": {"name": "nlu_fallback", "confidence": 0.45},
            "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "tour_info", "confidence": 0.31}],
            "entities": [{"entity": "phone", "value": "010-1234-5678", "extractor": "BookingEntityExtractor"}],
            "metadata": metadata,
        }
        return [Reply(text="죄송해요, 잘 모르겠어요.")]

    async def latest_message(self, sender_id: str) -> dict:
        await asyncio.sleep(self.tracker_delay)
        return self.latest[sender_id]


@pytest.fixture
def api_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, service_token=TOKEN))
    yield app
    app.state.engine.dispose()


def _message(text: str, payload: str | None = None) -> IncomingMessage:
    return IncomingMessage("web", "citizen-1", uuid.uuid4().hex, text=text, payload=payload)


def _items(api_app) -> list[InboxItem]:
    with api_app.state.sessionmaker() as session:
        return list(session.scalars(select(InboxItem)))


def test_a_fallback_is_reported_with_the_best_real_intent():
    latest = {
        "text": "드론 날려도 돼요?",
        "intent": {"name": "nlu_fallback", "confidence": 0.45},
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "tour_info", "confidence": 0.21}],
        "entities": [],
        "language": "ko",
    }
    report = parse_report(latest, "en")
    assert (report["intent"], report["confidence"], report["fallback"], report["language"]) == (
        "tour_info",
        0.21,
        True,
        "ko",
    )


async def test_a_typed_message_reaches_the_inbox_after_the_reply_and_masked(api_app):
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    rasa = FakeRasa(tracker_delay=2.0)
    inbox = InboxReporter(api, rasa)
    router = MessageRouter(api, rasa, max_nlu_chars=1000, inbox=inbox)
    started = time.perf_counter()
    replies = await router.handle(_message("제 번호 010-1234-5678 인데 드론 날려도 돼요?"))
    assert replies[0].text.startswith("죄송해요")
    assert time.perf_counter() - started < 1.5  # the reply did not wait for the report
    await inbox.drain()
    [item] = _items(api_app)
    assert item.text == "제 번호 010-****-5678 인데 드론 날려도 돼요?"
    assert (item.intent, item.fallback_count, item.entities[0]["value"]) == ("tour_info", 1, "010-****-5678")
    assert isinstance(rasa.latest["web:citizen-1"]["metadata"][MESSAGE_ID_KEY], int)


async def test_commands_and_locations_are_not_inbox_items(api_app):
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    rasa = FakeRasa()
    inbox = InboxReporter(api, rasa)
    router = MessageRouter(api, rasa, max_nlu_chars=1000, inbox=inbox)
    await router.handle(IncomingMessage("web", "citizen-1", "m1", text="/start", command="start"))
    await router.handle(IncomingMessage("web", "citizen-1", "m2", location=(37.76, 126.78)))
    await inbox.drain()
    assert _items(api_app) == []


async def test_when_the_conversation_moved_on_the_older_parse_is_not_reported(api_app):
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    rasa = FakeRasa()
    inbox = InboxReporter(api, rasa)
    router = MessageRouter(api, rasa, max_nlu_chars=1000, inbox=inbox)
    await router.handle(_message("첫 번째 질문"))
    rasa.latest["web:citizen-1"]["metadata"] = {MESSAGE_ID_KEY: -1}  # the tracker already has a later message
    inbox.report("web:citizen-1", 12345, True, "ko")
    await inbox.drain()
    assert [item.text for item in _items(api_app)] == ["첫 번째 질문"]


async def test_when_the_api_is_down_the_report_is_dropped_and_the_citizen_still_answered(api_app, caplog):
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    rasa = FakeRasa()
    inbox = InboxReporter(ApiClient("http://127.0.0.1:9", TOKEN, 1), rasa)
    router = MessageRouter(api, rasa, max_nlu_chars=1000, inbox=inbox)
    replies = await router.handle(_message("아무 말"))
    await inbox.drain()
    assert replies[0].text.startswith("죄송해요")
    assert "nlu inbox report dropped" in caplog.text


async def test_reports_can_be_switched_off(api_app):
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    rasa = FakeRasa()
    inbox = InboxReporter(api, rasa, enabled=False)
    await MessageRouter(api, rasa, max_nlu_chars=1000, inbox=inbox).handle(_message("아무 말"))
    await inbox.drain()
    assert _items(api_app) == []
