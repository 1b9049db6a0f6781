import pytest

from bot.gateway.messages import clean_text


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
