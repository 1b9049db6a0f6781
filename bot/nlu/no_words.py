"""Rasa component: a message with no word in it (digits, punctuation, arithmetic and currency signs only) is decided by
its form, not by the intent classifier's guess: six digits are a verification code (`verify_code`, as the code the
city sends is written), an answer the entity extractors found something in (a phone number, a date, a time) is
`inform`, and anything else is not understood (`nlu_fallback`).

DIET has to put every message somewhere, and a message of digits alone landed confidently on intents such as
`request_human`. Emoji are left to the classifier, since 👍 or 🙏 do say something.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

FALLBACK_INTENT = "nlu_fallback"
ANSWER_INTENT = "inform"
CODE_INTENT = "verify_code"
# A verification code as citizens type it: six digits, perhaps split by a space or a hyphen ("482 913").
CODE = re.compile(r"\d{3}[\s-]?\d{3}")
# Unicode general categories that say nothing by themselves: numbers, punctuation, separators, and the math,
# currency and modifier symbols (So, the other symbols, holds the emoji).
WORDLESS = ("N", "P", "Z", "Sm", "Sc", "Sk", "C")


def has_words(text: str) -> bool:
    """Whether the text has a letter (of any script) or an emoji."""
    return any(not unicodedata.category(ch).startswith(WORDLESS) for ch in text)


def wordless_intent(text: str, has_entities: bool) -> str:
    if CODE.fullmatch(text):
        return CODE_INTENT
    return ANSWER_INTENT if has_entities else FALLBACK_INTENT


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class NoWordsClassifier(GraphComponent):
    """Placed after the intent classifier and the entity extractors: decides a wordless message's intent."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> NoWordsClassifier:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not text.strip() or has_words(text):
                continue
            name = wordless_intent(text.strip(), has_entities=bool(message.get(ENTITIES)))
            decided = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
            others = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name]
            message.set(INTENT, decided, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [decided, *others], add_to_output=True)
        return messages
