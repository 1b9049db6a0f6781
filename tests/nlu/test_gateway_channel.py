"""Rasa's gateway channel finds the parse of the very message it handled in the tracker Rasa saved."""

from types import SimpleNamespace

import httpx
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import AwaitableTrackerStore, InMemoryTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from bot.nlu.gateway_channel import GatewayInput, parse_from_rows, parse_of, replies_to


def _said(text: str, message_id: str, intent: str) -> UserUttered:
    parse = {
        "intent": {"name": intent, "confidence": 0.42},
        "intent_ranking": [{"name": intent, "confidence": 0.42}],
        "entities": [],
        "text": text,
        "language": "ko",
    }
    entities = [{"entity": "date", "value": "2026-05-02", "extractor": "BookingEntityExtractor"}]
    return UserUttered(text, parse["intent"], entities, parse, message_id=message_id, metadata={"channel": "web"})


def test_the_parse_is_of_the_message_with_the_id_even_when_a_later_one_followed():
    tracker = DialogueStateTracker.from_events(
        "web:citizen",
        [
            ActionExecuted("action_listen"),
            _said("투어 예약", "first", "book_tour"),
            BotUttered("언제요?"),
            _said("내일", "second", "inform"),
        ],
    )
    parse = parse_of(tracker, "first")
    assert (parse["text"], parse["intent"]["name"], parse["language"]) == ("투어 예약", "book_tour", "ko")
    assert parse["entities"][0]["value"] == "2026-05-02"
    assert parse_of(tracker, "second")["intent"]["name"] == "inform"


def test_no_parse_when_the_tracker_does_not_hold_the_message():
    tracker = DialogueStateTracker.from_events("web:citizen", [ActionExecuted("action_listen")])
    assert parse_of(tracker, "unknown") is None
    assert parse_of(None, "unknown") is None


async def test_the_webhook_answers_with_the_replies_and_on_request_the_parse_of_the_message(monkeypatch):
    # Outside test mode Sanic's start-up rewrites methods on the Sanic class itself, which breaks every later app
    # of the session (the action server's tests start real ones).
    monkeypatch.setattr(Sanic, "test_mode", True)
    store = InMemoryTrackerStore(Domain.empty())

    async def handle(message: UserMessage) -> None:
        """What Rasa's agent does, in short: the message into the tracker, a reply out."""
        tracker = await store.get_or_create_tracker(message.sender_id)
        tracker.update(_said(message.text, message.message_id, "book_tour"))
        await store.save(tracker)
        await message.output_channel.send_text_message(message.sender_id, "언제요?")

    app = Sanic("gateway_channel_test")
    app.ctx.agent = SimpleNamespace(tracker_store=store)
    app.blueprint(GatewayInput().blueprint(handle), url_prefix="/webhooks/gateway")
    await app._startup()  # what Sanic's server does before serving: the ASGI transport sends no lifespan events
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rasa") as rasa:
        body = {"sender": "web:citizen", "message": "투어 예약", "metadata": {"channel": "web"}}
        with_parse = (await rasa.post("/webhooks/gateway/webhook", json=body | {"parse": True})).json()
        without = (await rasa.post("/webhooks/gateway/webhook", json=body)).json()

    assert [m["text"] for m in with_parse["messages"]] == ["언제요?"]
    assert (with_parse["parse"]["text"], with_parse["parse"]["intent"]["name"]) == ("투어 예약", "book_tour")
    assert without == {"messages": [{"recipient_id": "web:citizen", "text": "언제요?"}], "parse": None}


