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
from rapidfuzz.distance import Levenshtein

from api.opendata import filler, periods, shape
from api.opendata.models import Dataset, DatasetColumn
from api.opendata.names import NameIndex, RowName
from api.opendata.schemas import Filter, Period, StructuredQuery

HANGUL = re.compile(r"[가-힣ㄱ-ㅎ]")
# Words in many titles that say nothing about which dataset is meant.
TITLE_STOPWORDS = {
    "파주시", "파주", "현황", "통계", "자료", "데이터", "샘플", "월별", "연도별", "연별", "일별", "목록", "정보", "및",
    "paju", "city", "data", "sample", "by", "of", "the", "and", "in", "monthly", "yearly", "list", "statistics", "a",
}  # fmt: skip
KIND_RANK = {"row": 0, "value": 0, "column": 0, "keyword": 1, "title": 2}
# How much a row name found in the question counts towards choosing its dataset.
ROW_WEIGHTS = {"full": 1.0, "alias": 1.0, "romanised": 0.9, "partial": 0.8, "typo": 0.7}
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

# Among the rows a question may mean: all of them (the city as a whole).
WHOLE = ""
FOLLOW_UP = re.compile(
    r"^\s*(?:그럼|그러면|그리고|그건|그거|그럼요|근데|and|what about|how about|then|also|same)\b|^\s*(?:그럼|그러면)"
)
ALL_ROWS = re.compile(r"파주시?\s*(?:전체|전부|모든)|전체|모든|\b(?:all|whole|overall)\b")
CHART = re.compile(r"그래프|차트|그림으로|도표|\b(?:charts?|graphs?|plot|visuali[sz]e)\b")


# A chart of a list's rows shows the largest few, as a chat screen can.
CHART_ROWS = 10
# "몇 권", "몇 석": the unit asked for says which measure is meant.
UNIT_ASKED = re.compile(r"몇\s*([가-힣])")
# What a question asks for rather than names: none of it is a word the data lacks.
QUESTION_WORDS = [CHANGE, SHARE, AVERAGE, RANKING, ASCENDING, MAXIMUM, MINIMUM, TREND, YEARLY, COUNT, SUM, TOP_N,
                  CHART, FOLLOW_UP, ALL_ROWS, periods.YOY, periods.MOM, periods.RANGE_WORDS]  # fmt: skip


@dataclass(frozen=True)
class Term:
    pattern: re.Pattern | None
    kind: str  # keyword | title | column | value | row
    column: str | None = None
    value: object = None
    weight: float = 1.0
    # A row name found in the question: the rows it may be (several: the question is ambiguous).
    rows: tuple[str, ...] = ()


@dataclass
class Vocabulary:
    """A dataset's words, and an index of the names of the things it lists (snapshot and panel tables)."""

    terms: list[Term]
    names: NameIndex | None = None
    # Every single word the dataset uses about itself: a question's word among them is not unknown, even when
    # it is not part of a whole phrase ("books were lent" beside the alias "books lent").
    known: frozenset[str] = frozenset()
    # The measures each of those words belongs to ("books" → 대출 권수): a hint when no measure is named whole.
    measure_words: dict[str, frozenset[str]] = field(default_factory=dict)

    def knows(self, word: str) -> bool:
        if word in self.known:
            return True
        if HANGUL.search(word):
            return any(len(known) >= 2 and (known.startswith(word) or word.startswith(known)) for known in self.known)
        if word.rstrip("s") in self.known:
            return True
        # One letter off a long word the dataset uses ("libary", "polution").
        return len(word) >= 5 and any(
            len(known) >= 5 and Levenshtein.distance(word, known, score_cutoff=1) <= 1 for known in self.known
        )


@dataclass
class Word:
    """A word of the question that nothing in the dataset explains: maybe a name not in the table, or a measure
    it does not have."""

    text: str
    start: int
    end: int


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
    unknown: list[Word] = field(default_factory=list)
    names: NameIndex | None = None
    # Measures that words of the question belong to without naming them whole.
    hinted: set[str] = field(default_factory=set)
    # The city's own name that also starts one row's romanised name ("Paju Stadium"): that row or the whole city.
    maybe_rows: list[Match] = field(default_factory=list)


