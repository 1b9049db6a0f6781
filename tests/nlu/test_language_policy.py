from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.nlu.language_policy import LanguagePolicy

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, help]
slots:
  language:
    type: categorical
    values: [ko, en]
    initial_value: ko
    influence_conversation: false
    mappings:
      - type: custom
responses:
  utter_greet:
    - text: hi
"""
)


def predict(tmp_path, user: UserUttered, slot: str = "ko") -> PolicyPrediction:
    policy = LanguagePolicy.create(
        LanguagePolicy.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("language_policy"),
        ExecutionContext(graph_schema=None),
    )
    tracker = DialogueStateTracker.from_events(
        "web:citizen", [ActionExecuted("action_listen"), SlotSet("language", slot), user], slots=DOMAIN.slots
    )
    return policy.predict_action_probabilities(tracker, DOMAIN)


def test_an_english_message_switches_the_slot_to_english_and_predicts_no_action(tmp_path):
    prediction = predict(tmp_path, UserUttered("hello", parse_data={"language": "en"}))
    assert prediction.events == [SlotSet("language", "en")]
    assert max(prediction.probabilities) == 0.0


def test_nothing_changes_when_the_language_stays_the_same(tmp_path):
    assert predict(tmp_path, UserUttered("안녕", parse_data={"language": "ko"})).events == []


def test_a_pressed_button_uses_the_gateways_hint(tmp_path):
    button = UserUttered("/help", parse_data={}, metadata={"language_hint": "en"})
    assert predict(tmp_path, button).events == [SlotSet("language", "en")]


def test_no_language_at_all_leaves_the_slot_alone(tmp_path):
    assert predict(tmp_path, UserUttered("👍", parse_data={}), slot="en").events == []
