"""A message without words is decided by its form (bot/nlu/no_words.py), whatever the classifier guessed."""

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.no_words import NoWordsClassifier


def _classified(text: str, guess: str = "request_human", entities: list | None = None) -> Message:
    message = Message(data={"text": text})
    message.set("intent", {"name": guess, "confidence": 0.98}, add_to_output=True)
    message.set("intent_ranking", [{"name": guess, "confidence": 0.98}, {"name": "greet", "confidence": 0.02}])
    message.set("entities", entities or [], add_to_output=True)
    NoWordsClassifier().process([message])
    return message


@pytest.mark.parametrize("text", ["12345", "1111111111", "...", "?!?!", "0000 0000", "+++", "₩₩₩", "1+1=2"])
def test_digits_and_symbols_alone_are_not_understood(text):
    message = _classified(text)
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 1.0}
    # The classifier's guesses stay below, for whoever reads the parse.
    assert [r["name"] for r in message.get("intent_ranking")] == ["nlu_fallback", "request_human", "greet"]


@pytest.mark.parametrize("text", ["482913", "482 913", "482-913"])
def test_six_digits_are_a_verification_code(text):
    assert _classified(text).get("intent")["name"] == "verify_code"


def test_a_phone_number_or_a_date_found_in_the_digits_is_an_answer():
    phone = {"entity": "phone", "value": "010-1234-5678", "start": 0, "end": 13}
    assert _classified("010-1234-5678", entities=[phone]).get("intent")["name"] == "inform"
    date = {"entity": "date", "value": "12/24", "start": 0, "end": 5}
    assert _classified("12/24", entities=[date]).get("intent")["name"] == "inform"


@pytest.mark.parametrize("text", ["2명", "네", "ok 1", "👍", "ㅋㅋㅋ", "", "   "])
def test_a_message_with_a_word_or_an_emoji_keeps_the_classifiers_intent(text):
    assert _classified(text, guess="affirm").get("intent")["name"] == "affirm"
