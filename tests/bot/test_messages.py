import pytest

from bot.gateway.messages import BUTTON_PAYLOAD, clean_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (None, ""),
        ("  안녕하세요 \n", "안녕하세요"),
        ("안\x00녕\x07하세요", "안녕하세요"),
        ("줄1\n줄2\t끝", "줄1\n줄2\t끝"),
        ("\ufffe\uffff", ""),
        # Decomposed Hangul (as some keyboards send it) becomes the composed form.
        ("\u1100\u1161\u11a8", "각"),
    ],
)
def test_clean_text_removes_control_characters_and_normalises(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize("payload", ["/help", "/request_human", '/inform{"date": "2026-12-03"}'])
def test_button_payloads_rasa_understands_are_accepted(payload):
    assert BUTTON_PAYLOAD.match(payload)


@pytest.mark.parametrize("payload", ["help", "/", "/Help", "/help now", "/" + "a" * 80, "/x{" + "a" * 600 + "}"])
def test_anything_else_is_not_a_button_payload(payload):
    assert not BUTTON_PAYLOAD.match(payload)
