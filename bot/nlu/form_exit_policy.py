"""Rasa policy that lets a citizen leave a form by starting another topic (`action_leave_form`).

Inside a form, Rasa runs the form first, and a form whose question takes any typed text took "DMZ 투어 예약하고
싶어요" as a phone number and refused it; only "그만" got out. When the latest message is another flow's request
(`leave_intents`) predicted with at least `confidence`, this policy predicts the leave action instead; the action
forgets the form's answers, closes it and takes itself back, so the rules then start the new topic as for any first
message.

What a form handles itself, or answers in the middle and then asks its question again (data/rules: help and tour
questions while booking or reporting), is listed under `stay` for that form. A form asking for free text (a search
keyword, what happened, a comment) also stays on the intents its answers are often mistaken for ("주차장" as a
keyword reads as a parking search). Its prediction is marked as not using the citizen's message, the kind Rasa's
ensemble prefers, because the form's own "continue the loop" prediction is of that kind and must lose to it.
"""

from __future__ import annotations

from typing import Any

from rasa.core.constants import RULE_POLICY_PRIORITY
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY

from bot.nlu.untrained_policy import UntrainedPolicy, ran_for_latest_message

LEAVE_FORM = "action_leave_form"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class FormExitPolicy(UntrainedPolicy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Above RulePolicy, whose "run the open form" prediction it has to beat.
            "priority": RULE_POLICY_PRIORITY + 2,
            "confidence": 0.7,
            "leave_intents": [],
            "stay": {},
        }

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = [0.0] * domain.num_actions
        if tracker.latest_action_name == LEAVE_FORM:
            # The leave action always takes itself back; one still standing (a test story cannot write the undo
            # down) ends the turn rather than the form asking again or the fallback answering.
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            return self._prediction(probabilities, is_no_user_prediction=True)
        leaving = self.should_leave(tracker)
        if leaving and LEAVE_FORM in domain.action_names_or_texts:
            probabilities[domain.index_for_action(LEAVE_FORM)] = 1.0
        return self._prediction(probabilities, is_no_user_prediction=leaving)

    def should_leave(self, tracker: DialogueStateTracker) -> bool:
        """Whether the latest message, just received inside a form, clearly asks for another topic."""
        form = tracker.active_loop_name
        message = tracker.latest_message
        if (
            not form
            or message is None
            or tracker.latest_action_name != ACTION_LISTEN_NAME
            or ran_for_latest_message(tracker, LEAVE_FORM)
        ):
            return False
        intent = message.intent.get(INTENT_NAME_KEY)
        confidence = message.intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0
        return (
            intent in self.config["leave_intents"]
            and intent not in (self.config["stay"].get(form) or [])
            and confidence >= self.config["confidence"]
        )
