"""Weekdays are named in the conversation's language."""

from datetime import date

from common.calendar import weekday_name

SATURDAY = date(2026, 12, 5)


def test_a_weekday_is_named_in_english_when_asked_and_in_korean_otherwise():
    names = [weekday_name(SATURDAY, language) for language in ("ko", "en", "ja")]
    assert names == ["토", "Sat", "토"]
