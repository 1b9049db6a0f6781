"""Computing, the third step of an open-data answer: a structured query run on a dataset's rows with pandas. Every
number in an answer comes out of `compute`; the words only format it."""

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from api.opendata import periods, shape
from api.opendata.models import Dataset, DatasetColumn, columns_of, time_column_of
from api.opendata.schemas import Period, StructuredQuery
from api.opendata.table import filtered, time_keys


class Unanswerable(Exception):
    """The query cannot be computed from the rows; the reason in both languages."""

    def __init__(self, english: str, korean: str, reason: str = "not_computable") -> None:
        super().__init__(english)
        self.english = english
        self.korean = korean
        self.reason = reason

    def message(self, language: str) -> str:
        return self.korean if language == "ko" else self.english


@dataclass
class Point:
    key: str  # a month ("2024-05"), a year ("2024") or a dimension's value
    value: float | int


@dataclass
class Computation:
    value: float | int | None = None
    points: list[Point] = field(default_factory=list)
    covered: tuple[str, str] | None = None  # first and last month of the rows used
    rows_used: int = 0
    # share: numerator, denominator; change: base value, base months
    numerator: float | int | None = None
    denominator: float | int | None = None
    base: float | int | None = None
    base_covered: tuple[str, str] | None = None
    difference: float | int | None = None  # change: later minus earlier
    percent: float | None = None  # change: in percent of the earlier; None when that is zero
    denominator_label: tuple[str, str] | None = None  # (English, Korean)
    # How many of the things the table lists the figure covers, when it covers more than the ones named.
    things: int | None = None
    from_total_row: bool = False
    # First and last month of every row in the period asked, whether or not the figure used it (a stock uses
    # only its latest time): what the data has of that period.
    available: tuple[str, str] | None = None


def without_total(dataset: Dataset, rows: pd.DataFrame, query: StructuredQuery) -> pd.DataFrame:
    """The rows without the table's total row, unless the question asks for that row itself."""
    if not dataset.total_row or not dataset.entity_column:
        return rows
    named = next((f.values for f in query.filters if f.column == dataset.entity_column), [])
    if dataset.total_row in named:
        return rows
    return rows[~rows[dataset.entity_column].map(shape.is_total_name).fillna(False).astype(bool)]


def compute(dataset: Dataset, frame: pd.DataFrame, query: StructuredQuery) -> Computation:
    columns = columns_of(dataset)
    _check_query(query, columns)
    time_column = time_column_of(dataset)
    everything = filtered(frame, query)
    rows = without_total(dataset, everything, query)
    selected = _in_period(rows, time_column, query.period)
    if selected.empty:
        raise _no_rows(dataset, frame, time_column, query.period)
    measure = columns.get(query.measure) if query.measure else None
    aggregation = query.aggregation
    if aggregation != "count" and measure is None:
        raise Unanswerable(
            "This dataset has no figure to add up for that question.", "이 데이터셋에는 그 질문에 맞는 수치가 없어요."
        )
    result = Computation(rows_used=len(selected), available=_covered(selected, time_column))
    entity = dataset.entity_column
    if entity and not any(f.column == entity for f in query.filters) and entity in selected.columns:
        result.things = int(selected[entity].nunique())
    if aggregation == "count":
        result.value = len(selected)
        result.covered = _covered(selected, time_column)
    elif aggregation in ("value", "sum"):
        total_rows = everything.drop(rows.index)
        totals = _in_period(total_rows, time_column, query.period) if not total_rows.empty else total_rows
        if result.things is not None and not totals.empty and len(query.filters) == 0:
            # The table's own total row is the official figure for all of them.
            result.value, used = _total(totals, measure, time_column)
            result.from_total_row = True
        else:
            result.value, used = _total(selected, measure, time_column)
        result.covered = _covered(used, time_column)
    elif aggregation == "share":
        _share(result, dataset, frame, query, selected, measure, time_column)
    elif aggregation == "change":
        _change(result, dataset, frame, rows, query, selected, measure, time_column)
    else:
        points = _group_totals(selected, query, measure, time_column, columns)
        if not points:
            raise Unanswerable("No figures to compare there.", "비교할 수치가 없어요.")
        result.covered = _covered(selected, time_column)
        if aggregation == "average":
            result.value = _number(sum(p.value for p in points) / len(points))
            result.points = points
        elif aggregation in ("max", "min"):
            best = (max if aggregation == "max" else min)(points, key=lambda p: p.value)
            result.value, result.points = best.value, [best]
        elif aggregation == "ranking":
            ranked = sorted(points, key=lambda p: p.value, reverse=query.order == "desc")
            result.points = ranked[: query.limit or len(ranked)]
        else:  # trend
            result.points = sorted(points, key=lambda p: p.key)
    return result


def _check_query(query: StructuredQuery, columns: dict[str, DatasetColumn]) -> None:
    named = [query.measure, query.group_by, *(f.column for f in query.filters)]
    unknown = [name for name in named if name and name not in columns]
    if unknown:
        raise Unanswerable(
            f"The dataset has no column {', '.join(unknown)}.", f"데이터셋에 {', '.join(unknown)} 열이 없어요."
        )
    if query.measure and columns[query.measure].type not in ("integer", "number"):
        raise Unanswerable(f"{query.measure} is not a number.", f"{query.measure} 열은 숫자가 아니에요.")


