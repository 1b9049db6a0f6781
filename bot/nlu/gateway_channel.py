"""Rasa's input channel for the gateway: the REST channel's replies, plus on request what Rasa made of the message.

Rasa's REST webhook answers with the replies only; the NLU inbox needs the parse too (intent, ranking, entities,
language). Read here, from the user event Rasa has just saved, it costs the gateway no second call to Rasa.
Registered in credentials.yml, it answers at `/webhooks/gateway/webhook`:
`{"sender", "message", "metadata", "parse": true, "message_id", "retry"}` →
`{"messages": [...], "parse": {...} | null}`.
A `retry` of a message id the tracker already holds gets the replies recorded for it: it is not run again.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)


class GatewayCollector(CollectingOutputChannel):
    """Rasa's collecting channel, except that a reply's structure stays with its words: Rasa's own sends a reply's
    `custom` (a notice's or a booking's card) as a message of its own after the text, which every channel would
    then have to pair up again."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        custom = message.get("custom")
        if not custom or not (message.get("text") or message.get("buttons")):
            await super().send_response(recipient_id, message)
            return
        rest = {key: value for key, value in message.items() if key not in ("text", "buttons", "custom")}
        await self._persist_message(
            self._message(recipient_id, text=message.get("text"), buttons=message.get("buttons"), custom=custom)
        )
        if rest.get("image") or rest.get("attachment") or rest.get("elements"):
            await super().send_response(recipient_id, rest)


class GatewayInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "gateway"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("gateway_webhook", __name__)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json or {}
            collector = GatewayCollector()
            message = UserMessage(
                body.get("message"),
                collector,
                body.get("sender"),
                input_channel=self.name(),
                metadata=body.get("metadata"),
                message_id=body.get("message_id"),
            )
            answered = await _replies_given(request, message) if body.get("retry") else None
            try:
                if answered is None:
                    await on_new_message(message)
                else:
                    for reply in answered:
                        await collector.send_response(message.sender_id, reply)
            except Exception:
                # As Rasa's REST channel does: the replies given before the failure are still the answer.
                logger.exception("gateway channel: the message failed")
            parse = await _parse(request, message) if body.get("parse") else None
            return response.json({"messages": collector.messages, "parse": parse})

        return webhook


async def _parse(request: Request, message: UserMessage) -> dict[str, Any] | None:
    store = request.app.ctx.agent.tracker_store
    try:
        events = _sql_events(store)
        if events is not None:
            return parse_from_rows(events, message.sender_id, message.message_id)
        tracker = await store.retrieve(message.sender_id)
    except Exception:
        # The parse is for the NLU inbox only: the answer goes out without it.
        logger.exception("gateway channel: the tracker could not be read for the parse")
        return None
    return parse_of(tracker, message.message_id)


def _sql_events(store: Any) -> SQLTrackerStore | None:
    """The SQL tracker store under Rasa's wrappers (fail-safe, awaitable), or None for another kind of store."""
    while store is not None and not isinstance(store, SQLTrackerStore):
        store = getattr(store, "_tracker_store", None)
    return store


def parse_from_rows(store: SQLTrackerStore, sender_id: str, message_id: str) -> dict[str, Any] | None:
    """The parse of the user message with this id, read from its own row: reading the whole tracker again (every
    event of the conversation, deserialised) would double what each turn costs Rasa, and the newest few rows miss
    the message when a burst of the same sender's later messages was handled before this read."""
    with store.session_scope() as session:
        rows = (
            session.query(store.SQLEvent.data)
            .filter(
                store.SQLEvent.sender_id == sender_id,
                store.SQLEvent.type_name == UserUttered.type_name,
                # Rasa stores each event as json.dumps of its dict; the match is checked below on the parsed row.
                store.SQLEvent.data.contains(json.dumps({"message_id": message_id})[1:-1], autoescape=True),
            )
            .order_by(store.SQLEvent.id.desc())
            .all()
        )
    for (data,) in rows:
        event = json.loads(data)
        if event.get("message_id") == message_id:
            parse = event.get("parse_data") or {}
            return {**parse, "entities": parse.get("entities") or []}
    return None


async def _replies_given(request: Request, message: UserMessage) -> list[dict[str, Any]] | None:
    """What Rasa answered to this very message, when a replica (this one or another) already ran it; None when none
    did. Read under the conversation's lock, so a turn still running elsewhere finishes (or its holder's ticket
    expires) first."""
    agent = request.app.ctx.agent
    async with agent.lock_store.lock(message.sender_id):
        tracker = await agent.tracker_store.retrieve(message.sender_id)
    return replies_to(tracker, message.message_id)


def replies_to(tracker: DialogueStateTracker | None, message_id: str) -> list[dict[str, Any]] | None:
    """The bot's utterances that followed the user message with this id, as Rasa sent them; None when the tracker
    does not hold the message."""
    events = list(tracker.events) if tracker else []
    for position in range(len(events) - 1, -1, -1):
        event = events[position]
        if isinstance(event, UserUttered) and event.message_id == message_id:
            replies = []
            for later in events[position + 1 :]:
                if isinstance(later, UserUttered):
                    break
                if isinstance(later, BotUttered):
                    replies.append({"text": later.text, **{k: v for k, v in later.data.items() if v is not None}})
            return replies
    return None


def parse_of(tracker: DialogueStateTracker | None, message_id: str) -> dict[str, Any] | None:
    """The parse of the user message with this id, as the tracker's `latest_message` shows one; None when the
    tracker does not hold it (Rasa was not ready to handle the message)."""
    for event in reversed(tracker.events if tracker else []):
        if isinstance(event, UserUttered) and event.message_id == message_id:
            return {**event.parse_data, "entities": event.entities}
    return None
