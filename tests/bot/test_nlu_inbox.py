"""The gateway reports what Rasa made of each message to the NLU inbox, with the turn's replies."""

import json
import logging
import uuid

import httpx
import pytest
from sqlalchemy import select

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from api.training import inbox
from api.training.models import InboxItem
from bot.gateway.api_client import ApiClient
from bot.gateway.messages import IncomingMessage
from bot.gateway.nlu_inbox import parse_report
from bot.gateway.rasa_client import RasaClient
from bot.gateway.router import MessageRouter

TOKEN = "inbox-test-token-0123456789"


class FakeRasa:
    """Rasa's gateway channel answering every message with a fallback, and with its parse when asked."""

    def __init__(self, gives_parse: bool = True) -> None:
        self.gives_parse = gives_parse
        self.bodies: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        parse = {
            "text": body["message"],
            "intent": {"name": "nlu_fallback", "confidence": 0.45},
            "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "tour_info", "confidence": 0.31}],
            "entities": [{"entity": "phone", "value": "010-1234-5678", "extractor": "BookingEntityExtractor"}],
            "metadata": body["metadata"],
        }
        given = parse if body["parse"] and self.gives_parse else None
        return httpx.Response(200, json={"messages": [{"text": "죄송해요, 잘 모르겠어요."}], "parse": given})


@pytest.fixture
def api_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, service_token=TOKEN))
    yield app
    app.state.engine.dispose()


def _router(api_app, rasa: FakeRasa, inbox_reports: bool = True) -> tuple[MessageRouter, ApiClient]:
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    client = RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(rasa))
    return MessageRouter(api, client, max_nlu_chars=1000, inbox_reports=inbox_reports), api


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


async def test_a_typed_message_reaches_the_inbox_masked_with_its_replies(api_app):
    router, _api = _router(api_app, FakeRasa())
    replies = await router.handle(_message("제 번호 010-1234-5678 인데 드론 날려도 돼요?"))
    assert replies[0].text.startswith("죄송해요")
    [item] = _items(api_app)  # there when the reply is: no report still on its way
    assert item.text == "제 번호 010-****-5678 인데 드론 날려도 돼요?"
    assert (item.intent, item.fallback_count, item.entities[0]["value"]) == ("tour_info", 1, "010-****-5678")


async def test_commands_and_locations_are_not_inbox_items(api_app):
    router, _api = _router(api_app, FakeRasa())
    await router.handle(IncomingMessage("web", "citizen-1", "m1", text="/start", command="start"))
    await router.handle(IncomingMessage("web", "citizen-1", "m2", location=(37.76, 126.78)))
    assert _items(api_app) == []


async def test_without_rasas_parse_the_message_is_answered_and_not_an_inbox_item(api_app):
    router, api = _router(api_app, FakeRasa(gives_parse=False))
    replies = await router.handle(_message("첫 번째 질문"))
    assert replies[0].text.startswith("죄송해요")
    assert _items(api_app) == []
    assert [m["status"] for m in await api.transcript("web", "citizen-1") if m["direction"] == "in"] == ["answered"]


async def test_when_the_inbox_fails_the_replies_are_still_recorded_and_the_report_dropped(api_app, monkeypatch, caplog):
    def broken(session, parse):
        raise RuntimeError("the inbox is broken")

    monkeypatch.setattr(inbox, "record", broken)
    router, api = _router(api_app, FakeRasa())
    with caplog.at_level(logging.WARNING):
        replies = await router.handle(_message("아무 말"))
    assert replies[0].text.startswith("죄송해요")
    transcript = await api.transcript("web", "citizen-1")
    assert [(m["direction"], m["status"]) for m in transcript] == [("in", "answered"), ("out", None)]
    assert "nlu inbox report dropped" in caplog.text


async def test_reports_can_be_switched_off_and_rasa_is_not_asked_for_the_parse(api_app):
    rasa = FakeRasa()
    router, _api = _router(api_app, rasa, inbox_reports=False)
    await router.handle(_message("아무 말"))
    assert _items(api_app) == []
    assert rasa.bodies[0]["parse"] is False