def _in_period(rows: pd.DataFrame, time_column: DatasetColumn | None, period: Period | None) -> pd.DataFrame:
    if time_column is None or period is None:
        return rows
    keys = time_keys(rows, time_column)
    inside = keys[(keys["start"] >= period.start) & (keys["end"] <= period.end)].index
    return rows.loc[inside]


def _covered(rows: pd.DataFrame, time_column: DatasetColumn | None) -> tuple[str, str] | None:
    if time_column is None or rows.empty:
        return None
    keys = time_keys(rows, time_column)
    return keys["start"].min(), keys["end"].max()


def _total(rows: pd.DataFrame, measure: DatasetColumn, time_column: DatasetColumn | None):
    """The measure over the rows: summed, except that a stock (population) counts only its latest time."""
    if time_column is not None and measure.time_aggregation == "last" and not rows.empty:
        latest = rows[time_column.name].max()
        rows = rows[rows[time_column.name] == latest]
    return _number(rows[measure.name].dropna().sum()), rows


def _group_totals(rows, query, measure, time_column, columns) -> list[Point]:
    if query.group_by is None:
        return [Point(str(index), _number(value)) for index, value in rows[measure.name].dropna().items()]
    if time_column is not None and query.group_by == time_column.name:
        keys = _unit_keys(rows, time_column, query.time_grain)
    else:
        keys = rows[query.group_by].astype(str)
    points = []
    for key, group in rows.groupby(keys, sort=True):
        if group[measure.name].notna().any():
            points.append(Point(str(key), _total(group, measure, time_column)[0]))
    return points


def _unit_keys(rows: pd.DataFrame, time_column: DatasetColumn, grain: str | None) -> pd.Series:
    values = rows[time_column.name]
    if time_column.type == "year":
        return values.astype(int).astype(str)
    if grain == "year":
        return values.astype(str).str.slice(0, 4)
    if time_column.type == "quarter":
        return values.astype(str)
    return values.astype(str).str.slice(0, 7)


def _share(result, dataset, frame, query, selected, measure, time_column) -> None:
    columns = columns_of(dataset)
    result.numerator, used = _total(selected, measure, time_column)
    result.covered = _covered(used, time_column)
    if query.filters:
        # The whole is every row but the table's own total row, which would count everything twice.
        whole_rows = _in_period(
            without_total(dataset, frame, query.model_copy(update={"filters": []})), time_column, query.period
        )
        result.denominator = _total(whole_rows, measure, time_column)[0]
        label_en, label_ko = measure.label_en, measure.label_ko
        result.denominator_label = (f"all {label_en}", f"전체 {label_ko}")
    elif dataset.total_column and dataset.total_column != measure.name:
        total_column = columns[dataset.total_column]
        result.denominator = _total(selected, total_column, time_column)[0]
        result.denominator_label = (total_column.label_en, total_column.label_ko)
    else:
        raise Unanswerable(
            "A share needs a part and a whole: name a place or a group (for example foreign visitors).",
            "비율을 내려면 부분과 전체가 필요해요. 지역이나 구분(예: 외국인 관광객)을 함께 말씀해 주세요.",
        )
    if not result.denominator:
        raise Unanswerable("The whole is zero, so there is no share.", "전체가 0이라 비율을 낼 수 없어요.")
    result.value = round(result.numerator / result.denominator * 100, 1)


def _change(result, dataset, frame, rows, query, selected, measure, time_column) -> None:
    if query.compare_period is None or time_column is None:
        raise Unanswerable("A change needs two periods.", "증감을 보려면 두 기간이 필요해요.")
    base_rows = _in_period(rows, time_column, query.compare_period)
    if base_rows.empty:
        raise _no_rows(dataset, frame, time_column, query.compare_period)
    result.value, used = _total(selected, measure, time_column)
    result.covered = _covered(used, time_column)
    result.base, base_used = _total(base_rows, measure, time_column)
    result.base_covered = _covered(base_used, time_column)
    result.rows_used = len(selected) + len(base_rows)
    result.difference = _number(result.value - result.base)
    result.percent = _percent_change(result.base, result.value)


def _no_rows(dataset, frame, time_column, period: Period | None) -> Unanswerable:
    if time_column is None or period is None:
        return Unanswerable("No rows match that.", "조건에 맞는 자료가 없어요.", "no_rows")
    coverage = _covered(frame, time_column)
    asked_en, asked_ko = (
        _period_label((period.start, period.end), "en"),
        _period_label((period.start, period.end), "ko"),
    )
    have_en, have_ko = _period_label(coverage, "en"), _period_label(coverage, "ko")
    return Unanswerable(
        f"'{dataset.title_en}' has no figures for {asked_en}; it covers {have_en}.",
        f"'{dataset.title_ko}'에는 {asked_ko} 자료가 없어요. {have_ko} 자료가 있어요.",
        "no_rows",
    )


def _number(value: Any) -> float | int:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float):
        return round(value, 4)
    return value


def _period_label(covered: tuple[str, str] | None, language: str) -> str:
    if covered is None:
        return ""
    return periods.label(covered, language)


def _percent_change(base, value) -> float | None:
    if not base:
        return None
    return round((value - base) / base * 100, 1)
