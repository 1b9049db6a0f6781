import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.language_detector import LanguageDetector
from common.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("안녕하세요", "ko"),
        ("ㄱㅅ", "ko"),
        ("DMZ 투어 예약", "ko"),
        ("hello there", "en"),
        ("Book 2 seats", "en"),
        ("😀👍", None),
        ("12345", None),
        ("7KQ3XP", None),
        ("010-1234-5678", None),
        ("Book 2 seats at 2pm", "en"),
        ("", None),
        (None, None),
    ],
)
def test_language_is_told_by_the_letters(text, language):
    assert detect_language(text) == language


def _process(text: str, metadata: dict | None = None) -> Message:
    message = Message(data={"text": text, "metadata": metadata})
    LanguageDetector().process([message])
    return message


def test_detected_language_is_part_of_the_parse_result():
    message = _process("hello")
    assert message.get("language") == "en"
    assert message.as_dict(only_output_properties=True)["language"] == "en"


def test_the_channel_hint_decides_when_the_text_has_no_letters():
    assert _process("👍", {"language_hint": "en"}).get("language") == "en"
    assert _process("👍").get("language") is None


def test_a_button_payload_is_not_read_as_english():
    assert _process("/help", {"language_hint": "ko"}).get("language") == "ko"
    assert _process("/help").get("language") is None


def test_an_unsupported_hint_is_ignored():
    assert _process("123", {"language_hint": "fr"}).get("language") is None
