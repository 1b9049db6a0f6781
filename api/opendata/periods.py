"""Periods named in a question ("2024년 4월", "작년", "지난달", "2025 1분기", "last month", "Q1 2025") as month spans.

Relative periods resolve against a given time in Asia/Seoul, so tests can fix the clock.
"""

import re
from dataclasses import dataclass, replace
from datetime import datetime

from common.clock import SEOUL

MONTHS_EN = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
MONTH_NAMES_EN = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
MONTH_EN = r"(?P<mname>" + "|".join(sorted(MONTHS_EN, key=len, reverse=True)) + r")\b\.?"
YEAR = r"(?P<year>(?:19|20)\d{2})"
# Relative years; "전년" only when it does not start a comparison ("전년 대비").
REL_YEAR = (
    r"(?P<rel>재작년|작년|지난\s*해|올해|금년|이번\s*해|내년|올|"
    r"the year before last|this year|last year|next year|previous year|"
    r"전년(?!\s*(?:동월|동기|같은\s*달)?\s*(?:대비|보다|에\s*비해)))"
)
REL_YEAR_OFFSETS = {
    "재작년": -2, "작년": -1, "지난해": -1, "올해": 0, "금년": 0, "이번해": 0, "내년": 1, "올": 0, "전년": -1,
    "the year before last": -2, "this year": 0, "last year": -1, "next year": 1, "previous year": -1,
}  # fmt: skip
YOY = re.compile(
    r"전년\s*(?:동월|동기|같은\s*달)?\s*(?:대비|보다|에\s*비해)|year[- ]over[- ]year|year[- ]on[- ]year|\byoy\b|"
    r"(?:a|one|the previous|the prior) year (?:earlier|before)|a year ago|"
    r"(?:compared|relative) (?:to|with) (?:the )?"
    r"(?:previous|prior|same month (?:of )?last|same period (?:of )?last) year|"
    r"than (?:the )?(?:previous|prior) year"
)
MOM = re.compile(
    r"(?:전월|전달|지난\s*달)\s*(?:대비|보다|에\s*비해)|month[- ]over[- ]month|month[- ]on[- ]month|"
    r"(?:compared|relative) (?:to|with) (?:the )?(?:previous|prior) month|than (?:the )?(?:previous|prior) month|"
    r"a month (?:earlier|before)"
)
# The words that join two periods into one ("3월부터 6월까지", "from March to June").
RANGE_WORDS = re.compile(r"부터|까지|사이|\b(?:from|to|through|thru|until|till|between)\b")
RANGE_JOIN = re.compile(r"^\s*(?:부터|에서|~|∼|–|—|-|to|through|thru|until|till)\s*$")
BETWEEN_JOIN = re.compile(r"^\s*(?:and|와|과|하고)\s*$")


@dataclass(frozen=True)
class Span:
    """Months `start`..`end` (inclusive) as (year, month); `grain` says how it was named."""

    start: tuple[int, int]
    end: tuple[int, int]
    grain: str  # month | quarter | half | year | range
    position: int
    end_position: int
    # No year was given and none could be borrowed from the question: the most recent one was assumed.
    assumed_year: bool = False

    @property
    def start_key(self) -> str:
        return f"{self.start[0]:04d}-{self.start[1]:02d}"

    @property
    def end_key(self) -> str:
        return f"{self.end[0]:04d}-{self.end[1]:02d}"

    def shifted(self, months: int) -> "Span":
        return replace(self, start=add_months(self.start, months), end=add_months(self.end, months))

    def length(self) -> int:
        return month_index(self.end) - month_index(self.start) + 1


@dataclass(frozen=True)
class PeriodMentions:
    spans: list[Span]
    year_over_year: bool
    month_over_month: bool
    # The question with every period expression blanked out, for the keyword matching that follows.
    remainder: str


def month_index(month: tuple[int, int]) -> int:
    return month[0] * 12 + month[1] - 1


def add_months(month: tuple[int, int], count: int) -> tuple[int, int]:
    index = month_index(month) + count
    return index // 12, index % 12 + 1


def parse_month_key(key: str) -> tuple[int, int]:
    year, month = key.split("-")
    return int(year), int(month)