@dataclass
class Understanding:
    original: str
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
    question: str, datasets: list[tuple[Dataset, Vocabulary]], now: datetime, language: str
) -> Understanding:
    text = normalise(question)
    change_asked = bool(CHANGE.search(text)) or bool(periods.YOY.search(text)) or bool(periods.MOM.search(text))
    mentions = periods.find_periods(text, now, merge_ranges=not change_asked)
    readings = []
    for dataset, words in datasets:
        reading = read(dataset, words, mentions.remainder, text)
        if reading.score > 0:
            readings.append(reading)
    readings.sort(key=lambda reading: -reading.score)
    return Understanding(question, text, language, mentions, readings, change_asked)


def vocabulary(dataset: Dataset, frame: pd.DataFrame) -> Vocabulary:
    """Every word that points at this dataset or one of its columns or values, and the names of its rows."""
    named = _named_columns(dataset, frame)
    terms: list[Term] = []
    for keyword in [*dataset.keywords_ko, *dataset.keywords_en]:
        terms.append(Term(word_pattern(keyword), "keyword"))
    for title in (dataset.title_ko, dataset.title_en):
        for word in re.split(r"[\s()\[\],/·]+", title):
            if len(word) >= 2 and word.lower() not in TITLE_STOPWORDS:
                terms.append(Term(word_pattern(word), "title", weight=0.5))
    keywords = {normalise(keyword).strip() for keyword in [*dataset.keywords_ko, *dataset.keywords_en]}
    for column in dataset.columns:
        if column.role in ("latitude", "longitude", "attribute"):
            continue
        for alias in {column.name, *column.aliases_ko, *column.aliases_en}:
            alias = normalise(alias).strip()
            if len(alias) >= 2:
                # "visitors" also matches "visitor", but "daycares" not "daycare" when that is the dataset's keyword.
                singular = alias[:-1] if alias.endswith("s") else alias
                terms.append(Term(word_pattern(alias, singular not in keywords), "column", column.name))
            elif HANGUL.fullmatch(alias):
                terms.append(Term(_syllable_pattern(alias), "column", column.name))
        if column.type == "text" and column.role == "dimension" and column.name not in named:
            values = frame[column.name].dropna().unique()
            if len(values) <= MAX_VALUES_PER_COLUMN:
                for value in values:
                    if 2 <= len(value) <= MAX_VALUE_LENGTH and not value.isdigit():
                        terms.append(Term(word_pattern(value), "value", column.name, str(value)))
    return Vocabulary(terms, _name_index(dataset, frame, named), _known_words(dataset), _measure_words(dataset))


def _measure_words(dataset: Dataset) -> dict[str, frozenset[str]]:
    owners: dict[str, set[str]] = {}
    for column in dataset.columns:
        if column.role != "measure":
            continue
        for phrase in [column.name, column.label_ko, column.label_en, column.unit_en, *column.aliases_ko,
                       *column.aliases_en]:  # fmt: skip
            for word in _words(phrase):
                owners.setdefault(word, set()).add(column.name)
    return {word: frozenset(columns) for word, columns in owners.items()}


def _words(phrase: str | None) -> set[str]:
    words = set()
    for word in re.split(r"[\s()\[\],/·_\-]+", normalise(phrase or "")):
        if len(word) >= 2:
            words.update((word, word.rstrip("s")))
    return words


def _known_words(dataset: Dataset) -> frozenset[str]:
    phrases = [*dataset.keywords_ko, *dataset.keywords_en, dataset.title_ko, dataset.title_en]
    phrases += [dataset.row_label_ko, dataset.row_label_en]
    for column in dataset.columns:
        phrases += [column.name, column.label_ko, column.label_en, column.unit_ko, column.unit_en]
        phrases += [*column.aliases_ko, *column.aliases_en]
    return frozenset(word for phrase in phrases for word in _words(phrase))


def _named_columns(dataset: Dataset, frame: pd.DataFrame) -> list[str]:
    """The entity column and the columns that name the same rows in other words (name_en, district)."""
    if not dataset.entity_column:
        return []
    texts = [c.name for c in dataset.columns if c.type == "text" and c.role == "dimension"]
    return [dataset.entity_column, *shape.parallel_columns(frame, dataset.entity_column, texts)]


