"""Routes each incoming message: record it, then to Rasa (mode bot) or the staff inbox (mode human)."""

import asyncio
import json
import logging
import re
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.gateway import personal_notices
from bot.gateway.api_client import ApiClient, ApiUnavailable
from bot.gateway.messages import IncomingMessage, Reply, clean_text
from bot.gateway.nlu_inbox import MESSAGE_ID_KEY, InboxReporter
from bot.gateway.own_replies import language_menu, own_reply
from bot.gateway.rasa_client import RasaClient, RasaUnavailable
from bot.language import detect_language

logger = logging.getLogger(__name__)
# Messenger commands and the intent each one asks for; /language the gateway answers itself.
COMMANDS = {"start": "/greet", "help": "/help"}
CANCEL_HANDOFF = "/cancel_handoff"
LANGUAGE_CHOICE = re.compile(r'^/choose_language\{"language":\s*"(ko|en|auto)"\}$')
DEFAULT_LEASE_SECONDS = 20


class TurnInProgress(Exception):
    """The same message is being answered by another delivery of it right now; that one sends the answer."""


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
    def __init__(
        self,
        api: ApiClient,
        rasa: RasaClient,
        max_nlu_chars: int,
        inbox: InboxReporter | None = None,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self._api = api
        self._rasa = rasa
        self._max_nlu_chars = max_nlu_chars
        self._inbox = inbox
        self._lease_seconds = lease_seconds
        self._locks = ConversationLocks()

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        """Record the message once and return the assistant's replies (recorded too).

        Each message is answered once: a retry of an answered message returns the recorded
        replies; a retry while another delivery is answering it raises TurnInProgress; a retry of
        one whose turn died with its process (it was never answered) is answered now.
        Raises ApiUnavailable when the message could not be recorded: the channel should then
        ask the sender to retry.
        """
        async with self._locks.hold(message.sender_id):
            return await self._handle(message)

    async def _handle(self, message: IncomingMessage) -> list[Reply]:
        text = clean_text(message.text)
        # A command ("/start") is no sign of the citizen's language: their messenger's setting is.
        language = (None if message.command else detect_language(text)) or message.language_hint
        recorded = await self._record(message, text, language)
        if recorded["duplicate"] and recorded.get("in_progress"):
            recorded = await self._after_the_other_delivery(message, text, language)
        if recorded["duplicate"]:
            return [_stored_reply(stored) for stored in recorded["replies"]]
        # The api holds the message for this turn only while we say we are still at it (Rasa can be slow).
        holding = asyncio.create_task(self._hold(recorded["message_id"]))
        try:
            return await self._turn(message, recorded, text, language)
        finally:
            holding.cancel()

    async def _record(self, message: IncomingMessage, text: str, language: str | None) -> dict:
        return await self._api.record_incoming(message, text, language, uuid.uuid4().hex, self._lease_seconds)

    async def _after_the_other_delivery(self, message: IncomingMessage, text: str, language: str | None) -> dict:
        """Another delivery holds this message. Wait for it: either it answers, or its hold lapses (its
        process died) and this delivery takes the message over. Dropping the retry instead would leave a
        message whose answering process died unanswered: Telegram does not deliver it a third time."""
        deadline = time.monotonic() + 2 * self._lease_seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(min(1.0, self._lease_seconds / 4))
            recorded = await self._record(message, text, language)
            if not (recorded["duplicate"] and recorded.get("in_progress")):
                return recorded
        raise TurnInProgress(recorded["message_id"])

    async def _hold(self, message_id: int) -> None:
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            try:
                await self._api.extend_lease(message_id, self._lease_seconds)
            except ApiUnavailable as error:
                logger.warning(
                    "could not extend the hold on a message", extra={"message_id": message_id, "error": str(error)}
                )

    async def _turn(self, message: IncomingMessage, recorded: dict, text: str, language: str | None) -> list[Reply]:
        preferred = recorded.get("preferred_language")
        language = preferred or language
        reset_bot = recorded.get("reset_bot")
        if recorded["mode"] == "human":
            if recorded.get("button") != CANCEL_HANDOFF:
                # A person has (or will have) this conversation: the message waits in the staff inbox, which
                # answers it; marked so, a retry of it is not handled twice.
                await self._api.record_replies(recorded["message_id"], [])
                return []
            if not await self._api.cancel_handoff(message.channel, message.channel_user_id):
                replies = [own_reply("handoff_taken", language)]
                await self._api.record_replies(recorded["message_id"], replies)
                return replies
            reset_bot = True

        if message.pressed_button and not recorded["button_offered"]:
            replies = [own_reply("unknown_button", language)]
        else:
            if reset_bot:
                await self._reset_bot(message, recorded["message_id"])
            try:
                replies = await self._answer(
                    message, recorded["message_id"], recorded.get("button"), text, language, preferred
                )
            except RasaUnavailable as error:
                logger.warning("rasa unavailable", extra={"message_id": recorded["message_id"], "error": str(error)})
                replies = [own_reply("assistant_down", language)]
                # Not an answer: a retry of the message is answered when the assistant is back.
                await self._api.record_replies(recorded["message_id"], replies, answered=False)
                return replies
        await self._api.record_replies(recorded["message_id"], replies)
        return replies

    async def _answer(
        self,
        message: IncomingMessage,
        message_id: int,
        button: str | None,
        text: str,
        language: str | None,
        preferred: str | None,
    ) -> list[Reply]:
        typed = False
        if message.command == "language":
            return [language_menu(language)]
        if button is not None and (choice := LANGUAGE_CHOICE.match(button)):
            return [await self._choose_language(message, choice.group(1), language)]
        if message.command in COMMANDS:
            rasa_text = COMMANDS[message.command]
        elif button is not None:
            rasa_text = button
        elif message.location:
            latitude, longitude = message.location
            rasa_text = "/facility_nearby" + json.dumps({"latitude": latitude, "longitude": longitude})
        elif not text:
            return [own_reply("empty", language)]
        elif len(text) > self._max_nlu_chars:
            return [own_reply("too_long", language, limit=self._max_nlu_chars)]
        else:
            rasa_text, typed = text, True

        metadata = {"channel": message.channel, "language_hint": language, MESSAGE_ID_KEY: message_id, **message.extra}
        if preferred:
            metadata["language_preference"] = preferred
        replies = await self._rasa.send(message.sender_id, rasa_text, metadata)
        replies = await personal_notices.opened(self._api, message, replies, language)
        if self._inbox:
            self._inbox.report(message.sender_id, message_id, typed, language)
        return replies

    async def _choose_language(self, message: IncomingMessage, choice: str, language: str | None) -> Reply:
        preferred = None if choice == "auto" else choice
        await self._api.choose_language(message.channel, message.channel_user_id, preferred)
        return own_reply("language_auto" if preferred is None else "language_set", preferred or language)

    async def _reset_bot(self, message: IncomingMessage, message_id: int) -> None:
        """A person handed the conversation back: the assistant starts afresh, without stale forms or slots."""
        try:
            await self._rasa.resume_afresh(message.sender_id)
        except RasaUnavailable as error:
            # The error names the tracker's URL, which holds the sender id: a web chat user's id stays out of logs.
            reason = str(error).replace(message.channel_user_id, "…")
            logger.warning("rasa reset failed", extra={"message_id": message_id, "error": reason})
            return
        await self._api.bot_reset_done(message.channel, message.channel_user_id)


def _stored_reply(stored: dict) -> Reply:
    return Reply(text=stored.get("text"), **(stored.get("payload") or {}))
