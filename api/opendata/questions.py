"""Understanding a question about open data: which dataset, measure, places, period and aggregation it asks for.

No trained model: every dataset brings its own words (registry keywords, title, column names and aliases,
and the values of its text columns), so a dataset uploaded today is understood today. Korean words match
whatever the spacing ("총 관광객수" = "총관광객수") and with particles attached; English words match whole
words, plural or not. Which dataset is meant is the one whose words cover most of the question.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import pandas as pd

from api.opendata import periods
from api.opendata.models import Dataset, DatasetColumn
from api.opendata.schemas import Filter, Period, StructuredQuery

HANGUL = re.compile(r"[가-힣ㄱ-ㅎ]")
# Words in many titles that say nothing about which dataset is meant.
TITLE_STOPWORDS = {
    "파주시", "파주", "현황", "통계", "자료", "데이터", "샘플", "월별", "연도별", "연별", "일별", "목록", "정보", "및",
    "paju", "city", "data", "sample", "by", "of", "the", "and", "in", "monthly", "yearly", "list", "statistics", "a",
}  # fmt: skip
KIND_RANK = {"value": 0, "column": 0, "keyword": 1, "title": 2}
MAX_VALUES_PER_COLUMN = 400
MAX_VALUE_LENGTH = 40

CHANGE = re.compile(
    r"증감|증가|감소|늘었|늘어|줄었|줄어|변화(?!\s*추이)|변동|대비|비교|차이|성장|달라|"
    r"\b(?:changed?|changes|increased?|decreased?|grow|grew|growth|grown|compared?|comparison|versus|vs\.?|"
    r"difference|differ|rise|rose|fell|drop|dropped|declined?)\b"
)
SHARE = re.compile(
    r"비율|비중|점유율|퍼센트|몇\s*%|몇\s*프로|차지|구성비|"
    r"\b(?:share|percentage|percent|proportion|ratio|fraction)\b|what\s*%"
)
AVERAGE = re.compile(r"평균|\b(?:average|mean|avg|typical)\b")
RANKING = re.compile(
    r"순위|랭킹|상위|하위|많은\s*순|높은\s*순|적은\s*순|낮은\s*순|큰\s*순|순서대로|"
    r"\b(?:rank|ranks|ranking|rankings|ranked|top\s*\d+|bottom\s*\d+|in order)\b"
)
ASCENDING = re.compile(r"하위|적은\s*순|낮은\s*순|작은\s*순|\b(?:bottom|lowest|fewest|least|smallest)\b")
MAXIMUM = re.compile(
    r"(?:가장|제일|젤)\s*(?:많|높|크|큰|비싸|비싼|넓|붐비|북적)|최대|최고|최다|피크|정점|"
    r"\b(?:most|highest|maximum|max|peak|peaked|busiest|largest|biggest|priciest|record)\b"
)
MINIMUM = re.compile(
    r"(?:가장|제일|젤)\s*(?:적|낮|작|싸|싼|저렴|좁|한산)|최소|최저|"
    r"\b(?:least|lowest|minimum|min|fewest|smallest|quietest|cheapest)\b"
)
TREND = re.compile(
    r"추이|추세|흐름|그래프|차트|월별|연도별|연별|년도별|분기별|해마다|달마다|매월|매년|시계열|"
    r"\b(?:trends?|over time|monthly|month by month|by month|each month|every month|yearly|annually|by year|"
    r"each year|every year|year by year|charts?|graphs?|plot|evolution|history|time series)\b"
)
YEARLY = re.compile(
    r"연도별|연별|년도별|해마다|매년|연간|"
    r"\b(?:yearly|annual|annually|by year|per year|each year|every year|year by year)\b"
)
COUNT = re.compile(r"몇\s*(?:곳|개|군데|개소)|개수|갯수|\b(?:how many|number of|count)\b")
SUM = re.compile(
    r"합계|합산|총합|모두|전부|누적|통틀어|총|전체|\b(?:total|sum|altogether|combined|overall|cumulative|in all)\b"
)
TOP_N = re.compile(r"(?:상위|하위|top|bottom)\s*(\d{1,2})|(\d{1,2})\s*(?:위|곳|개|군데)\s*까지")
BY_TIME = re.compile(r"달|월|해|연도|년도|때|시기|언제|\b(?:month|months|year|years|when|period)\b")
BY_PLACE = re.compile(
    r"곳|지역|동네|어디|어느\s*동|\b(?:where|which (?:district|area|place)|place|places|area|areas)\b"
)


@dataclass(frozen=True)
class Term:
    pattern: re.Pattern
    kind: str  # keyword | title | column | value
    column: str | None = None
    value: object = None
    weight: float = 1.0


@dataclass
class Match:
    term: Term
    start: int
    end: int


@dataclass
class Reading:
    """What a question says about one dataset."""

    dataset: Dataset
    score: float
    matches: list[Match]
    remainder: str  # the question with periods and matched words blanked out


@dataclass
class Understanding:
    text: str
    language: str
    mentions: periods.PeriodMentions
    readings: list[Reading]  # best first; empty when no dataset's words occur
    change_asked: bool
    notes: list[str] = field(default_factory=list)


def normalise(question: str) -> str:
    text = unicodedata.normalize("NFKC", question).lower()
    return re.sub(r"[?!.,;:()\[\]{}\"'“”‘’·]", " ", text)


def detect_language(question: str) -> str:
    return "ko" if HANGUL.search(question) else "en"


def understand(
    question: str, datasets: list[tuple[Dataset, list[Term]]], now: datetime, language: str
) -> Understanding:
    text = normalise(question)
    change_asked = bool(CHANGE.search(text)) or bool(periods.YOY.search(text)) or bool(periods.MOM.search(text))
    mentions = periods.find_periods(text, now, merge_ranges=not change_asked)
    readings = []
    for dataset, terms in datasets:
        reading = _read(dataset, terms, mentions.remainder)
        if reading.score > 0:
            readings.append(reading)
    readings.sort(key=lambda reading: -reading.score)
    return Understanding(text, language, mentions, readings, change_asked)


def vocabulary(dataset: Dataset, frame: pd.DataFrame) -> list[Term]:
    """Every word that points at this dataset or one of its columns or values."""
    terms: list[Term] = []
    for keyword in [*dataset.keywords_ko, *dataset.keywords_en]:
        terms.append(Term(word_pattern(keyword), "keyword"))
    for title in (dataset.title_ko, dataset.title_en):
        for word in re.split(r"[\s()\[\],/·]+", title):
            if len(word) >= 2 and word.lower() not in TITLE_STOPWORDS:
                terms.append(Term(word_pattern(word), "title", weight=0.5))
    for column in dataset.columns:
        if column.role in ("latitude", "longitude", "attribute"):
            continue
        for alias in {column.name, *column.aliases_ko, *column.aliases_en}:
            if len(alias.strip()) >= 2:
                terms.append(Term(word_pattern(alias), "column", column.name))
        if column.type == "text" and column.role == "dimension":
            values = frame[column.name].dropna().unique()
            if len(values) <= MAX_VALUES_PER_COLUMN:
                for value in values:
                    if 2 <= len(value) <= MAX_VALUE_LENGTH and not value.isdigit():
                        terms.append(Term(word_pattern(value), "value", column.name, str(value)))
    return terms


@lru_cache(maxsize=8192)
def word_pattern(word: str) -> re.Pattern:
    """Korean: any spacing between syllables. Latin: whole words, hyphen or space between, plural allowed."""
    word = unicodedata.normalize("NFKC", word).lower().strip()
    if HANGUL.search(word):
        characters = [re.escape(character) for character in re.sub(r"\s+", "", word)]
        return re.compile(r"\s*".join(characters))
    parts = [re.escape(part) for part in re.split(r"[\s\-]+", word) if part]
    body = r"[\s\-]*".join(parts)
    return re.compile(r"(?<![a-z0-9])" + body + r"(?:s|es|'s)?(?![a-z0-9])")


def _read(dataset: Dataset, terms: list[Term], text: str) -> Reading:
    candidates = [Match(term, m.start(), m.end()) for term in terms for m in term.pattern.finditer(text)]
    # Longest first, so "외국인 관광객" wins over "관광객" and "foreign visitors" over "visitors"; on a tie a
    # column or value says more than a keyword. Title words only fill in what nothing else matched.
    candidates.sort(
        key=lambda match: (
            match.term.kind == "title",
            -(match.end - match.start),
            match.start,
            KIND_RANK[match.term.kind],
        )
    )
    taken = [False] * len(text)
    chosen: list[Match] = []
    for match in candidates:
        if any(taken[match.start : match.end]):
            continue
        for index in range(match.start, match.end):
            taken[index] = True
        chosen.append(match)
    chosen.sort(key=lambda match: match.start)
    score = sum(len(re.sub(r"\s", "", text[m.start : m.end])) * m.term.weight for m in chosen)
    remainder = "".join(" " if taken[i] else character for i, character in enumerate(text))
    return Reading(dataset, score, chosen, remainder)


def columns_of(dataset: Dataset) -> dict[str, DatasetColumn]:
    return {column.name: column for column in dataset.columns}


@dataclass
class Plan:
    query: StructuredQuery
    notes: list[tuple[str, str]]  # (English, Korean) remarks the answer must carry
    assumed_year: bool = False


def plan(understanding: Understanding, reading: Reading, frame: pd.DataFrame, version: int) -> Plan:
    """The structured query for the question on one dataset, every period made explicit."""
    dataset = reading.dataset
    columns = columns_of(dataset)
    time_column = next((c for c in dataset.columns if c.role == "time"), None)
    text = reading.remainder
    notes: list[tuple[str, str]] = []

    filters: dict[str, list] = {}
    measures: list[str] = []
    mentioned: list[Match] = []
    for match in reading.matches:
        column = columns.get(match.term.column) if match.term.column else None
        if match.term.kind == "value" and column is not None:
            filters.setdefault(column.name, [])
            if match.term.value not in filters[column.name]:
                filters[column.name].append(match.term.value)
        elif match.term.kind == "column" and column is not None:
            if column.type == "boolean":
                filters[column.name] = [True]
            elif column.role == "measure":
                measures.append(column.name)
            elif column.role in ("dimension", "time"):
                mentioned.append(match)

    grouped_by_mention = [m for m in mentioned if _says_by(understanding.text, m)]
    spans = understanding.mentions.spans
    aggregation = _aggregation(understanding, reading, time_column, measures, grouped_by_mention, columns)
    measure = _measure(dataset, measures, aggregation)
    group_by = _group_by(aggregation, text, dataset, time_column, mentioned, filters)
    time_grain = None
    if time_column is not None and time_column.type in ("month", "date"):
        time_grain = "year" if YEARLY.search(understanding.text) else "month"

    query = StructuredQuery(
        dataset=dataset.id,
        version=version,
        measure=measure,
        aggregation=aggregation,
        filters=[Filter(column=name, values=values) for name, values in filters.items()],
        group_by=group_by,
        time_grain=time_grain if (group_by and time_column and group_by == time_column.name) else None,
        order="asc" if aggregation == "ranking" and ASCENDING.search(text) else "desc",
        limit=_limit(understanding.text) if aggregation == "ranking" else None,
    )
    assumed = False
    if time_column is not None:
        keyed = time_keys(filtered(frame, query), time_column)
        if keyed.empty:
            return Plan(query, notes)
        query.period, query.compare_period, assumed = _periods(
            understanding, spans, aggregation, group_by, time_column, keyed, measure and columns[measure], notes
        )
    return Plan(query, notes, assumed)


def filtered(frame: pd.DataFrame, query: StructuredQuery) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for condition in query.filters:
        mask &= frame[condition.column].isin(condition.values).fillna(False)
    return frame[mask]


def time_keys(frame: pd.DataFrame, column: DatasetColumn) -> pd.DataFrame:
    """Each row's first and last month ("2024-01", "2024-12" for a yearly row), by row index."""
    values = frame[column.name].dropna()
    if column.type == "year":
        start = values.astype(int).map(lambda year: f"{year:04d}-01")
        end = values.astype(int).map(lambda year: f"{year:04d}-12")
    else:
        start = end = values.astype(str).str.slice(0, 7)
    return pd.DataFrame({"start": start, "end": end})


