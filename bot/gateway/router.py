"""Routes each incoming message: a turn begun with the api, answered by Rasa (mode bot) or left to the staff inbox
(mode human), and ended with the api: at most one api call before Rasa (two for a photo: its upload), one Rasa call,
and one api call after."""

import asyncio
import logging
import re
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.gateway import personal_notices
from bot.gateway.api_client import ApiClient, ApiUnavailable, PhotoRefused
from bot.gateway.messages import IncomingMessage, Reply, clean_text
from bot.gateway.nlu_inbox import inbox_report
from bot.gateway.own_replies import language_menu, own_reply
from bot.gateway.rasa_client import RasaClient, RasaUnavailable
from common.language import detect_language
from common.payloads import payload

logger = logging.getLogger(__name__)
# Messenger commands and the intent each one asks for; /language the gateway answers itself.
COMMANDS = {"start": "/greet", "help": "/help"}
LANGUAGE_CHOICE = re.compile(r'^/choose_language\{"language":\s*"(ko|en|auto)"\}$')
DEFAULT_LEASE_SECONDS = 20
# What the transcript shows for a photo, before its caption.
PHOTO_LABEL = {"ko": "[사진]", "en": "[photo]"}


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


@dataclass
class TurnEnd:
    """How a turn ended, as the api records it in the turn's closing call."""

    replies: list[Reply]
    # False when the replies only said the assistant could not answer: a retry of the message is answered again.
    answered: bool = True
    bot_reset: bool = False
    language_choice: str | None = None  # ko, en or auto
    parse: dict[str, Any] | None = None  # the NLU inbox's report


