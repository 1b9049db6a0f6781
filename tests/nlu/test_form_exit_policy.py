"""A clear request for another topic inside a form leaves the form for it (issue 21: "DMZ 투어 예약하고 싶어요" was
refused as a phone number), with the policy configured as config.yml configures it and Rasa's own RulePolicy and
ensemble, as the rasa process runs them."""

from pathlib import Path

import pytest
import yaml
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.training import load_data
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionReverted, ActiveLoop, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.nlu.form_exit_policy import LEAVE_FORM, FormExitPolicy

ROOT = Path(__file__).resolve().parents[2]
CONFIG = next(
    {k: v for k, v in p.items() if k != "name"}
    for p in yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["policies"]
    if p["name"] == "bot.nlu.form_exit_policy.FormExitPolicy"
)
DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [book_tour, help, my_notices, tour_info, inform, notice_search, facility_nearby]
actions: [action_leave_form, action_my_notices]
slots:
  link_phone:
    type: text
    mappings:
      - type: from_text
        conditions:
          - active_loop: phone_link_form
            requested_slot: link_phone
forms:
  phone_link_form:
    required_slots: [link_phone]
  booking_form:
    required_slots: []
  notice_search_form:
    required_slots: []
responses:
  utter_help:
    - text: help
"""
)
RULES = """
version: "3.1"
rules:
  - rule: start booking
    steps:
      - intent: book_tour
      - action: booking_form
      - active_loop: booking_form
  - rule: help menu
    steps:
      - intent: help
      - action: utter_help
"""


def _policy(tmp_path, **config) -> FormExitPolicy:
    return FormExitPolicy.create(
        {**FormExitPolicy.get_default_config(), **CONFIG, **config},
        LocalModelStorage(tmp_path),
        Resource("form_exit_policy"),
        ExecutionContext(graph_schema=None),
    )


def _rule_policy(tmp_path) -> RulePolicy:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES, encoding="utf-8")
    policy = RulePolicy.create(
        RulePolicy.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("rule_policy"),
        ExecutionContext(graph_schema=None),
    )
    policy.train(load_data(str(rules), DOMAIN, augmentation_factor=0), DOMAIN)
    return policy


def said(text: str, intent: str, confidence: float = 0.98) -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": confidence})


def in_form(form: str, message: UserUttered, *after: Event) -> DialogueStateTracker:
    """A form open and asking, then the citizen's message (and what followed it)."""
    events = [
        ActionExecuted("action_listen"),
        said("/start", "my_notices", 1.0),
        ActionExecuted(form),
        ActiveLoop(form),
        SlotSet("requested_slot", "link_phone"),
        ActionExecuted("action_listen"),
        message,
        *after,
    ]
    return DialogueStateTracker.from_events("web:citizen", events, DOMAIN.slots)


def predicted(prediction: PolicyPrediction) -> str | None:
    if max(prediction.probabilities) == 0.0:
        return None
    return DOMAIN.action_names_or_texts[prediction.probabilities.index(max(prediction.probabilities))]


def _winner(tmp_path, state: DialogueStateTracker) -> str | None:
    predictions = [p.predict_action_probabilities(state, DOMAIN) for p in (_policy(tmp_path), _rule_policy(tmp_path))]
    return predicted(DefaultPolicyPredictionEnsemble().combine_predictions(predictions, state, DOMAIN))


@pytest.mark.parametrize(
    "message",
    [said("DMZ 투어 예약하고 싶어요", "book_tour"), said("I want to book a DMZ tour", "book_tour", 0.9)],
)
def test_a_booking_request_asked_for_a_phone_number_leaves_the_form_instead_of_filling_it(tmp_path, message):
    state = in_form("phone_link_form", message)
    # Without the policy, Rasa runs the open form on it (which took the words as the phone number).
    assert predicted(_rule_policy(tmp_path).predict_action_probabilities(state, DOMAIN)) == "phone_link_form"
    assert _winner(tmp_path, state) == LEAVE_FORM


def test_once_the_form_is_left_the_new_topic_starts_as_a_first_message_would(tmp_path):
    left = in_form(
        "phone_link_form",
        said("DMZ 투어 예약하고 싶어요", "book_tour"),
        ActionExecuted(LEAVE_FORM),
        ActionReverted(),
        ActiveLoop(None),
        SlotSet("link_phone", None),
    )
    assert left.latest_action_name == "action_listen" and left.active_loop_name is None
    assert predicted(_policy(tmp_path).predict_action_probabilities(left, DOMAIN)) is None
    assert _winner(tmp_path, left) == "booking_form"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ("phone_link_form", said("010-2345-6789", "inform")),  # the answer
        ("phone_link_form", said("도움말", "help")),  # answered in the middle, then asked again
        ("phone_link_form", said("예약 할까", "book_tour", 0.55)),  # not a clear request
        ("booking_form", said("투어 예약이요", "book_tour")),  # the form's own topic
        ("booking_form", said("투어 요금 얼마예요?", "tour_info")),  # a question the booking answers on the way
        ("notice_search_form", said("주차장", "facility_nearby")),  # a keyword, read as a parking search
    ],
)
def test_answers_questions_in_the_middle_and_unclear_requests_stay_with_the_form(tmp_path, form, message):
    assert predicted(_policy(tmp_path).predict_action_probabilities(in_form(form, message), DOMAIN)) is None


def test_outside_a_form_the_policy_stands_aside_and_a_leave_left_standing_ends_the_turn(tmp_path):
    outside = DialogueStateTracker.from_events(
        "web:citizen", [ActionExecuted("action_listen"), said("DMZ 투어 예약", "book_tour")], DOMAIN.slots
    )
    assert predicted(_policy(tmp_path).predict_action_probabilities(outside, DOMAIN)) is None
    # The leave action ran but was not taken back (a test story cannot write the undo down): the turn ends, with
    # neither a second leave nor the form asking again.
    again = in_form("phone_link_form", said("DMZ 투어 예약", "book_tour"), ActionExecuted(LEAVE_FORM))
    assert _winner(tmp_path, again) == "action_listen"