def _says_by(text: str, match: Match) -> bool:
    """ "읍면동별", "by district", "per district", "each month": a column named as the way to break figures down."""
    after = text[match.end : match.end + 2]
    before = text[max(0, match.start - 6) : match.start]
    return after.startswith("별") or bool(re.search(r"\b(?:by|per|each|every|across)\s*$", before))


def _aggregation(understanding, reading, time_column, measures, grouped_by_mention, columns) -> str:
    spans = understanding.mentions.spans
    text = reading.remainder
    # "가장 비싼" and "cheapest" may also be a column's words, so these look past the matched words.
    unmatched = understanding.mentions.remainder
    if understanding.change_asked and (len(spans) >= 2 or time_column is not None):
        return "change"
    if SHARE.search(text):
        return "share"
    if AVERAGE.search(text):
        return "average"
    if RANKING.search(text):
        return "ranking"
    if MAXIMUM.search(unmatched):
        return "max"
    if MINIMUM.search(unmatched):
        return "min"
    by_time = any(columns[m.term.column].role == "time" for m in grouped_by_mention)
    if time_column is not None and (TREND.search(text) or by_time):
        return "trend"
    if grouped_by_mention:
        return "ranking"
    if COUNT.search(text) and not measures and (time_column is None or re.search(r"몇\s*(?:곳|개|군데)", text)):
        return "count"
    if SUM.search(text):
        return "sum"
    return "value"


