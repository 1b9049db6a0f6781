"""Finds how many people of each fare type a Korean or English chat message books for."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

FARE_TYPES = ("adult", "youth", "child", "senior", "resident")

_FARE_WORDS = {
    "adult": ("어른", "성인", "대인", "adult", "adults", "grown-up", "grown-ups"),
    "youth": ("청소년", "학생", "중학생", "고등학생", "youth", "youths", "teen", "teens", "teenager", "teenagers"),
    "child": ("아이", "어린이", "아동", "소인", "애", "애기", "꼬마", "child", "children", "kid", "kids"),
    "senior": ("노인", "경로", "어르신", "65세 이상", "senior", "seniors", "elderly"),
    "resident": ("파주시민", "파주 시민", "시민", "주민", "resident", "residents"),
}
_FARE_OF_WORD = {word.replace(" ", ""): fare for fare, words in _FARE_WORDS.items() for word in words}
_NATIVE_NUMBERS = {
    "한": 1, "하나": 1, "두": 2, "둘": 2, "세": 3, "셋": 3, "네": 4, "넷": 4, "다섯": 5,
    "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9, "열": 10,
}  # fmt: skip
_ENGLISH_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip


def _either(words: Iterable[str]) -> str:
    # Longest first, so that "어린이" is not read as "어린" + "이" and "파주시민" not as "시민".
    return "|".join(re.escape(word).replace(r"\ ", r"\s*") for word in sorted(words, key=len, reverse=True))


# "애" alone would match inside 장애인 or 사랑해애: only as a word of its own.
_KOREAN_FARE = r"(?<![가-힣])애기?|" + _either(
    word for words in _FARE_WORDS.values() for word in words if not word.isascii() and not word.startswith("애")
)
_ENGLISH_FARE = _either(w for words in _FARE_WORDS.values() for w in words if w.isascii())
_PEOPLE = r"people|persons?|pax|guests?|seats?|tickets?"
# Digits that are not part of a phone number, a date ("12/13") or a clock time ("2:30").
_DIGITS = r"(?<![\d:/.-])\d{1,2}(?!\d|[:/.-]\d)"
# Without a counter word, a number after a fare word must not be a date or time ("어른 13일", "아이 2시").
_KOREAN_COUNT = (
    rf"{_DIGITS}(?:\s*(?:명|인(?!당)|매)|(?!\s*(?:시|일|월|년|세|살|분|[ap]m)))"
    rf"|(?:{_either(_NATIVE_NUMBERS)})\s*(?:명|분)"
    # Standalone native numbers ("어른 둘"), minus 한/두/세/네 that need a counter and 열 (열심히).
    rf"|(?:하나|둘|셋|넷|다섯|여섯|일곱|여덟|아홉)"
)
_ENGLISH_COUNT = rf"{_DIGITS}|\b(?:{_either(_ENGLISH_NUMBERS)})\b"
_GROUP = re.compile(
    rf"(?P<fare_ko>{_KOREAN_FARE})\s*(?:들)?\s*(?:[은는이가:]\s*)?(?P<count_ko>{_KOREAN_COUNT})"
    rf"|(?P<count_en>{_ENGLISH_COUNT})\s*(?P<fare_en>{_ENGLISH_FARE})\b"
    rf"|\b(?P<fare_x>{_ENGLISH_FARE})\s*[x×:]\s*(?P<count_x>\d{{1,2}})\b"
    rf"|(?P<people>{_ENGLISH_COUNT})\s*(?:{_PEOPLE})\b"
    # "for 2" is a party of two unless a fare, a unit or a clock time follows ("for 2 adults", "for 2 days").
    rf"|\bfor\s+(?P<for>{_ENGLISH_COUNT})\b"
    rf"(?!\s*(?:[ap]\.?m\b|o'?clock|days?|nights?|hours?|minutes?|weeks?|months?|years?|{_ENGLISH_FARE}|{_PEOPLE}))"
    # A count with no fare type ("2명", "두 명", "2인") is adults.
    rf"|(?P<bare>{_DIGITS}\s*(?:명|인(?!당)|매)|(?:{_either(_NATIVE_NUMBERS)})\s*(?:명|분))",
    re.IGNORECASE,
)
_COUNT_GROUPS = ("count_ko", "count_en", "count_x", "people", "for", "bare")


@dataclass(frozen=True)
class PartyMention:
    """The people booked for; `text` runs from the first counted group to the last ("어른 2명 아이 1명")."""

    start: int
    end: int
    text: str
    party: dict[str, int]


def find_party(text: str) -> PartyMention | None:
    """The party booked for in `text`, summed over every counted group, or None when nothing is counted."""
    party = dict.fromkeys(FARE_TYPES, 0)
    spans: list[tuple[int, int]] = []
    for match in _GROUP.finditer(text):
        fare = match["fare_ko"] or match["fare_en"] or match["fare_x"]
        count = _number(next(match[name] for name in _COUNT_GROUPS if match[name]))
        if count > 0:
            party[_FARE_OF_WORD[re.sub(r"\s", "", fare.lower())] if fare else "adult"] += count
            spans.append(match.span())
    if not spans:
        return None
    start, end = spans[0][0], spans[-1][1]
    return PartyMention(start, end, text[start:end], {fare: count for fare, count in party.items() if count > 0})


def _number(word: str) -> int:
    word = re.sub(r"\s*(?:명|인|매|분)$", "", word.strip().lower())
    if word.isdigit():
        return int(word)
    return _NATIVE_NUMBERS.get(word) or _ENGLISH_NUMBERS[word]
