"""Running a structured query on a dataset's rows with pandas, and saying the result in Korean or English.

Every number in an answer comes out of `compute`; the text only formats it.
"""

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from api.opendata import periods, shape
from api.opendata.models import Dataset, DatasetColumn
from api.opendata.questions import columns_of, filtered, time_keys
from api.opendata.schemas import Figure, Period, StructuredQuery

HANGUL = re.compile(r"[가-힣]")


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
    time_column = _time_column(dataset)
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


def figures(
    dataset: Dataset, frame: pd.DataFrame, query: StructuredQuery, result: Computation, language: str
) -> list[Figure]:
    columns = columns_of(dataset)
    measure = columns.get(query.measure) if query.measure else None
    period_label = _period_label(result.covered, language)
    aggregation = query.aggregation

    def figure(
        label: str, value, column: DatasetColumn | None, period: str | None, unit: tuple[str, str] | None = None
    ):
        unit_ko, unit_en = unit or ((column.unit_ko, column.unit_en) if column else ("", ""))
        unit_text = unit_ko if language == "ko" else unit_en
        return Figure(
            label=label,
            value=value,
            formatted=format_value(value, unit_text, language),
            unit=unit_text,
            column=column.name if column else None,
            period=period,
        )

    if aggregation == "count":
        return [figure(_count_label(dataset, language), result.value, None, period_label, _count_unit(dataset))]
    if aggregation in ("value", "sum", "average"):
        return [figure(_measure_label(measure, language), result.value, measure, period_label)]
    if aggregation == "share":
        return [
            figure("share", result.value, None, period_label, ("%", "%")),
            figure(_measure_label(measure, language), result.numerator, measure, period_label),
            figure(result.denominator_label[0 if language == "en" else 1], result.denominator, measure, period_label),
        ]
    if aggregation == "change":
        base_label = _period_label(result.base_covered, language)
        difference = _number(result.value - result.base)
        percent = _percent_change(result.base, result.value)
        return [
            figure(base_label, result.base, measure, base_label),
            figure(period_label, result.value, measure, period_label),
            figure("difference", difference, measure, None),
            figure("percent_change", percent, None, None, ("%", "%")),
        ]
    labels = _point_labels(dataset, frame, query, language)
    return [
        figure(labels(point.key), point.value, measure, labels(point.key) if _is_time(dataset, query) else period_label)
        for point in result.points
    ]


