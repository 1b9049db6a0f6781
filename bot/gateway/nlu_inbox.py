"""What the gateway tells the api's NLU inbox about each message Rasa answered.

Rasa's gateway channel returns its parse of the message with the replies (bot/nlu/gateway_channel.py), and the
report travels to the api with the replies, in the turn's one closing call (`parse` of the api's TurnEnd).
"""

import logging
from typing import Any

logger = logging.getLogger(__name__)
FALLBACK_INTENT = "nlu_fallback"
MAX_ENTITIES = 20


def inbox_report(parse: dict[str, Any] | None, typed: bool, language: str | None) -> dict[str, Any] | None:
    """The report of one message Rasa answered: a typed one with its parse; a button press, command or location
    without one (a handoff may still follow it). None when Rasa gave no parse of a typed message."""
    if not typed:
        return {"typed": False}
    if not parse:
        logger.info("nlu inbox: Rasa gave no parse of the message")
        return None
    return {"typed": True, **parse_report(parse, language)}


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
