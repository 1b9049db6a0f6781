"""Finds dates, clock times and parts of day in Korean and English chat messages, resolved in Asia/Seoul."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.nlu.duckling_worker import DucklingWorker
from common.calendar import WEEKDAYS
from common.clock import SEOUL

# Numbers Duckling would misread: digit groups of phone numbers become years, and "for 2 on Saturday"
# (a party size) becomes 02:00 on Saturday. They are blanked out before Duckling sees the text.
_NOT_A_DATE = re.compile(
    r"(?<![\d+])(?:\+82[-.\s]?0?|0)\d{1,2}[-.\s]?\d{3,4}[-.\s]?\d{4}(?!\d)"
    r"|\bfor\s+\d{1,2}\b(?!\s*(?:[:./-]\d|[ap]\.?m\b|o'?clock))",
    re.IGNORECASE,
)
_GLPI = re.compile("글피")
# Duckling reads only the weekday of "담주 토요일" and "다다음주 토요일", which gives this week's.
_WEEK_AFTER = re.compile(r"(?P<weeks>다다음|담)\s*주\s*(?P<day>[월화수목금토일])(?:요일|욜)")
_PART_OF_DAY = re.compile(
    r"(?P<morning>(?:오전|아침)에?|(?<!good )\bmorning\b)|(?P<afternoon>오후에?|(?<!good )\bafternoon\b)", re.IGNORECASE
)
_MONTH = re.compile(r"\d\s*월|\d\s*/\s*\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.IGNORECASE)
_YEAR = re.compile(r"\d{4}|\d\s*년|'\d\d")
_DAY_OF_MONTH = re.compile(r"\d\s*일|\d(?:st|nd|rd|th)\b", re.IGNORECASE)
_WEEKDAY = re.compile(
    r"[월화수목금토일](?:요일|욜)|\b(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b", re.IGNORECASE
)
_WEEK_QUALIFIER = re.compile(r"주|다음|지난|저번|\b(?:next|last|coming|following)\b", re.IGNORECASE)
# What may stand between a date and a time that belong together ("토요일 오전", "Saturday, at 2pm").
_JOINER = re.compile(r"[\s,]*(?:at|on|in the|에)?[\s,]*", re.IGNORECASE)


@dataclass(frozen=True)
class DateMention:
    """One expression of a day, a clock time, a part of day ("morning", "afternoon") or a day with either.

    `text` is sliced from the message itself: Duckling's own copy comes back garbled for Korean.
    """

    start: int
    end: int
    text: str
    date: datetime.date | None
    time: datetime.time | None
    part_of_day: str | None


def find_dates(text: str, now: datetime.datetime) -> list[DateMention]:
    """Dates and times in `text`, as non-overlapping mentions sorted by position; `now` is timezone-aware."""
    today = now.astimezone(SEOUL).date()
    masked = _NOT_A_DATE.sub(lambda match: " " * len(match.group()), text)
    candidates = [(mention, False) for mention in _from_duckling(masked, text, now)]
    candidates += [(mention, True) for mention in _from_rules(masked, text, today)]
    # The longest reading wins; on a tie, the rule, since rules exist where Duckling is wrong.
    candidates.sort(key=lambda pair: (pair[0].start - pair[0].end, not pair[1], pair[0].start))
    chosen: list[DateMention] = []
    for mention, _ in candidates:
        if all(mention.end <= other.start or other.end <= mention.start for other in chosen):
            chosen.append(mention)
    return _join_dates_and_times(sorted(chosen, key=lambda mention: mention.start), text)


@lru_cache(maxsize=1)
def _duckling() -> DucklingWorker:
    return DucklingWorker()


def _from_duckling(masked: str, text: str, now: datetime.datetime) -> Iterator[DateMention]:
    today = now.astimezone(SEOUL).date()
    # Both languages on every message: Koreans write "2pm" and "12/13", and each parser knows only its own words.
    for result in _duckling().parse(masked, int(now.timestamp())):
        mention = _mention(result, text, today)
        if mention is not None:
            yield mention


def _mention(result: dict[str, Any], text: str, today: datetime.date) -> DateMention | None:
    value = result["value"]
    interval = value["type"] == "interval"
    point = (value.get("from") or value.get("to")) if interval else value
    # Years, months and weeks name no day ("다음주", phone digit groups read as years); "second" is "now".
    if point["grain"] not in ("day", "hour", "minute"):
        return None
    at = datetime.datetime.fromisoformat(point["value"])
    occurrences = [
        datetime.datetime.fromisoformat((v.get("from") or v.get("to"))["value"] if interval else v["value"])
        for v in value["values"]
    ]
    start = result["start"]
    # Duckling keeps a trailing comma in "on Saturday, walking tour".
    surface = text[start : result["end"]].rstrip(" ,")
    end = start + len(surface)
    date = _checked_date(at.date(), surface, today) if _names_a_day(point["grain"], occurrences) else None
    time = part_of_day = None
    if point["grain"] != "day":
        if interval and value.get("from") and value.get("to") and _hours(value) >= 4:
            part_of_day = "morning" if at.hour < 12 else "afternoon" if at.hour < 18 else None
        else:
            time = _tour_time(at, occurrences)
    if date is None and time is None and part_of_day is None:
        return None
    return DateMention(start, end, surface, date, time, part_of_day)


def _names_a_day(grain: str, occurrences: list[datetime.datetime]) -> bool:
    # Duckling lists the next few occurrences: a clock time or part of day alone ("2시", "오후에") recurs
    # daily, one tied to a day ("내일 2시", "토요일 오후") does not.
    days = sorted({occurrence.date() for occurrence in occurrences})
    return grain == "day" or len(days) < 2 or (days[1] - days[0]).days > 1


def _hours(interval: dict[str, Any]) -> float:
    start = datetime.datetime.fromisoformat(interval["from"]["value"])
    end = datetime.datetime.fromisoformat(interval["to"]["value"])
    return (end - start).total_seconds() / 3600


def _tour_time(at: datetime.datetime, occurrences: list[datetime.datetime]) -> datetime.time:
    if len({occurrence.hour for occurrence in occurrences}) == 1:
        return at.time()
    # "2시", "at 2" name no half of the day, and Duckling takes the next one after now (02:00 once it is
    # past 14:00). Tours run 09:00-16:00, so 1-6 o'clock is the afternoon and 7-12 the morning or noon.
    hour = at.hour % 12 or 12
    return at.time().replace(hour=hour + 12 if hour <= 6 else hour)


def _checked_date(date: datetime.date, surface: str, today: datetime.date) -> datetime.date | None:
    if date < today and _MONTH.search(surface) and not _YEAR.search(surface):
        # Duckling keeps this year's "12월 13일" even when it is past; a booker means next year's.
        next_years = _next_year(date)
        if next_years is None:
            return None
        date = next_years
    if (
        date == today + datetime.timedelta(days=7)
        and _WEEKDAY.search(surface)
        and not _WEEK_QUALIFIER.search(surface)
        and not _MONTH.search(surface)
        and not _DAY_OF_MONTH.search(surface)
    ):
        # A bare weekday ("토요일", "this Saturday") said on that weekday means today; Duckling skips a week.
        date = today
    # Duckling settles a weekday that contradicts the date ("12월 13일 토요일" when the 13th is a Sunday) in
    # the year where they agree, years away: better no date than that one. Next year's dates are kept
    # ("내년 1월 3일" said on 1 January is a year and two days away).
    return date if date.year <= today.year + 1 else None


def _next_year(date: datetime.date) -> datetime.date | None:
    """The same day a year later; None for 29 February, which next year does not have."""
    try:
        return date.replace(year=date.year + 1)
    except ValueError:
        return None


def _from_rules(masked: str, text: str, today: datetime.date) -> Iterator[DateMention]:
    for match in _GLPI.finditer(masked):
        yield _rule_mention(match, text, date=today + datetime.timedelta(days=3))
    for match in _WEEK_AFTER.finditer(masked):
        monday = today - datetime.timedelta(days=today.weekday())
        weeks = 2 if match["weeks"] == "다다음" else 1
        days = 7 * weeks + WEEKDAYS["ko"].index(match["day"])
        yield _rule_mention(match, text, date=monday + datetime.timedelta(days=days))
    # Duckling has no "오전" or "morning" alone, and reads "오후" alone as after 17:00.
    for match in _PART_OF_DAY.finditer(masked):
        yield _rule_mention(match, text, part_of_day="morning" if match["morning"] else "afternoon")


def _rule_mention(
    match: re.Match[str], text: str, date: datetime.date | None = None, part_of_day: str | None = None
) -> DateMention:
    return DateMention(match.start(), match.end(), text[match.start() : match.end()], date, None, part_of_day)


def _join_dates_and_times(mentions: list[DateMention], text: str) -> list[DateMention]:
    # Duckling joins most pairs itself ("다음주 토요일 오후 2시"), but not with what the rules found ("토요일 오전").
    joined: list[DateMention] = []
    for mention in mentions:
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and {_kind(previous), _kind(mention)} == {"day", "clock"}
            and _JOINER.fullmatch(text[previous.end : mention.start])
        ):
            day, clock = (previous, mention) if previous.date else (mention, previous)
            joined[-1] = DateMention(
                previous.start, mention.end, text[previous.start : mention.end], day.date, clock.time, clock.part_of_day
            )
        else:
            joined.append(mention)
    return joined


def _kind(mention: DateMention) -> str:
    if mention.date is None:
        return "clock"
    return "day" if mention.time is None and mention.part_of_day is None else "both"