def answer_text(
    dataset: Dataset, frame: pd.DataFrame, query: StructuredQuery, result: Computation, language: str
) -> str:
    columns = columns_of(dataset)
    measure = columns.get(query.measure) if query.measure else None
    ko = language == "ko"
    period = _period_label(result.covered, language)
    where = _filters_label(dataset, frame, query, language)
    label = _measure_label(measure, language)
    unit = (measure.unit_ko if ko else measure.unit_en) if measure else ""

    def show(value: float | int | None) -> str:
        return format_value(value, unit, language)

    aggregation = query.aggregation

    if aggregation == "count":
        noun = _count_label(dataset, language)
        counted = format_value(result.value, _count_unit(dataset)[0 if ko else 1], language)
        if ko:
            return f"{_join(where, noun)}{josa(noun, '은는')} {counted}{copula(counted)}."
        return f"There are {counted}{' ' + where if where else ''}."
    everything, among = _scope(dataset, result, language)
    if aggregation in ("value", "sum"):
        several = aggregation == "sum" or _several_units(result.covered, dataset) or (result.things or 0) > 1
        from_total = (" (표의 합계 행)" if ko else " (the table's total row)") if result.from_total_row else ""
        if ko:
            summed = label + (" 합계" if several and measure.time_aggregation == "sum" else "")
            subject = _join(period, where, everything, summed)
            return f"{subject}{josa(subject, '은는')} {show(result.value)}{copula(show(result.value))}{from_total}."
        summed = several and measure.time_aggregation == "sum" and not label.lower().startswith("total")
        total = "Total " + label if summed else _capital(label)
        scope = f" for {everything}" if everything else ""
        return f"{total}{' of ' + where if where else ''}{scope}{_in(period)}: {show(result.value)}{from_total}."
    if aggregation == "average":
        per_ko, per_en = _per_group(dataset, query)
        if ko:
            subject = _join(
                period, where, f"{per_ko}평균 {label}" if per_ko in ("월", "연") else f"{per_ko} 평균 {label}".strip()
            )
            return f"{subject}{josa(subject, '은는')} {show(result.value)}{copula(show(result.value))}."
        return f"Average {label} per {per_en}{' of ' + where if where else ''}{_in(period)}: {show(result.value)}."
    labels = _point_labels(dataset, frame, query, language)
    if aggregation in ("max", "min"):
        best = result.points[0]
        noun_ko, noun_en = _group_noun(dataset, query)
        grouped_by_things = query.group_by == dataset.entity_column
        if ko:
            most = "많은" if aggregation == "max" else "적은"
            scope = among if grouped_by_things else ""
            subject = _join(scope, period, where, f"{label}{josa(label, '이가')} 가장 {most} {noun_ko}")
            value = show(best.value)
            return f"{subject}{josa(noun_ko, '은는')} {labels(best.key)}({value}){copula(value)}."
        most = "Highest" if aggregation == "max" else "Lowest"
        of_where = f" of {where}" if where else ""
        scope = f" {among}" if among and grouped_by_things else ""
        return f"{most} {label}{of_where}{_in(period)}{scope}: {labels(best.key)}, with {show(best.value)}."
    if aggregation == "ranking":
        noun_ko, noun_en = _group_noun(dataset, query)
        lines = [f"{rank}. {labels(p.key)} {show(p.value)}" for rank, p in enumerate(result.points, start=1)]
        count = len(result.points)
        scope = among if query.group_by == dataset.entity_column else ""
        if ko:
            order = "상위" if query.order == "desc" else "하위"
            by = {"달": "월", "해": "연도"}.get(noun_ko, noun_ko)
            head = _join(scope, period, where, f"{by}별 {label} {order} {count}개예요:")
        else:
            order = "Top" if query.order == "desc" else "Bottom"
            head = f"{order} {count} {plural(noun_en)} by {label}{' for ' + where if where else ''}{_in(period)}"
            head += f" ({scope}):" if scope else ":"
        return "\n".join([head, *lines])
    if aggregation == "trend":
        points = result.points
        first, last = points[0], points[-1]
        peak = max(points, key=lambda p: p.value)
        low = min(points, key=lambda p: p.value)
        listing = [f"· {labels(p.key)} {show(p.value)}" for p in points] if len(points) <= 12 else []
        if ko:
            grain = {"year": "연도", "quarter": "분기"}.get(_grain(dataset, query), "월")
            head = _join(period, where, f"{grain}별 {label} 추이예요.")
            body = (
                f"{labels(first.key)} {show(first.value)}에서 {labels(last.key)} {show(last.value)}까지, "
                f"가장 많았던 때는 {labels(peak.key)}({show(peak.value)}), "
                f"가장 적었던 때는 {labels(low.key)}({show(low.value)}){copula(show(low.value))}."
            )
        else:
            grain = _grain(dataset, query)
            head = f"{_capital(label)} by {grain}{' for ' + where if where else ''}{_in(period)}."
            body = (
                f"From {show(first.value)} in {labels(first.key)} to {show(last.value)} in {labels(last.key)}; "
                f"highest {labels(peak.key)} ({show(peak.value)}), lowest {labels(low.key)} ({show(low.value)})."
            )
        return "\n".join([head, body, *listing])
    if aggregation == "share":
        percent = format_value(result.value, "%", language)
        whole_en, whole_ko = result.denominator_label
        part = _join(where, label)
        if ko:
            return (
                f"{_join(period, part)}{josa(part, '은는')} {whole_ko}의 {percent}예요 "
                f"({show(result.numerator)} / {show(result.denominator)})."
            )
        return (
            f"{_capital(part)} made up {percent} of {whole_en}{_in(period)} "
            f"({show(result.numerator)} of {show(result.denominator)})."
        )
    # change
    base_period = _period_label(result.base_covered, language)
    difference = result.value - result.base
    percent = _percent_change(result.base, result.value)
    percent_text = "" if percent is None else f" ({'+' if percent > 0 else ''}{format_value(percent, '%', language)})"
    subject = _join(where, label)
    if ko:
        moved = "늘었어요" if difference > 0 else "줄었어요" if difference < 0 else "같아요"
        amount = f" {show(abs(_number(difference)))}" if difference else ""
        return (
            f"{subject}{josa(subject, '은는')} {base_period} {show(result.base)}에서 {period} "
            f"{show(result.value)}{josa(show(result.value), '으로')}{amount} {moved}{percent_text}."
        )
    moved = "up" if difference > 0 else "down" if difference < 0 else "unchanged"
    amount = f" {show(abs(_number(difference)))}" if difference else ""
    return (
        f"{_capital(subject)} went from {show(result.base)} in {base_period} to {show(result.value)} in {period}: "
        f"{moved}{amount}{percent_text}."
    )


