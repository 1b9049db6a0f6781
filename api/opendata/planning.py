"""Planning, the second step of an open-data answer: the structured query a parsed question asks on one dataset,
every period made explicit; or Unclear when it cannot be answered as asked (a name or measure the data lacks,
several it could mean, a period a table without time cannot give)."""

import re
from dataclasses import dataclass

import pandas as pd

from api.opendata import periods, shape
from api.opendata.models import Dataset, columns_of
from api.opendata.parsing import Match, Reading, Understanding
from api.opendata.question_words import (
    ALL_ROWS,
    ASCENDING,
    AVERAGE,
    BY_PLACE,
    BY_TIME,
    CHART,
    COUNT,
    FOLLOW_UP,
    MAXIMUM,
    MINIMUM,
    RANKING,
    SHARE,
    SUM,
    TOP_N,
    TREND,
    YEARLY,
)
from api.opendata.schemas import Filter, Period, StructuredQuery
from api.opendata.table import filtered, time_keys

# Among the rows a question may mean: all of them (the city as a whole).
# Among the rows a question may mean: all of them (the city as a whole).
WHOLE = ""


# A chart of a list's rows shows the largest few, as a chat screen can.
CHART_ROWS = 10


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