def find_periods(text: str, now: datetime, merge_ranges: bool = True) -> PeriodMentions:
    """Every period named in the (lower-cased) question, in order of appearance."""
    today = now.astimezone(SEOUL)
    current = (today.year, today.month)
    yoy = bool(YOY.search(text))
    mom = bool(MOM.search(text))
    text = MOM.sub(lambda m: " " * len(m.group()), YOY.sub(lambda m: " " * len(m.group()), text))
    found: list[tuple[int, int, dict]] = []
    taken = [False] * len(text)
    for pattern, handler in _PATTERNS:
        for match in pattern.finditer(text):
            if any(taken[match.start() : match.end()]):
                continue
            result = handler(match, current)
            if result is None:
                continue
            for index in range(match.start(), match.end()):
                taken[index] = True
            found.append((match.start(), match.end(), result))
    found.sort(key=lambda item: item[0])
    spans = _resolve_years(found, current)
    if merge_ranges:
        spans = _merge_ranges(spans, text)
    remainder = "".join(" " if taken[i] else char for i, char in enumerate(text))
    return PeriodMentions(spans, yoy, mom, remainder)


def label(span_or_keys: Span | tuple[str, str], language: str) -> str:
    """A period as people write it: "2025년 4월", "2024년 1분기", "April 2025", "March–June 2024"."""
    if isinstance(span_or_keys, Span):
        start, end = span_or_keys.start, span_or_keys.end
    else:
        start, end = parse_month_key(span_or_keys[0]), parse_month_key(span_or_keys[1])
    if start == end:
        return f"{start[0]}년 {start[1]}월" if language == "ko" else f"{MONTH_NAMES_EN[start[1] - 1]} {start[0]}"
    if start[0] == end[0] and start[1] == 1 and end[1] == 12:
        return f"{start[0]}년" if language == "ko" else str(start[0])
    if start[0] == end[0] and (start[1], end[1]) in ((1, 6), (7, 12)):
        first = start[1] == 1
        if language == "ko":
            return f"{start[0]}년 {'상반기' if first else '하반기'}"
        return f"{'first' if first else 'second'} half of {start[0]}"
    if start[0] == end[0] and end[1] - start[1] == 2 and start[1] % 3 == 1:
        quarter = (start[1] - 1) // 3 + 1
        return f"{start[0]}년 {quarter}분기" if language == "ko" else f"Q{quarter} {start[0]}"
    if start[1] == 1 and end[1] == 12:
        return f"{start[0]}~{end[0]}년" if language == "ko" else f"{start[0]}–{end[0]}"
    if language == "ko":
        if start[0] == end[0]:
            return f"{start[0]}년 {start[1]}월~{end[1]}월"
        return f"{start[0]}년 {start[1]}월~{end[0]}년 {end[1]}월"
    if start[0] == end[0]:
        return f"{MONTH_NAMES_EN[start[1] - 1]}–{MONTH_NAMES_EN[end[1] - 1]} {start[0]}"
    return f"{MONTH_NAMES_EN[start[1] - 1]} {start[0]} – {MONTH_NAMES_EN[end[1] - 1]} {end[0]}"


def _rel_year(name: str, current: tuple[int, int]) -> int:
    return current[0] + REL_YEAR_OFFSETS[re.sub(r"\s+", "", name) if re.search(r"[가-힣]", name) else name]


def _year_of(match: re.Match, current: tuple[int, int]) -> int | None:
    groups = match.groupdict()
    if groups.get("year"):
        return int(groups["year"])
    if groups.get("rel"):
        return _rel_year(groups["rel"], current)
    return None


def _month_span(year: int | None, month: int) -> dict | None:
    if not 1 <= month <= 12:
        return None
    return {"year": year, "start_month": month, "end_month": month, "grain": "month"}


def _month_range(year: int | None, first: int, last: int) -> dict | None:
    """ "1~6월", "2025년 3-5월": months of one year."""
    if not 1 <= first < last <= 12:
        return None
    return {"year": year, "start_month": first, "end_month": last, "grain": "range"}


def _quarter_span(year: int | None, quarter: int) -> dict:
    return {"year": year, "start_month": quarter * 3 - 2, "end_month": quarter * 3, "grain": "quarter"}