def explanation(dataset: Dataset, version: int, query: StructuredQuery, result: Computation, language: str) -> str:
    """How the figures were computed, in plain words; the structured query beside it reproduces them."""
    columns = columns_of(dataset)
    ko = language == "ko"
    conditions = [f"{f.column} = {', '.join(str(v) for v in f.values)}" for f in query.filters]
    time_column = _time_column(dataset)
    if query.period and time_column is not None:
        conditions.append(f"{time_column.name} {query.period.start}~{query.period.end}")
    where = ("; ".join(conditions)) or ("조건 없음" if ko else "no conditions")
    measure = query.measure or ""
    group = query.group_by or ""
    stock = bool(query.measure and columns[query.measure].time_aggregation == "last" and time_column)
    whole_en, whole_ko = result.denominator_label or ("", "")
    base_keys = f"{query.compare_period.start}~{query.compare_period.end}" if query.compare_period else ""
    if ko:
        steps = {
            "count": "행 수를 셌어요",
            "value": f"'{measure}' 값을 더했어요" + (" (인구처럼 쌓이는 값이라 가장 최근 시점만)" if stock else ""),
            "sum": f"'{measure}' 값을 모두 더했어요" + (" (가장 최근 시점만)" if stock else ""),
            "average": f"'{group or '행'}'별 '{measure}' 합계의 평균을 냈어요",
            "max": f"'{group}'별 '{measure}' 합계 중 가장 큰 값을 찾았어요",
            "min": f"'{group}'별 '{measure}' 합계 중 가장 작은 값을 찾았어요",
            "ranking": f"'{group}'별 '{measure}' 합계를 {'큰' if query.order == 'desc' else '작은'} 순서로 "
            f"{len(result.points)}개 골랐어요",
            "trend": f"'{group}'별 '{measure}' 합계를 시간 순서로 늘어놓았어요",
            "share": f"'{measure}' 합계를 {whole_ko} 합계로 나눠 100을 곱했어요",
            "change": f"앞 기간({base_keys})과 뒤 기간의 '{measure}' 합계 차이와 증감률((뒤-앞)÷앞×100)을 계산했어요",
        }
        return (
            f"'{dataset.title_ko}' 데이터셋 버전 {version}에서 [{where}] 조건에 맞는 {result.rows_used}개 행으로 "
            f"{steps[query.aggregation]}. 같은 질의(query)를 POST /api/opendata/query로 다시 실행하면 같은 값이 나와요."
        )
    steps = {
        "count": "counted the rows",
        "value": f"added up '{measure}'" + (" (a stock such as population: the latest time only)" if stock else ""),
        "sum": f"added up every '{measure}'" + (" (the latest time only)" if stock else ""),
        "average": f"averaged the '{measure}' totals per '{group or 'row'}'",
        "max": f"found the largest '{measure}' total per '{group}'",
        "min": f"found the smallest '{measure}' total per '{group}'",
        "ranking": f"sorted the '{measure}' totals per '{group}' "
        f"{'largest' if query.order == 'desc' else 'smallest'} first and kept {len(result.points)}",
        "trend": f"listed the '{measure}' totals per '{group}' in time order",
        "share": f"divided the '{measure}' total by the {whole_en} total and multiplied by 100",
        "change": f"took the '{measure}' totals of the earlier period ({base_keys}) and the later one, their "
        "difference and the percentage change ((later - earlier) / earlier × 100)",
    }
    return (
        f"From dataset '{dataset.title_en}' version {version}, the {result.rows_used} rows matching [{where}]: "
        f"{steps[query.aggregation]}. Running the same query through POST /api/opendata/query gives the same figures."
    )


