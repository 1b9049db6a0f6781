"""Rasa's input channel for the gateway: the REST channel's replies, plus on request what Rasa made of the message.

Rasa's REST webhook answers with the replies only; the NLU inbox needs the parse too (intent, ranking, entities,
language). Read here, from the tracker Rasa has just saved, it costs the gateway no second call to Rasa.
Registered in credentials.yml, it answers at `/webhooks/gateway/webhook`:
`{"sender", "message", "metadata", "parse": true}` → `{"messages": [...], "parse": {...} | null}`.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)


class GatewayInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "gateway"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("gateway_webhook", __name__)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json or {}
            collector = CollectingOutputChannel()
            message = UserMessage(
                body.get("message"),
                collector,
                body.get("sender"),
                input_channel=self.name(),
                metadata=body.get("metadata"),
            )
            try:
                await on_new_message(message)
            except Exception:
                # As Rasa's REST channel does: the replies given before the failure are still the answer.
                logger.exception("gateway channel: the message failed")
            parse = await _parse(request, message) if body.get("parse") else None
            return response.json({"messages": collector.messages, "parse": parse})

        return webhook


async def _parse(request: Request, message: UserMessage) -> dict[str, Any] | None:
    try:
        tracker = await request.app.ctx.agent.tracker_store.retrieve(message.sender_id)
    except Exception:
        # The parse is for the NLU inbox only: the answer goes out without it.
        logger.exception("gateway channel: the tracker could not be read for the parse")
        return None
    return parse_of(tracker, message.message_id)


def parse_of(tracker: DialogueStateTracker | None, message_id: str) -> dict[str, Any] | None:
    """The parse of the user message with this id, as the tracker's `latest_message` shows one; None when the
    tracker does not hold it (Rasa was not ready to handle the message)."""
    for event in reversed(tracker.events if tracker else []):
        if isinstance(event, UserUttered) and event.message_id == message_id:
            return {**event.parse_data, "entities": event.entities}
    return None