def _measure(dataset: Dataset, measures: list[str], aggregation: str) -> str | None:
    if aggregation == "count":
        return None
    parts = [name for name in measures if name != dataset.total_column]
    if parts:
        return parts[0]
    if measures:
        return measures[0]
    if dataset.total_column:
        return dataset.total_column
    return next((c.name for c in dataset.columns if c.role == "measure"), None)


def _group_by(aggregation, text, dataset, time_column, mentioned, filters) -> str | None:
    if aggregation == "trend":
        return time_column.name if time_column else None
    if aggregation not in ("ranking", "max", "min", "average"):
        return None
    for match in mentioned:
        name = match.term.column
        if name not in filters:
            return name
    if aggregation == "average" and time_column is None:
        return None
    if time_column is not None and BY_TIME.search(text):
        return time_column.name
    dimensions = [c for c in dataset.columns if c.role == "dimension" and c.type == "text" and c.name not in filters]
    if dimensions and (BY_PLACE.search(text) or time_column is None):
        return dimensions[0].name
    return time_column.name if time_column else None


def _limit(text: str) -> int:
    match = TOP_N.search(text)
    if match:
        return max(1, min(100, int(match.group(1) or match.group(2))))
    return 5 if RANKING.search(text) else 100


def _periods(understanding, spans, aggregation, group_by, time_column, keyed, measure_column, notes):
    """(period, compare_period, assumed year) with every default made explicit."""
    yearly = time_column.type == "year"
    latest_end = keyed["end"].max()
    latest = (keyed.loc[keyed["end"] == latest_end, "start"].min(), latest_end)
    first = (keyed["start"].min(), keyed["end"].max())
    assumed = False

    def as_keys(span: periods.Span) -> tuple[str, str]:
        start, end = span.start_key, span.end_key
        if yearly and (span.start[1] != 1 or span.end[1] != 12):
            notes.append(
                (
                    f"This dataset has yearly figures, so {periods.label(span, 'en')} is answered for the whole year.",
                    f"연 단위 자료라 {periods.label(span, 'ko')} 대신 그해 전체 값으로 답했어요.",
                )
            )
            start, end = f"{span.start[0]:04d}-01", f"{span.end[0]:04d}-12"
        return start, end

    def has_rows(keys: tuple[str, str]) -> bool:
        return bool(((keyed["start"] >= keys[0]) & (keyed["end"] <= keys[1])).any())

    def with_data(span: periods.Span) -> tuple[str, str]:
        nonlocal assumed
        keys = as_keys(span)
        if span.assumed_year and not has_rows(keys):
            # "4월" when this April has no figures yet: the latest April that has them.
            for years_back in range(1, 11):
                earlier = as_keys(span.shifted(-12 * years_back))
                if has_rows(earlier):
                    assumed = True
                    return earlier
        return keys

    if aggregation == "change":
        if len(spans) >= 2:
            ordered = sorted(spans[:2], key=lambda span: periods.month_index(span.start))
            base, current = with_data(ordered[0]), with_data(ordered[1])
        else:
            if spans:
                span = spans[0]
            else:
                span = periods.Span(
                    periods.parse_month_key(latest[0]), periods.parse_month_key(latest[1]), "month", 0, 0
                )
            current = with_data(span)
            chosen = periods.Span(
                periods.parse_month_key(current[0]), periods.parse_month_key(current[1]), span.grain, 0, 0
            )
            if yearly:
                shift = -max(12, chosen.length())
            elif understanding.mentions.year_over_year:
                shift = -12
            elif understanding.mentions.month_over_month:
                shift = -1
            else:
                shift = -chosen.length()
            base = as_keys(chosen.shifted(shift))
        current, base = _same_length(current, base, keyed, notes)
        return Period(start=current[0], end=current[1]), Period(start=base[0], end=base[1]), assumed

    if spans:
        keys = [with_data(span) for span in spans]
        start, end = min(k[0] for k in keys), max(k[1] for k in keys)
        return Period(start=start, end=end), None, assumed

    whole = aggregation in ("trend", "sum") or (group_by == time_column.name and aggregation != "value")
    if aggregation == "average" and group_by is None:
        whole = True
    if whole:
        return Period(start=first[0], end=first[1]), None, assumed
    return Period(start=latest[0], end=latest[1]), None, assumed


