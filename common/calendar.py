"""Names of the weekdays in Korean and English (Monday first, as `date.weekday()` counts)."""

from datetime import date

WEEKDAYS = {"ko": ("월", "화", "수", "목", "금", "토", "일"), "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def weekday_name(day: date, language: str) -> str:
    """ "토" or "Sat": the short name of the day's weekday, in English when `language` is "en", else in Korean."""
    return WEEKDAYS["en" if language == "en" else "ko"][day.weekday()]