def _name_index(dataset: Dataset, frame: pd.DataFrame, named: list[str]) -> NameIndex | None:
    if not named:
        return None
    entity = named[0]
    pairs = frame[named].dropna(subset=[entity]).drop_duplicates(subset=[entity])
    rows = []
    for record in pairs.itertuples(index=False):
        name = str(record[0])
        if shape.is_total_name(name):
            continue
        aliases = tuple(str(value) for value in record[1:] if value is not None and value is not pd.NA)
        rows.append(RowName(name, aliases))
    return NameIndex(rows) if rows else None


def entity_names(reading: "Reading") -> list[str]:
    return [match.term.rows[0] for match in reading.matches if match.term.kind == "row" and len(match.term.rows) == 1]


@lru_cache(maxsize=8192)
def word_pattern(word: str, singular: bool = True) -> re.Pattern:
    """Korean: any spacing between syllables. Latin: whole words, hyphen or space between, plural allowed, and
    (with `singular`) a plural written singular."""
    word = unicodedata.normalize("NFKC", word).lower().strip()
    if HANGUL.search(word):
        characters = [re.escape(character) for character in re.sub(r"\s+", "", word)]
        return re.compile(r"\s*".join(characters))
    parts = [part for part in re.split(r"[\s\-]+", word) if part]
    last = parts[-1] if parts else ""
    if singular and len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        parts[-1] = last[:-1]  # the plural ending is optional below
    parts = [re.escape(part) for part in parts]
    body = r"[\s\-]*".join(parts)
    return re.compile(r"(?<![a-z0-9])" + body + r"(?:s|es|'s)?(?![a-z0-9])")


@lru_cache(maxsize=1024)
def _syllable_pattern(syllable: str) -> re.Pattern:
    """A one-syllable word ("책") only standing alone or with a particle, never inside another word."""
    return re.compile(rf"(?<![가-힣]){re.escape(syllable)}(?=$|[^가-힣]|(?:이|은|을|의|도|만|은요)(?![가-힣]))")


def read(dataset: Dataset, words: Vocabulary, text: str, written: str | None = None) -> Reading:
    """Which of the dataset's words, and which of its rows' names, the question uses; and what is left over.
    `text` has the periods blanked out; `written` is the question before that."""
    candidates = [Match(term, m.start(), m.end()) for term in words.terms for m in term.pattern.finditer(text)]
    maybe: list[Match] = []
    if words.names is not None:
        for mention in words.names.find(text):
            if mention.how != "full" and filler.is_filler(text[mention.start : mention.end]):
                # "파주" is the city, not the start of "파주읍 공영주차장"; but "Paju Stadium" may be 파주스타디움.
                if mention.how == "romanised" and len(mention.rows) == 1:
                    maybe.append(
                        Match(Term(None, "row", dataset.entity_column, rows=mention.rows), mention.start, mention.end)
                    )
                continue
            row = Term(None, "row", dataset.entity_column, weight=ROW_WEIGHTS.get(mention.how, 0.7), rows=mention.rows)
            candidates.append(Match(row, mention.start, mention.end))
    # A column, value or row first, then keywords, then title words: "자전거 대여건수" is the measure 대여건수
    # even though "자전거 대여" is a keyword. Within a kind the longest first, so "외국인 관광객" wins over
    # "관광객" and "foreign visitors" over "visitors".
    candidates.sort(key=lambda match: (KIND_RANK[match.term.kind], -(match.end - match.start), match.start))
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
    written = written or text
    left = remainder
    for pattern in QUESTION_WORDS:
        left = pattern.sub(lambda m: " " * len(m.group()), left)
    glued = {i for i in range(1, len(left)) if left[i - 1] == " " and written[i - 1] != " "}
    unknown = [Word(word, start, end) for word, start, end in filler.content_words(left, glued)]
    hints = {column for word in unknown for column in words.measure_words.get(word.text, ())}
    for unit in UNIT_ASKED.findall(written):
        hints |= {c.name for c in dataset.columns if c.role == "measure" and c.unit_ko == unit}
    unknown = [word for word in unknown if not words.knows(word.text)]
    if words.names is not None and dataset.entity_column:
        for word in list(unknown):
            # The whole written word, parts of which other words may have taken ("운정센터": 센터 is a keyword).
            start, end = _run_around(written, word.start)
            row = words.names.abbreviated(filler.stem(written[start:end]))
            if row is not None:
                chosen = [m for m in chosen if m.end <= start or m.start >= end]
                term = Term(None, "row", dataset.entity_column, weight=0.7, rows=(row,))
                chosen.append(Match(term, start, end))
                unknown.remove(word)
                score += (end - start) * 0.7
        chosen.sort(key=lambda match: match.start)
    maybe = [m for m in maybe if _names_something(m, chosen, text)]
    return Reading(dataset, score, chosen, remainder, unknown, words.names, hints, maybe)


