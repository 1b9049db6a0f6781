"""Rasa policy that sends a typed question no flow fits to the city's knowledge base (`action_answer_from_knowledge`).

It fires on a typed message the NLU placed among questions about city services no flow handles (`city_question`),
did not place (`nlu_fallback`), placed outside the city's services (`out_of_scope`), or gave to a flow with a weak
confidence: the model is sure of itself on questions it was never taught (before `city_question`, "여권 발급 시간"
was a booking `inform` at 0.90), so a flow intent below `weak_confidence` asks the knowledge base first, strictly
(the api answers only on a strong match). Without one the action reverts itself (`ActionReverted`), the rules run
the flow the intent asked for, and this policy stands aside until the next message. Its priority is above
RulePolicy's, so it wins their ties at 1.0.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from rasa.core.constants import RULE_POLICY_PRIORITY
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY

from bot.nlu.untrained_policy import UntrainedPolicy, ran_for_latest_message

ANSWER_FROM_KNOWLEDGE = "action_answer_from_knowledge"
# `inform` outside a form starts a booking.
FLOW_INTENTS = (
    "tour_*", "book_tour", "my_bookings", "cancel_booking", "change_booking", "join_waitlist", "inform",
    "notice_*", "my_notices", "my_subscriptions", "opendata_*", "facility_nearby", "report_problem", "report_status",
)  # fmt: skip


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class KnowledgePolicy(UntrainedPolicy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "priority": RULE_POLICY_PRIORITY + 1,
            # Intents that always go to the knowledge base when typed.
            "fallback_intents": ["out_of_scope", "nlu_fallback", "city_question"],
            # Intents of a flow (shell patterns); typed below `weak_confidence`, the knowledge base is asked first.
            "flow_intents": list(FLOW_INTENTS),
            "weak_confidence": 0.95,
        }

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = [0.0] * domain.num_actions
        if tracker.latest_action_name == ANSWER_FROM_KNOWLEDGE:
            # It answered or declined: the turn is over (no rule ends with this action).
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        elif self.should_ask(tracker):
            probabilities[domain.index_for_action(ANSWER_FROM_KNOWLEDGE)] = 1.0
        return self._prediction(probabilities)

    def should_ask(self, tracker: DialogueStateTracker) -> bool:
        """Whether the latest message is a typed question for the knowledge base rather than for a flow."""
        message = tracker.latest_message
        if (
            message is None
            or tracker.latest_action_name != ACTION_LISTEN_NAME
            or tracker.active_loop_name
            or not typed(message)
            or ran_for_latest_message(tracker, ANSWER_FROM_KNOWLEDGE)
        ):
            return False
        intent = message.intent.get(INTENT_NAME_KEY)
        if intent in self.config["fallback_intents"]:
            return True
        confidence = message.intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0
        return self.is_flow_intent(intent) and confidence < self.config["weak_confidence"]

    def is_flow_intent(self, intent: str | None) -> bool:
        return intent is not None and any(fnmatchcase(intent, pattern) for pattern in self.config["flow_intents"])


def typed(message: UserUttered) -> bool:
    """Written by the citizen: not a button's `/intent{...}` payload, and not a test story's bare intent."""
    return bool(message.text) and not message.text.startswith("/")
