"""Parsing, the first step of an open-data answer: which datasets a question's words point at, which of their columns,
values and row names it uses, and which of its words nothing explains.

No trained model: every dataset brings its own words (registry keywords, title, column names and aliases, the
values of its text columns and the names of its rows), so a dataset uploaded today is understood today. Korean
words match whatever the spacing ("총 관광객수" = "총관광객수") and with particles attached; English words match
whole words, plural or not. Which dataset is meant is the one whose words cover most of the question.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import pandas as pd
from rapidfuzz.distance import Levenshtein

from api.opendata import filler, periods, shape
from api.opendata.models import Dataset
from api.opendata.names import NameIndex, RowName
from api.opendata.question_words import CHANGE, QUESTION_WORDS, UNIT_ASKED

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
