"""Button payloads are written the way Rasa parses them, whatever the entity values hold."""

from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.shared.nlu.training_data.message import Message

from common.payloads import payload


def test_an_intent_without_entities_is_the_intent_alone():
    assert payload("help") == "/help"


def test_entities_follow_as_compact_json_with_korean_kept_readable():
    assert payload("facility_nearby", facility_kind="toilet", place="금촌역") == (
        '/facility_nearby{"facility_kind":"toilet","place":"금촌역"}'
    )


def test_rasa_reads_back_values_with_quotes_and_braces():
    question = '"금촌 {제2}" 주차장의 주차면 수는?'
    [parsed] = RegexMessageHandler().process([Message(data={"text": payload("opendata_question", q=question)})])
    assert parsed.get("intent")["name"] == "opendata_question"
    assert [(e["entity"], e["value"]) for e in parsed.get("entities")] == [("q", question)]
