"""The base of the project's Rasa policies that learn nothing: each reads what it needs from the message itself."""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


def ran_for_latest_message(tracker: DialogueStateTracker, action_name: str) -> bool:
    """Whether the action ran since the latest message: all events, since one that reverted itself is no longer
    among the applied ones."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, ActionExecuted) and event.action_name == action_name:
            return True
    return False


class UntrainedPolicy(Policy):
    def train(self, training_trackers: list, domain: Domain, **kwargs: Any) -> Resource:
        # Nothing to learn. Registered as not trainable, so Rasa never calls this; the base class requires it.
        return self._resource