class MessageRouter:
    def __init__(
        self,
        api: ApiClient,
        rasa: RasaClient,
        max_nlu_chars: int,
        inbox_reports: bool = False,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self._api = api
        self._rasa = rasa
        self._max_nlu_chars = max_nlu_chars
        self._inbox_reports = inbox_reports
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
        # A command ("/start") is no sign of the citizen's language: their messenger's setting is. A message without
        # words (a location, a photo) keeps the conversation's language; the setting only starts a new one. A shared
        # location's text is the web page's own label ("📍 My location"), in the browser's language: not the citizen's.
        words = None if message.command or message.location else text
        detected = message.language_hint if message.command else detect_language(words or "")
        text = self._shown(message, text, detected or message.language_hint)
        turn = await self._begin(message, text, detected)
        if turn["duplicate"] and turn.get("in_progress"):
            turn = await self._after_the_other_delivery(message, text, detected)
        language = detected or turn.get("language") or message.language_hint
        if turn["duplicate"]:
            return [_stored_reply(stored) for stored in turn["replies"]]
        if turn.get("settled") or (turn["mode"] == "human" and not turn.get("handoff_taken")):
            # The api answered it itself: a person has (or will have) this conversation and the message waits in the
            # staff inbox (the citizen may be told it arrived, or why a button does nothing now), or it was a
            # satisfaction score. It is marked answered, and a retry of it gets the same answer.
            return [_stored_reply(stored) for stored in turn.get("answer") or []]
        # The api holds the message for this turn only while we say we are still at it (Rasa can be slow).
        holding = asyncio.create_task(self._hold(turn["message_id"]))
        try:
            ended = await self._turn(message, turn, text, language)
            await self._api.end_turn(
                turn["message_id"],
                ended.replies,
                answered=ended.answered,
                bot_reset=ended.bot_reset,
                language_choice=ended.language_choice,
                parse=ended.parse,
            )
        finally:
            holding.cancel()
        return ended.replies

    @staticmethod
    def _shown(message: IncomingMessage, text: str, language: str | None) -> str:
        """What the transcript shows: a photo's label before its caption."""
        if message.photo is None:
            return text
        return " ".join(filter(None, (PHOTO_LABEL["en" if language == "en" else "ko"], text)))

    async def _begin(self, message: IncomingMessage, text: str, language: str | None) -> dict:
        return await self._api.begin_turn(
            message, text, language, uuid.uuid4().hex, self._lease_seconds, language_hint=message.language_hint
        )

    async def _after_the_other_delivery(self, message: IncomingMessage, text: str, language: str | None) -> dict:
        """Another delivery holds this message. Wait for it: either it answers, or its hold lapses (its
        process died) and this delivery takes the message over. Dropping the retry instead would leave a
        message whose answering process died unanswered: Telegram does not deliver it a third time."""
        deadline = time.monotonic() + 2 * self._lease_seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(min(1.0, self._lease_seconds / 4))
            turn = await self._begin(message, text, language)
            if not (turn["duplicate"] and turn.get("in_progress")):
                return turn
        raise TurnInProgress(turn["message_id"])

    async def _hold(self, message_id: int) -> None:
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            try:
                await self._api.extend_lease(message_id, self._lease_seconds)
            except ApiUnavailable as error:
                logger.warning(
                    "could not extend the hold on a message", extra={"message_id": message_id, "error": str(error)}
                )

    async def _turn(self, message: IncomingMessage, turn: dict, text: str, language: str | None) -> TurnEnd:
        preferred = turn.get("preferred_language")
        language = preferred or language
        if turn.get("handoff_taken"):
            return TurnEnd([own_reply("handoff_taken", language)])
        if message.pressed_button and not turn["button_offered"]:
            return TurnEnd([own_reply("unknown_button", language)])
        bot_reset = bool(turn.get("reset_bot")) and await self._reset_bot(message, turn["message_id"])
        ended = await self._answer(message, turn, text, language, preferred)
        ended.bot_reset = bot_reset
        return ended

    async def _answer(
        self, message: IncomingMessage, turn: dict, text: str, language: str | None, preferred: str | None
    ) -> TurnEnd:
        button = turn.get("button")
        typed = False
        if message.command == "language":
            return TurnEnd([language_menu(language)])
        if button is not None and (choice := LANGUAGE_CHOICE.match(button)):
            return self._choose_language(choice.group(1), language)
        if message.photo is not None:
            try:
                rasa_text = await self._photo_payload(message, language)
            except PhotoRefused as refusal:
                # The api's reason is the answer: nothing was kept, and the assistant has nothing to go on.
                return TurnEnd([Reply(text=refusal.message)])
            except ApiUnavailable as error:
                logger.warning("photo not uploaded", extra={"message_id": turn["message_id"], "error": str(error)})
                # Not an answer: the channel's retry of the message uploads it again (the api keeps it once).
                return TurnEnd([own_reply("assistant_down", language)], answered=False)
        elif message.command in COMMANDS:
            rasa_text = COMMANDS[message.command]
        elif button is not None:
            rasa_text = button
        elif message.location:
            latitude, longitude = message.location
            rasa_text = payload("facility_nearby", latitude=latitude, longitude=longitude)
        elif not text:
            return TurnEnd([own_reply("empty", language)])
        elif len(text) > self._max_nlu_chars:
            return TurnEnd([own_reply("too_long", language, limit=self._max_nlu_chars)])
        else:
            rasa_text, typed = text, True

        metadata = {"channel": message.channel, "language_hint": language, **message.extra}
        if preferred:
            metadata["language_preference"] = preferred
        try:
            # The api's id of the message, the same on every delivery of it: a delivery taking over one whose gateway
            # died (`retry`) gets the replies Rasa may already have recorded for it instead of running it twice.
            answer = await self._rasa.send(
                message.sender_id,
                rasa_text,
                metadata,
                with_parse=self._inbox_reports,
                message_id=str(turn["message_id"]),
                retry=bool(turn.get("retry")),
            )
        except RasaUnavailable as error:
            logger.warning("rasa unavailable", extra={"message_id": turn["message_id"], "error": str(error)})
            # Not an answer: a retry of the message is answered when the assistant is back.
            return TurnEnd([own_reply("assistant_down", language)], answered=False)
        if not answer.replies:
            # Every message gets an answer; none means the turn failed inside Rasa (an action server it could not
            # reach): say so, and a retry of the message is answered again.
            logger.warning("rasa gave no reply", extra={"message_id": turn["message_id"]})
            return TurnEnd([own_reply("assistant_down", language)], answered=False)
        replies = await personal_notices.opened(self._api, message, answer.replies, language)
        parse = inbox_report(answer.parse, typed, language) if self._inbox_reports else None
        return TurnEnd(replies, parse=parse)

    async def _photo_payload(self, message: IncomingMessage, language: str | None) -> str:
        """Uploads the photo and says so to the assistant, with where it was taken when the photo tells."""
        photo = message.photo
        uploaded = await self._api.upload_report_photo(
            message.channel, message.channel_user_id, photo.data, photo.filename, photo.content_type, language
        )
        if uploaded.latitude is None or uploaded.longitude is None:
            return payload("report_photo", photo_id=uploaded.photo_id)
        return payload(
            "report_photo", photo_id=uploaded.photo_id, latitude=uploaded.latitude, longitude=uploaded.longitude
        )

    @staticmethod
    def _choose_language(choice: str, language: str | None) -> TurnEnd:
        preferred = None if choice == "auto" else choice
        reply = own_reply("language_auto" if preferred is None else "language_set", preferred or language)
        return TurnEnd([reply], language_choice=choice)

    async def _reset_bot(self, message: IncomingMessage, message_id: int) -> bool:
        """A person handed the conversation back: the assistant starts afresh, without stale forms or slots. False
        when Rasa could not be reached: the api keeps the reset pending for the next message."""
        try:
            await self._rasa.resume_afresh(message.sender_id)
        except RasaUnavailable as error:
            # The error names the tracker's URL, which holds the sender id: a web chat user's id stays out of logs.
            reason = str(error).replace(message.channel_user_id, "…")
            logger.warning("rasa reset failed", extra={"message_id": message_id, "error": reason})
            return False
        return True


def _stored_reply(stored: dict) -> Reply:
    return Reply(text=stored.get("text"), **(stored.get("payload") or {}))