async def test_a_message_delivered_again_after_a_replica_ran_it_gets_the_recorded_replies_and_runs_once(monkeypatch):
    monkeypatch.setattr(Sanic, "test_mode", True)
    store = InMemoryTrackerStore(Domain.empty())
    runs = []

    async def handle(message: UserMessage) -> None:
        runs.append(message.text)
        tracker = await store.get_or_create_tracker(message.sender_id)
        tracker.update(_said(message.text, message.message_id, "book_tour"))
        tracker.update(BotUttered("언제요?", {"buttons": [{"title": "내일", "payload": "/inform"}]}))
        await store.save(tracker)
        await message.output_channel.send_text_with_buttons(
            message.sender_id, "언제요?", [{"title": "내일", "payload": "/inform"}]
        )

    app = Sanic("gateway_channel_retry_test")
    app.ctx.agent = SimpleNamespace(tracker_store=store, lock_store=InMemoryLockStore())
    app.blueprint(GatewayInput().blueprint(handle), url_prefix="/webhooks/gateway")
    await app._startup()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rasa") as rasa:
        body = {"sender": "web:citizen", "message": "투어 예약", "metadata": {}, "message_id": "m-1"}
        first = (await rasa.post("/webhooks/gateway/webhook", json=body)).json()
        again = (await rasa.post("/webhooks/gateway/webhook", json=body | {"retry": True})).json()
        new = (await rasa.post("/webhooks/gateway/webhook", json=body | {"retry": True, "message_id": "m-2"})).json()

    assert again["messages"] == first["messages"]
    assert first["messages"][0]["buttons"] == [{"title": "내일", "payload": "/inform"}]
    assert runs == ["투어 예약", "투어 예약"]  # the retry of m-1 did not run; m-2, never seen, did
    assert new["messages"] == first["messages"]


def test_the_replies_to_a_message_stop_at_the_next_message():
    tracker = DialogueStateTracker.from_events(
        "web:citizen",
        [
            _said("투어 예약", "first", "book_tour"),
            BotUttered("언제요?"),
            BotUttered("날짜를 알려 주세요."),
            ActionExecuted("action_listen"),
            _said("내일", "second", "inform"),
            BotUttered("몇 분이세요?"),
        ],
    )
    assert [reply["text"] for reply in replies_to(tracker, "first")] == ["언제요?", "날짜를 알려 주세요."]
    assert replies_to(tracker, "unknown") is None


async def test_the_parse_is_read_from_the_newest_user_events_of_a_real_sql_tracker_store(tmp_path):
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    tracker = DialogueStateTracker.from_events(
        "web:citizen",
        [ActionExecuted("action_listen"), _said("투어 예약", "first", "book_tour"), BotUttered("언제요?")],
    )
    await AwaitableTrackerStore(store).save(tracker)
    tracker.update(_said("내일", "second", "inform"))
    await AwaitableTrackerStore(store).save(tracker)

    parse = parse_from_rows(store, "web:citizen", "second")
    assert (parse["text"], parse["intent"]["name"]) == ("내일", "inform")
    # What reading the whole tracker back gives, without deserialising every event of the conversation.
    assert parse == parse_of(await store.retrieve("web:citizen"), "second")
    assert parse_from_rows(store, "web:citizen", "unknown") is None
    assert parse_from_rows(store, "web:someone-else", "second") is None


async def test_the_parse_is_found_after_a_burst_of_the_same_senders_later_messages(tmp_path):
    # Twenty quick messages queue on the conversation's lock: by the time the first one's parse is read, the others
    # may all have been handled and saved after it.
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    tracker = DialogueStateTracker.from_events("web:citizen", [ActionExecuted("action_listen")])
    for n in range(20):
        tracker.update(_said(f"쓰레기 버리는 날 {n}", str(n), "out_of_scope"))
        tracker.update(BotUttered("죄송해요"))
        await AwaitableTrackerStore(store).save(tracker)

    assert [parse_from_rows(store, "web:citizen", str(n))["text"] for n in range(20)] == [
        f"쓰레기 버리는 날 {n}" for n in range(20)
    ]
    # An id that another id merely begins with, or a pattern, matches nothing.
    assert parse_from_rows(store, "web:citizen", "1_") is None
    assert parse_from_rows(store, "web:citizen", "%") is None
