"""Rasa's button payloads, `/intent{"entity":"value"}`: an intent and its entities, written as Rasa parses them."""

import json


def payload(intent: str, **entities: object) -> str:
    """`/intent` alone, or followed by the entities as compact JSON: quotes or braces in a value cannot break it, and
    Korean stays readable (a messenger's callback data has few bytes to spare)."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"
