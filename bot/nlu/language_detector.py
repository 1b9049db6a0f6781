"""Rasa component that tells whether a message is Korean or English (`language` in the parse result)."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.language import SUPPORTED, detect_language

LANGUAGE = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class LanguageDetector(GraphComponent):
    """Sets `language` to "ko" or "en" from the letters of the text.

    When the text has no letters (emoji, digits) or is a button payload, the channel's hint in the message metadata is
    used (`language_hint`: the citizen's chosen or messenger language); without one, nothing is
    set and the conversation keeps its language.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            # A button payload ("/help") is not the citizen's writing: only the hint counts.
            language = None if text.startswith("/") else detect_language(text)
            if language is None:
                hint = (message.get(METADATA) or {}).get("language_hint")
                language = hint if hint in SUPPORTED else None
            if language:
                message.set(LANGUAGE, language, add_to_output=True)
        return messages