def _names_something(mention: Match, chosen: list[Match], text: str) -> bool:
    """Whether the city's name is followed by a word that is not a figure's name ("Paju Stadium", not "Paju
    population"), so it may be the start of a row's name."""
    following = re.match(r"\s*([a-z가-힣]+)", text[mention.end :])
    if following is None:
        return False
    start = mention.end + following.start(1)
    taken = next((m for m in chosen if m.start <= start < m.end), None)
    if taken is not None:
        return taken.term.kind in ("keyword", "title")
    return not filler.is_filler(following.group(1))


def _run_around(text: str, position: int) -> tuple[int, int]:
    start = end = position
    while start > 0 and HANGUL.match(text[start - 1]):
        start -= 1
    while end < len(text) and HANGUL.match(text[end]):
        end += 1
    return start, end


def columns_of(dataset: Dataset) -> dict[str, DatasetColumn]:
    return {column.name: column for column in dataset.columns}


@dataclass
class Plan:
    query: StructuredQuery
    notes: list[tuple[str, str]]  # (English, Korean) remarks the answer must carry
    assumed_year: bool = False


class Unclear(Exception):
    """The question cannot be answered as asked: a name or measure the data lacks, several rows or measures it
    could mean, or a period a table without a time axis cannot give. api/opendata/refusals.py says it."""

    def __init__(
        self,
        reason: str,
        written: str = "",
        span: tuple[int, int] | None = None,
        rows: tuple[str, ...] = (),
        measures: tuple[str, ...] = (),
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.written = written  # the question's words at fault
        self.span = span  # where they are in the question, for the choices to replace them
        self.rows = rows  # rows it could mean, or the closest to an unknown name
        self.measures = measures  # measures to choose from


def is_follow_up(understanding: Understanding, context: StructuredQuery) -> bool:
    """Whether the question leans on the last one: it names no dataset of its own, or it is a short phrase on the
    same dataset ("그럼 외국인은?", "작년은?", "in 2024?", "그래프로 보여줘")."""
    if not understanding.readings:
        return True
    top = understanding.readings[0]
    if top.dataset.id != context.dataset:
        return False
    if FOLLOW_UP.search(understanding.text):
        return True
    named = [m for m in top.matches if m.term.kind in ("column", "value", "row")]
    return (
        len(named) <= 1
        and len(understanding.text.split()) <= 3
        and not any(m.term.kind == "keyword" for m in top.matches)
    )


def plan(
    understanding: Understanding,
    reading: Reading,
    frame: pd.DataFrame,
    version: int,
    base: StructuredQuery | None = None,
) -> Plan:
    """The structured query for the question on one dataset, every period made explicit; `base` is the last
    question's query when this one follows it up. Raises Unclear rather than guess."""
    dataset = reading.dataset
    columns = columns_of(dataset)
    time_column = next((c for c in dataset.columns if c.role == "time"), None)
    text = reading.remainder
    notes: list[tuple[str, str]] = []

    filters: dict[str, list] = {}
    measures: list[str] = []
    measure_matches: list[Match] = []
    mentioned: list[Match] = []
    for match in reading.matches:
        column = columns.get(match.term.column) if match.term.column else None
        if match.term.kind == "row" and column is not None:
            if len(match.term.rows) > 1:
                written = understanding.text[match.start : match.end].strip()
                raise Unclear("ambiguous_row", written, (match.start, match.end), rows=match.term.rows)
            filters.setdefault(column.name, [])
            if match.term.rows[0] not in filters[column.name]:
                filters[column.name].append(match.term.rows[0])
        elif match.term.kind == "value" and column is not None:
            filters.setdefault(column.name, [])
            if match.term.value not in filters[column.name]:
                filters[column.name].append(match.term.value)
        elif match.term.kind == "column" and column is not None:
            if column.type == "boolean":
                filters[column.name] = [True]
            elif column.role == "measure":
                measures.append(column.name)
                measure_matches.append(match)
            elif column.role in ("dimension", "time"):
                mentioned.append(match)

    spans = understanding.mentions.spans
    entity = dataset.entity_column
    if reading.maybe_rows and entity and entity not in filters and not ALL_ROWS.search(understanding.text):
        match = reading.maybe_rows[0]
        written = understanding.text[match.start : match.end].strip()
        raise Unclear("ambiguous_row", written, (match.start, match.end), rows=(*match.term.rows, WHOLE))
    if time_column is None and spans:
        span = (min(s.position for s in spans), max(s.end_position for s in spans))
        raise Unclear("no_period", understanding.text[span[0] : span[1]].strip(), span)
    if base is not None:
        filters = _follow_filters(base, filters, dataset, understanding.text)
    _check_unknown(reading, filters, measures)

    grouped_by_mention = [m for m in mentioned if _says_by(understanding.text, m)]
    aggregation = _aggregation(understanding, reading, time_column, measures, grouped_by_mention, columns)
    if CHART.search(understanding.text) and time_column is None:
        aggregation = "ranking"
    if aggregation == "count" and not measures and len(reading.hinted) == 1:
        aggregation = "value"  # "how many children attend …" counts children (a measure), not rows
    follows = base is not None and aggregation == "value" and not grouped_by_mention
    if follows:
        aggregation = base.aggregation
        if base.period is not None and len(spans) == 1 and spans[0].grain == "year":
            # "2025년 4월" then "작년은?" / "in 2024?": the same months of that year.
            spans = [_same_months_in(base.period, spans[0].start[0])]
    elif base is not None and aggregation == "trend" and not spans and base.period is not None:
        spans = [_whole_years(base.period)]
    chart_of_rows = base is not None and aggregation == "ranking" and CHART.search(understanding.text)
    if chart_of_rows and dataset.entity_column:
        filters.pop(dataset.entity_column, None)  # a chart of one row is no chart: all of them, ranked
    compound = _adjacent(measure_matches, understanding.text)
    named = measures or base is None
    measure = _measure(dataset, measures, aggregation, understanding.language, compound) if named else None
    if measure is None and aggregation != "count":
        measure = (base.measure if base is not None else None) or _default_measure(dataset, reading)
    if dataset.shape_kind == "snapshot" and aggregation == "value" and not filters:
        raise Unclear("which_row", rows=tuple(_row_names(dataset, frame)), measures=(measure,) if measure else ())
    if follows and base is not None:
        group_by, time_grain, order, limit = base.group_by, base.time_grain, base.order, base.limit
    else:
        group_by = _group_by(aggregation, text, dataset, time_column, mentioned, filters)
        time_grain = None
        if time_column is not None and time_column.type in ("month", "quarter", "date"):
            time_grain = "year" if YEARLY.search(understanding.text) else "month"
        time_grain = time_grain if (group_by and time_column and group_by == time_column.name) else None
        order = "asc" if aggregation == "ranking" and ASCENDING.search(text) else "desc"
        limit = _limit(understanding.text) if aggregation == "ranking" else None
        if chart_of_rows:
            limit = CHART_ROWS

    query = StructuredQuery(
        dataset=dataset.id,
        version=version,
        measure=measure,
        aggregation=aggregation,
        filters=[Filter(column=name, values=values) for name, values in filters.items()],
        group_by=group_by,
        time_grain=time_grain,
        order=order,
        limit=limit,
    )
    assumed = False
    if time_column is not None:
        if follows and not spans and base is not None and base.period is not None:
            query.period, query.compare_period = base.period, base.compare_period
            return Plan(query, notes)
        keyed = time_keys(filtered(frame, query), time_column)
        if keyed.empty:
            return Plan(query, notes)
        understanding_now = understanding
        if spans is not understanding.mentions.spans:
            understanding_now = _with_spans(understanding, spans)
        query.period, query.compare_period, assumed = _periods(
            understanding_now, spans, aggregation, group_by, time_column, keyed, measure and columns[measure], notes
        )
    return Plan(query, notes, assumed)


def _adjacent(matches: list[Match], text: str) -> bool:
    return len(matches) >= 2 and not text[matches[0].end : matches[1].start].strip()


def _follow_filters(base: StructuredQuery, filters: dict[str, list], dataset: Dataset, text: str) -> dict[str, list]:
    """The last question's filters, each replaced by a new one on the same column; "전체" / "all" drops the rows."""
    merged = {condition.column: list(condition.values) for condition in base.filters}
    if ALL_ROWS.search(text) and dataset.entity_column:
        merged.pop(dataset.entity_column, None)
    merged.update(filters)
    return merged


def _check_unknown(reading: Reading, filters: dict[str, list], measures: list[str]) -> None:
    """A word the dataset does not explain: a name not in the table (with the closest ones), else a measure it
    does not have."""
    if not reading.unknown:
        return
    dataset = reading.dataset
    word = reading.unknown[0]
    closest = tuple(reading.names.closest(word.text)) if reading.names is not None else ()
    candidates = tuple(c.name for c in dataset.columns if c.role == "measure")
    span = (word.start, word.end)
    if dataset.entity_column and dataset.entity_column not in filters:
        raise Unclear("unknown_row", word.text, span, rows=closest, measures=candidates)
    raise Unclear("unknown_measure", word.text, span, rows=closest, measures=candidates)


def _default_measure(dataset: Dataset, reading: Reading) -> str | None:
    """The measure a question that names none is about: the one its words hint at, the dataset's total, or its
    only measure."""
    candidates = [c.name for c in dataset.columns if c.role == "measure"]
    if len(reading.hinted) == 1:
        return next(iter(reading.hinted))
    if dataset.total_column:
        return dataset.total_column
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        return None
    raise Unclear("ambiguous_measure", measures=tuple(candidates))


def _row_names(dataset: Dataset, frame: pd.DataFrame) -> list[str]:
    values = frame[dataset.entity_column].dropna().astype(str) if dataset.entity_column else pd.Series([], dtype=str)
    return [value for value in values.unique().tolist() if not shape.is_total_name(value)]


def _same_months_in(period: Period, year: int) -> periods.Span:
    first, last = periods.parse_month_key(period.start), periods.parse_month_key(period.end)
    if first[0] != last[0] or (first[1], last[1]) == (1, 12):
        return periods.Span((year, 1), (year, 12), "year", 0, 0)
    return periods.Span((year, first[1]), (year, last[1]), "month" if first == last else "range", 0, 0)


def _whole_years(period: Period) -> periods.Span:
    first, last = periods.parse_month_key(period.start), periods.parse_month_key(period.end)
    return periods.Span((first[0], 1), (last[0], 12), "year", 0, 0)


def _with_spans(understanding: Understanding, spans: list[periods.Span]) -> Understanding:
    mentions = periods.PeriodMentions(
        spans,
        understanding.mentions.year_over_year,
        understanding.mentions.month_over_month,
        understanding.mentions.remainder,
    )
    return Understanding(
        understanding.original,
        understanding.text,
        understanding.language,
        mentions,
        understanding.readings,
        understanding.change_asked,
    )


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
    elif column.type == "quarter":
        quarters = values.astype(str)
        start = quarters.map(lambda key: f"{key[:4]}-{int(key[-1]) * 3 - 2:02d}")
        end = quarters.map(lambda key: f"{key[:4]}-{int(key[-1]) * 3:02d}")
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


def _measure(dataset: Dataset, measures: list[str], aggregation: str, language: str, compound: bool) -> str | None:
    """The measure the question names (a part before the whole: "외국인 관광객" over "관광객"); None if none.
    Of two, the head of the phrase: the last in Korean ("어린이집 정원"), the first in English ("capacity of
    daycare centres"), unless the two stand together as one noun ("daycare capacity")."""
    if aggregation == "count":
        return None
    parts = [name for name in measures if name != dataset.total_column] or measures
    if not parts:
        return None
    return parts[-1] if language == "ko" or compound else parts[0]


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
    dimensions.sort(key=lambda column: column.name != dataset.entity_column)
    if dataset.entity_column and dataset.entity_column not in filters:
        # Ranking things by a measure ranks the things themselves, not another column that names them again.
        dimensions = [c for c in dimensions if c.name == dataset.entity_column] or dimensions
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