def _same_length(current: tuple[str, str], base: tuple[str, str], keyed: pd.DataFrame, notes: list) -> tuple:
    """A change from a whole period to one whose figures stop early compares like with like:
    both are cut to the months the later one has ("2025 so far" against the same months of 2024)."""
    inside = keyed[(keyed["start"] >= current[0]) & (keyed["end"] <= current[1])]
    if inside.empty:
        return current, base
    covered_end = inside["end"].max()
    if covered_end >= current[1] or _months_between(*current) != _months_between(*base):
        return current, base
    missing = _months_between(covered_end, current[1])
    base_end = periods.add_months(periods.parse_month_key(base[1]), -missing)
    trimmed_base = (base[0], f"{base_end[0]:04d}-{base_end[1]:02d}")
    trimmed_current = (current[0], covered_end)
    notes.append(
        (
            f"Figures for {periods.label(current, 'en')} stop at {periods.label((covered_end, covered_end), 'en')}, "
            f"so both periods are compared over the same months.",
            f"{periods.label(current, 'ko')} 자료가 {periods.label((covered_end, covered_end), 'ko')}까지만 있어 "
            f"두 기간을 같은 달끼리 비교했어요.",
        )
    )
    return trimmed_current, trimmed_base


def _months_between(first: str, last: str) -> int:
    return periods.month_index(periods.parse_month_key(last)) - periods.month_index(periods.parse_month_key(first))
