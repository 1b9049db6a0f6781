"""Rasa policy that keeps the `language` slot in step with the language of the citizen's last message.

It never predicts an action (all probabilities are zero); it only returns a `SlotSet` event, which
Rasa applies whichever policy wins, before the next action and its response are rendered. Doing
this inside Rasa rather than through a custom slot-mapping action saves an action-server round
trip on every message, which was half of Rasa's time per message.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.nlu.language_detector import LANGUAGE
from bot.nlu.untrained_policy import UntrainedPolicy
from common.language import SUPPORTED


def message_language(message: UserUttered | None) -> str | None:
    """The citizen's chosen language (/language); else the NLU's detection, or for a pressed button
    (which skips the NLU) the gateway's hint."""
    if message is None:
        return None
    metadata = message.metadata or {}
    language = metadata.get("language_preference") or message.parse_data.get(LANGUAGE) or metadata.get("language_hint")
    return language if language in SUPPORTED else None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class LanguagePolicy(UntrainedPolicy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 0}

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        language = message_language(tracker.latest_message)
        changed = language is not None and language != tracker.get_slot(LANGUAGE)
        events = [SlotSet(LANGUAGE, language)] if changed else []
        return self._prediction([0.0] * domain.num_actions, events=events)
