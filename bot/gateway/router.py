"""Routes each incoming message: record it, then to Rasa (mode bot) or the staff inbox (mode human)."""

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.gateway.api_client import ApiClient
from bot.gateway.messages import IncomingMessage, Reply, clean_text
from bot.gateway.own_replies import own_reply
from bot.gateway.rasa_client import RasaClient, RasaUnavailable
from bot.language import detect_language

logger = logging.getLogger(__name__)
# Messenger commands and the intent each one asks for.
COMMANDS = {"start": "/greet", "help": "/help"}


class ConversationLocks:
    """One lock per conversation: a user's messages are handled in order, different users at once."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._users: dict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        self._users[key] += 1
        try:
            async with self._locks[key]:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]


class MessageRouter:
    def __init__(self, api: ApiClient, rasa: RasaClient, max_nlu_chars: int) -> None:
        self._api = api
        self._rasa = rasa
        self._max_nlu_chars = max_nlu_chars
        self._locks = ConversationLocks()

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        """Record the message once and return the assistant's replies (recorded too).

        Raises ApiUnavailable when the message could not be recorded: the channel should then
        ask the sender to retry, and a retry with the same message id is answered once.
        """
        async with self._locks.hold(message.sender_id):
            return await self._handle(message)

    async def _handle(self, message: IncomingMessage) -> list[Reply]:
        text = clean_text(message.text)
        # A command ("/start") is no sign of the citizen's language: their messenger's setting is.
        language = (None if message.command else detect_language(text)) or message.language_hint
        recorded = await self._api.record_incoming(message, text, language)
        if recorded["duplicate"]:
            return [_stored_reply(stored) for stored in recorded["replies"]]
        if recorded["mode"] == "human":
            # A staff member has this conversation: the message waits in their inbox.
            return []

        if message.payload is not None and not recorded["button_offered"]:
            replies = [own_reply("unknown_button", language)]
        else:
            replies = await self._answer(message, text, language)
        await self._api.record_replies(recorded["message_id"], replies)
        return replies

    async def _answer(self, message: IncomingMessage, text: str, language: str | None) -> list[Reply]:
        if message.command in COMMANDS:
            rasa_text = COMMANDS[message.command]
        elif message.payload is not None:
            rasa_text = message.payload
        elif not text:
            return [own_reply("empty", language)]
        elif len(text) > self._max_nlu_chars:
            return [own_reply("too_long", language, limit=self._max_nlu_chars)]
        else:
            rasa_text = text

        metadata = {"channel": message.channel, "language_hint": language, **message.extra}
        try:
            return await self._rasa.send(message.sender_id, rasa_text, metadata)
        except RasaUnavailable as error:
            logger.warning("rasa unavailable", extra={"sender": message.sender_id, "error": str(error)})
            return [own_reply("assistant_down", language)]


def _stored_reply(stored: dict) -> Reply:
    return Reply(text=stored.get("text"), **(stored.get("payload") or {}))
