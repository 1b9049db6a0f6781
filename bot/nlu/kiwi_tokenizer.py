"""Rasa tokenizer for Korean (and the English mixed into it) built on Kiwi's morphological analyser."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from kiwipiepy import Kiwi
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

# Where a token keeps its part-of-speech tag, as Rasa's spaCy tokenizer does.
POS = "pos"
# Where a token says that Kiwi's dictionary does not know it (a new name, or a typo such as 츼소 for 취소).
UNKNOWN = "unknown"


@lru_cache(maxsize=1)
def _kiwi() -> Kiwi:
    # Kiwi ships its model inside the wheel; loading takes a second or two, so once per process.
    # Its multi-word dictionary (long proper nouns) costs ~180 MB of memory and adds nothing to
    # intent classification; num_workers=-1 tokenises in the calling thread, with no pool to start.
    return Kiwi(num_workers=-1, load_multi_dict=False)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class KiwiTokenizer(Tokenizer):
    """Splits text into morphemes.

    A token's `text` is the exact span of the original message (so entity offsets line up) and its
    `lemma` is Kiwi's normalised morpheme (했어요 → 하/었/어요), which the featurizers use, `data["pos"]` its
    part-of-speech tag (VV, EP, EF...) and `data["unknown"]` whether Kiwi's dictionary lacks it.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KiwiTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        tokens = [
            Token(
                text[t.start : t.start + t.len], t.start, data={POS: t.tag, UNKNOWN: bool(t.oov)}, lemma=t.form.lower()
            )
            for t in _kiwi().tokenize(text)
            if t.len > 0 and not text[t.start : t.start + t.len].isspace()
        ]
        # Rasa's featurizers expect at least one token, as its own tokenizers guarantee.
        return tokens or [Token(text, 0)]