def format_value(value: float | int | None, unit: str, language: str) -> str:
    """58199 → "58,199명" / "58,199 visitors"; decimals to one place; percentages with "%"."""
    if value is None:
        return "-"
    fractional = isinstance(value, float) and not value.is_integer()
    number = f"{value:,.1f}" if fractional else f"{round(value):,}"
    if not unit:
        return number
    if unit == "%" or language == "ko":
        return f"{number}{unit}"
    return f"{number} {unit}"


def josa(word: str, pair: str) -> str:
    """The Korean particle that fits the word's last sound: 은/는, 이/가, 을/를, (으)로."""
    last = _last_sound(word)
    if pair == "으로":
        return "로" if last in (None, "ㄹ") else "으로"
    first, second = {"은는": ("은", "는"), "이가": ("이", "가"), "을를": ("을", "를")}[pair]
    return second if last is None else first


def copula(word: str) -> str:
    return "예요" if _last_sound(word) is None else "이에요"


def _last_sound(word: str) -> str | None:
    """The final consonant of the word's last syllable, or None when it ends in a vowel."""
    word = word.strip().rstrip(")").rstrip()
    if not word:
        return None
    last = word[-1]
    if "가" <= last <= "힣":
        final = (ord(last) - 0xAC00) % 28
        if final == 0:
            return None
        return "ㄹ" if final == 8 else "other"
    if last.isdigit():
        return None if last in "2459" else ("ㄹ" if last in "178" else "other")
    if last == "%":
        return "other"  # 퍼센트
    return None


def _check_query(query: StructuredQuery, columns: dict[str, DatasetColumn]) -> None:
    named = [query.measure, query.group_by, *(f.column for f in query.filters)]
    unknown = [name for name in named if name and name not in columns]
    if unknown:
        raise Unanswerable(
            f"The dataset has no column {', '.join(unknown)}.", f"데이터셋에 {', '.join(unknown)} 열이 없어요."
        )
    if query.measure and columns[query.measure].type not in ("integer", "number"):
        raise Unanswerable(f"{query.measure} is not a number.", f"{query.measure} 열은 숫자가 아니에요.")


def _time_column(dataset: Dataset) -> DatasetColumn | None:
    return next((c for c in dataset.columns if c.role == "time"), None)


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
        whole_rows = _in_period(frame, time_column, query.period)
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


def _percent_change(base, value) -> float | None:
    if not base:
        return None
    return round((value - base) / base * 100, 1)


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


def _in(period: str) -> str:
    return f" in {period}" if period else ""


def _several_units(covered: tuple[str, str] | None, dataset: Dataset) -> bool:
    time_column = _time_column(dataset)
    if covered is None or time_column is None:
        return False
    if time_column.type == "year":
        return covered[0][:4] != covered[1][:4]
    if time_column.type == "quarter":
        return (
            periods.month_index(periods.parse_month_key(covered[1]))
            - periods.month_index(periods.parse_month_key(covered[0]))
            >= 3
        )
    return covered[0] != covered[1]


def _measure_label(measure: DatasetColumn | None, language: str) -> str:
    if measure is None:
        return ""
    return measure.label_ko if language == "ko" else measure.label_en


def _count_label(dataset: Dataset, language: str) -> str:
    entity = columns_of(dataset).get(dataset.entity_column) if dataset.entity_column else None
    if language == "ko":
        return dataset.row_label_ko or (entity.label_ko if entity else "행")
    return dataset.row_label_en or (plural(entity.label_en) if entity else "rows")


def _scope(dataset: Dataset, result: Computation, language: str) -> tuple[str, str]:
    """ "공영주차장 12곳 전체" / "all 12 public parking lots", and "… 12곳 중" / "among 12 …": how many of the
    things the table lists a figure covers, when the question named none of them."""
    if not result.things or result.things < 2:
        return "", ""
    noun = _count_label(dataset, language)
    if language == "ko":
        return f"{noun} {result.things}곳 전체", f"{noun} {result.things}곳 중"
    return f"all {result.things} {plural(noun)}", f"among {result.things} {plural(noun)}"


