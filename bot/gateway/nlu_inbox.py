"""Tells the api's NLU inbox what Rasa made of each citizen message, in the background.

Rasa's REST replies carry no parse result, so after a reply the gateway reads the parse of the
conversation's latest user message from Rasa's tracker (without its events: one small request) and
reports it. The citizen's reply never waits for this, and when Rasa or the api cannot be reached
the report is dropped with a log line: it is analytics, not the conversation.
"""

import asyncio
import logging
import time
from typing import Any

from bot.gateway.api_client import ApiClient, ApiUnavailable
from bot.gateway.rasa_client import RasaClient, RasaUnavailable

logger = logging.getLogger(__name__)
# The gateway puts the api's message id into the metadata Rasa keeps with each user message, so a
# report is only made of the parse of that very message.
MESSAGE_ID_KEY = "api_message_id"
FALLBACK_INTENT = "nlu_fallback"
MAX_ENTITIES = 20


class InboxReporter:
    def __init__(self, api: ApiClient, rasa: RasaClient, enabled: bool = True) -> None:
        self._api = api
        self._rasa = rasa
        self._enabled = enabled
        self._tasks: set[asyncio.Task] = set()

    def report(self, sender_id: str, message_id: int, typed: bool, language: str | None) -> None:
        """Reports the message once Rasa has answered it; returns at once."""
        if not self._enabled:
            return
        task = asyncio.create_task(self._report(sender_id, message_id, typed, language))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 5.0) -> None:
        """Waits a little for reports still on their way (at shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def _report(self, sender_id: str, message_id: int, typed: bool, language: str | None) -> None:
        started = time.perf_counter()
        body: dict[str, Any] = {"message_id": message_id, "typed": typed}
        try:
            if typed:
                latest = await self._rasa.latest_message(sender_id)
                if (latest.get("metadata") or {}).get(MESSAGE_ID_KEY) != message_id:
                    logger.info(
                        "nlu inbox: the conversation moved on before its parse was read",
                        extra={"message_id": message_id},
                    )
                    return
                body |= parse_report(latest, language)
            await self._api.report_parse(body)
        except (RasaUnavailable, ApiUnavailable) as error:
            # The error may name the tracker's URL, which holds the sender id: a web chat user's id stays out of logs.
            reason = str(error).replace(sender_id.partition(":")[2], "…")
            logger.info("nlu inbox report dropped", extra={"message_id": message_id, "error": reason})
            return
        logger.debug("nlu inbox report", extra={"ms": round((time.perf_counter() - started) * 1000, 1)})


def parse_report(latest: dict[str, Any], language: str | None) -> dict[str, Any]:
    """The inbox's view of Rasa's parse: below the fallback threshold, the best real intent and its confidence."""
    intent = latest.get("intent") or {}
    fallback = intent.get("name") == FALLBACK_INTENT
    if fallback:
        ranking = latest.get("intent_ranking") or []
        intent = next((ranked for ranked in ranking if ranked.get("name") != FALLBACK_INTENT), {})
    detected = latest.get("language")
    return {
        "text": latest.get("text"),
        "language": detected if detected in ("ko", "en") else language,
        "intent": intent.get("name"),
        "confidence": min(max(float(intent.get("confidence") or 0.0), 0.0), 1.0),
        "entities": [
            {"entity": entity.get("entity"), "value": entity.get("value"), "extractor": entity.get("extractor")}
            for entity in (latest.get("entities") or [])[:MAX_ENTITIES]
        ],
        "fallback": fallback,
    }