def _half_span(year: int | None, half: int) -> dict:
    return {"year": year, "start_month": 1 if half == 1 else 7, "end_month": 6 if half == 1 else 12, "grain": "half"}


def _fixed(start: tuple[int, int], end: tuple[int, int], grain: str) -> dict:
    return {"fixed": (start, end), "grain": grain}


def _whole_year(year: int) -> dict:
    return _fixed((year, 1), (year, 12), "year")


def _recent_months(count: int, current: tuple[int, int]) -> dict | None:
    # The current month is not over, so "the last 3 months" are the three before it.
    if not 1 <= count <= 120:
        return None
    return _fixed(add_months(current, -count), add_months(current, -1), "range")


def _recent_years(count: int, current: tuple[int, int]) -> dict | None:
    if not 1 <= count <= 50:
        return None
    return _fixed((current[0] - count + 1, 1), (current[0], 12), "range")


def _quarter_of(month: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    first = (month[0], (month[1] - 1) // 3 * 3 + 1)
    return first, add_months(first, 2)


_PATTERNS: list[tuple[re.Pattern, object]] = [
    (re.compile(r"최근\s*(\d{1,3})\s*(?:개월|달)|(?:last|past|previous)\s+(\d{1,3})\s+months?"),
     lambda m, c: _recent_months(int(m.group(1) or m.group(2)), c)),
    (re.compile(r"최근\s*(\d{1,2})\s*년|(?:last|past|previous)\s+(\d{1,2})\s+years?"),
     lambda m, c: _recent_years(int(m.group(1) or m.group(2)), c)),
    (re.compile(r"(?:" + YEAR + "|" + REL_YEAR + r")?\s*년?\s*(?P<first>\d{1,2})\s*월?\s*[~∼–-]\s*"
                r"(?P<last>\d{1,2})\s*월"),
     lambda m, c: _month_range(_year_of(m, c), int(m["first"]), int(m["last"]))),
    (re.compile(YEAR + r"\s*[-./]\s*(?P<month>\d{1,2})(?![\d.-])"),
     lambda m, c: _month_span(int(m["year"]), int(m["month"]))),
    (re.compile(r"(?:" + YEAR + "|" + REL_YEAR + r")\s*년?\s*(?P<month>\d{1,2})\s*월"),
     lambda m, c: _month_span(_year_of(m, c), int(m["month"]))),
    (re.compile(r"(?:" + YEAR + "|" + REL_YEAR + r")\s*년?\s*(?:의\s*)?(?:제\s*)?(?P<q>[1-4])\s*(?:/\s*4\s*)?분기"),
     lambda m, c: _quarter_span(_year_of(m, c), int(m["q"]))),
    (re.compile(r"(?:" + YEAR + "|" + REL_YEAR + r")\s*년?\s*(?:의\s*)?(?P<h>상반기|하반기)"),
     lambda m, c: _half_span(_year_of(m, c), 1 if m["h"] == "상반기" else 2)),
    (re.compile(r"\b" + YEAR + r"\s*(?:q|분기\s*)(?P<q>[1-4])\b"),
     lambda m, c: _quarter_span(int(m["year"]), int(m["q"]))),
    (re.compile(r"\b(?:q(?P<q>[1-4])|(?P<ord>first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter)"
                r"(?:\s*(?:of\s+)?(?:" + YEAR + "|" + REL_YEAR + r"))?"),
     lambda m, c: _quarter_span(_year_of(m, c), int(m["q"]) if m["q"] else ORDINALS[m["ord"]])),
    (re.compile(r"\b(?:h(?P<hn>[12])|(?P<ord>first|second|1st|2nd)\s+half)(?:\s*(?:of\s+)?(?:" + YEAR + "|"
                + REL_YEAR + r"))?"),
     lambda m, c: _half_span(_year_of(m, c), int(m["hn"]) if m["hn"] else ORDINALS[m["ord"]])),
    (re.compile(r"\b" + YEAR + r"\s+" + MONTH_EN),
     lambda m, c: _month_span(int(m["year"]), MONTHS_EN[m["mname"]])),
    (re.compile(r"\b" + MONTH_EN + r"(?:\s*,?\s*(?:of\s+)?(?:" + YEAR + "|" + REL_YEAR + r"))?"),
     lambda m, c: None if m["mname"] == "may" and not (m["year"] or m["rel"]) and not _in_before(m)
     else _month_span(_year_of(m, c), MONTHS_EN[m["mname"]])),
    (re.compile(r"지난\s*달|저번\s*달|전월|전달|last month|previous month"),
     lambda m, c: _fixed(add_months(c, -1), add_months(c, -1), "month")),
    (re.compile(r"이번\s*달|이달|this month"), lambda m, c: _fixed(c, c, "month")),
    (re.compile(r"다음\s*달|내달|next month"),
     lambda m, c: _fixed(add_months(c, 1), add_months(c, 1), "month")),
    (re.compile(r"지난\s*분기|전\s*분기|last quarter|previous quarter"),
     lambda m, c: _fixed(*_quarter_of(add_months(c, -3)), "quarter")),
    (re.compile(r"이번\s*분기|this quarter"), lambda m, c: _fixed(*_quarter_of(c), "quarter")),
    (re.compile(r"(?<!\d)" + YEAR + r"(?:\s*년(?:도)?|\b)"),
     lambda m, c: _fixed((int(m["year"]), 1), (int(m["year"]), 12), "year")),
    (re.compile(REL_YEAR),
     lambda m, c: None if m["rel"] == "올" else _whole_year(_rel_year(m["rel"], c))),
    (re.compile(r"(?<!\d)(?P<month>\d{1,2})\s*월"), lambda m, c: _month_span(None, int(m["month"]))),
    (re.compile(r"(?<!\d)(?:제\s*)?(?P<q>[1-4])\s*(?:/\s*4\s*)?분기"), lambda m, c: _quarter_span(None, int(m["q"]))),
    (re.compile(r"(?P<h>상반기|하반기)"), lambda m, c: _half_span(None, 1 if m["h"] == "상반기" else 2)),
]  # fmt: skip


def _in_before(match: re.Match) -> bool:
    """ "may" is the month only after "in" / "of" / "since" ("visitors in May"), not "May I ask"."""
    before = match.string[: match.start()].rstrip()
    return bool(re.search(r"\b(?:in|of|since|for|during|from|to|and|until)$", before))


def _resolve_years(found: list[tuple[int, int, dict]], current: tuple[int, int]) -> list[Span]:
    """Spans with their years: a month without one borrows the nearest year named in the question,
    and failing that is the most recent such month up to now."""
    years_named = [(start, _span_year(result)) for start, _, result in found if _span_year(result) is not None]
    spans = []
    for start, end, result in found:
        if "fixed" in result:
            first, last = result["fixed"]
            spans.append(Span(first, last, result["grain"], start, end))
            continue
        year = result["year"]
        assumed = False
        if year is None:
            before = [y for position, y in years_named if position < start]
            after = [y for position, y in years_named if position > start]
            if before or after:
                year = before[-1] if before else after[0]
            else:
                year = current[0] if result["start_month"] <= current[1] else current[0] - 1
                assumed = True
        spans.append(
            Span((year, result["start_month"]), (year, result["end_month"]), result["grain"], start, end, assumed)
        )
    return spans


def _span_year(result: dict) -> int | None:
    if "fixed" in result:
        first, last = result["fixed"]
        return first[0] if first[0] == last[0] else None
    return result["year"]


def _merge_ranges(spans: list[Span], text: str) -> list[Span]:
    merged: list[Span] = []
    for span in spans:
        if merged:
            previous = merged[-1]
            between = text[previous.end_position : span.position]
            opened_with_between = re.search(r"\bbetween\s*$", text[: previous.position])
            if RANGE_JOIN.match(between) or (opened_with_between and BETWEEN_JOIN.match(between)):
                first, last = sorted([previous, span], key=lambda s: month_index(s.start))
                merged[-1] = Span(
                    first.start,
                    max(first.end, last.end, key=month_index),
                    "range",
                    previous.position,
                    span.end_position,
                    previous.assumed_year or span.assumed_year,
                )
                continue
        merged.append(span)
    return merged