def _count_unit(dataset: Dataset) -> tuple[str, str]:
    return ("곳" if dataset.row_label_ko else "개", dataset.row_label_en or "rows")


def _is_time(dataset: Dataset, query: StructuredQuery) -> bool:
    time_column = _time_column(dataset)
    return time_column is not None and query.group_by == time_column.name


def _grain(dataset: Dataset, query: StructuredQuery) -> str:
    time_column = _time_column(dataset)
    if time_column is not None and (time_column.type == "year" or query.time_grain == "year"):
        return "year"
    return "quarter" if time_column is not None and time_column.type == "quarter" else "month"


def _per_group(dataset: Dataset, query: StructuredQuery) -> tuple[str, str]:
    if query.group_by is None:
        return "", "row"
    if _is_time(dataset, query):
        return {"year": ("연", "year"), "quarter": ("분기", "quarter")}.get(_grain(dataset, query), ("월", "month"))
    column = columns_of(dataset)[query.group_by]
    return f"{column.label_ko}별", column.label_en


def _group_noun(dataset: Dataset, query: StructuredQuery) -> tuple[str, str]:
    if _is_time(dataset, query):
        return {"year": ("해", "year"), "quarter": ("분기", "quarter")}.get(_grain(dataset, query), ("달", "month"))
    if query.group_by is None:
        return _count_label(dataset, "ko"), _count_label(dataset, "en")
    column = columns_of(dataset)[query.group_by]
    if dataset.row_label_ko and column.name == _first_dimension(dataset):
        return dataset.row_label_ko, dataset.row_label_en
    return column.label_ko, column.label_en


def _first_dimension(dataset: Dataset) -> str | None:
    return next((c.name for c in dataset.columns if c.role == "dimension" and c.type == "text"), None)


def _point_labels(dataset: Dataset, frame: pd.DataFrame, query: StructuredQuery, language: str):
    if _is_time(dataset, query):

        def time_label(key: str) -> str:
            if len(key) == 4:
                return f"{key}년" if language == "ko" else key
            if "-Q" in key:
                first, last = int(key[-1]) * 3 - 2, int(key[-1]) * 3
                return periods.label((f"{key[:4]}-{first:02d}", f"{key[:4]}-{last:02d}"), language)
            return periods.label((key, key), language)

        return time_label
    if query.group_by is None:
        return lambda key: key
    return lambda key: display_value(frame, query.group_by, key, language)


def display_value(frame: pd.DataFrame, column: str, value: Any, language: str) -> str:
    """A text value in the asked language, through a parallel column when the dataset has one (읍면동 ↔ district)."""
    text = str(value)
    if frame[column].dtype != "string":
        return text
    want_hangul = language == "ko"
    if bool(HANGUL.search(text)) == want_hangul:
        return text
    for other in _parallel_columns(frame, column):
        matches = frame.loc[frame[column] == value, other].dropna()
        if not matches.empty and bool(HANGUL.search(str(matches.iloc[0]))) == want_hangul:
            return str(matches.iloc[0])
    return text


def _parallel_columns(frame: pd.DataFrame, column: str) -> list[str]:
    pairs = []
    for other in frame.columns:
        if other == column or frame[other].dtype != "string":
            continue
        both = frame[[column, other]].dropna().drop_duplicates()
        if len(both) and both[column].is_unique and both[other].is_unique:
            pairs.append(other)
    return pairs


def _filters_label(dataset: Dataset, frame: pd.DataFrame, query: StructuredQuery, language: str) -> str:
    columns = columns_of(dataset)
    parts = []
    for condition in query.filters:
        column = columns[condition.column]
        if column.type == "boolean":
            if language == "ko":
                parts.append(
                    f"{column.label_ko}{josa(column.label_ko, '이가')} {'있는' if condition.values[0] else '없는'}"
                )
            else:
                parts.append(f"{'with' if condition.values[0] else 'without'} {column.label_en}")
            continue
        names = [display_value(frame, column.name, value, language) for value in condition.values]
        parts.append((", " if language == "ko" else " and ").join(names))
    return " ".join(parts)


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def plural(noun: str) -> str:
    """ "library" → "libraries", "lot" → "lots"; a noun already plural stays as it is."""
    if noun.endswith("s"):
        return noun
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
