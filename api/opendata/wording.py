"""Wording, the last step of an open-data answer: a computed result said in Korean or English, with what it was
computed over, its figures for the response, and how it was computed."""

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from api.opendata import periods, shape
from api.opendata.computing import Computation
from api.opendata.models import Dataset, DatasetColumn, columns_of, time_column_of
from api.opendata.schemas import Figure, StructuredQuery

HANGUL = re.compile(r"[가-힣]")


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
        difference, percent = result.difference, result.percent
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


@dataclass
class _Saying:
    """What every sentence of an answer draws on: the words for the measure, the rows, the period and the scope."""

    dataset: Dataset
    frame: pd.DataFrame
    query: StructuredQuery
    result: Computation
    language: str

    def __post_init__(self) -> None:
        self.ko = self.language == "ko"
        self.measure = columns_of(self.dataset).get(self.query.measure) if self.query.measure else None
        self.period = _period_label(self.result.covered, self.language)
        self.where = _filters_label(self.dataset, self.frame, self.query, self.language)
        self.label = _measure_label(self.measure, self.language)
        self.unit = (self.measure.unit_ko if self.ko else self.measure.unit_en) if self.measure else ""
        self.everything, self.among = _scope(self.dataset, self.result, self.language)

    def show(self, value: float | int | None) -> str:
        return format_value(value, self.unit, self.language)

    def labels(self):
        return _point_labels(self.dataset, self.frame, self.query, self.language)


def answer_text(
    dataset: Dataset, frame: pd.DataFrame, query: StructuredQuery, result: Computation, language: str
) -> str:
    return _SAYINGS[query.aggregation](_Saying(dataset, frame, query, result, language))


def _say_count(s: _Saying) -> str:
    noun = _count_label(s.dataset, s.language)
    counted = format_value(s.result.value, _count_unit(s.dataset)[0 if s.ko else 1], s.language)
    if s.ko:
        return f"{_join(s.where, noun)}{josa(noun, '은는')} {counted}{copula(counted)}."
    return f"There are {counted}{' ' + s.where if s.where else ''}."


def _say_total(s: _Saying) -> str:
    result, measure = s.result, s.measure
    several = s.query.aggregation == "sum" or _several_units(result.covered, s.dataset) or (result.things or 0) > 1
    from_total = (" (표의 합계 행)" if s.ko else " (the table's total row)") if result.from_total_row else ""
    shown = s.show(result.value)
    if s.ko:
        summed = s.label + (" 합계" if several and measure.time_aggregation == "sum" else "")
        subject = _join(s.period, s.where, s.everything, summed)
        return f"{subject}{josa(subject, '은는')} {shown}{copula(shown)}{from_total}."
    summed = several and measure.time_aggregation == "sum" and not s.label.lower().startswith("total")
    total = "Total " + s.label if summed else _capital(s.label)
    scope = f" for {s.everything}" if s.everything else ""
    return f"{total}{' of ' + s.where if s.where else ''}{scope}{_in(s.period)}: {shown}{from_total}."


def _say_average(s: _Saying) -> str:
    per_ko, per_en = _per_group(s.dataset, s.query)
    shown = s.show(s.result.value)
    if s.ko:
        what = f"{per_ko}평균 {s.label}" if per_ko in ("월", "연") else f"{per_ko} 평균 {s.label}".strip()
        subject = _join(s.period, s.where, what)
        return f"{subject}{josa(subject, '은는')} {shown}{copula(shown)}."
    return f"Average {s.label} per {per_en}{' of ' + s.where if s.where else ''}{_in(s.period)}: {shown}."


def _say_extreme(s: _Saying) -> str:
    best, labels = s.result.points[0], s.labels()
    noun_ko, _ = _group_noun(s.dataset, s.query)
    grouped_by_things = s.query.group_by == s.dataset.entity_column
    highest = s.query.aggregation == "max"
    if s.ko:
        scope = s.among if grouped_by_things else ""
        what = f"{s.label}{josa(s.label, '이가')} 가장 {'많은' if highest else '적은'} {noun_ko}"
        subject = _join(scope, s.period, s.where, what)
        value = s.show(best.value)
        return f"{subject}{josa(noun_ko, '은는')} {labels(best.key)}({value}){copula(value)}."
    of_where = f" of {s.where}" if s.where else ""
    scope = f" {s.among}" if s.among and grouped_by_things else ""
    most = "Highest" if highest else "Lowest"
    return f"{most} {s.label}{of_where}{_in(s.period)}{scope}: {labels(best.key)}, with {s.show(best.value)}."


def _say_ranking(s: _Saying) -> str:
    labels = s.labels()
    noun_ko, noun_en = _group_noun(s.dataset, s.query)
    lines = [f"{rank}. {labels(p.key)} {s.show(p.value)}" for rank, p in enumerate(s.result.points, start=1)]
    count = len(s.result.points)
    scope = s.among if s.query.group_by == s.dataset.entity_column else ""
    if s.ko:
        order = "상위" if s.query.order == "desc" else "하위"
        by = {"달": "월", "해": "연도"}.get(noun_ko, noun_ko)
        head = _join(scope, s.period, s.where, f"{by}별 {s.label} {order} {count}개예요:")
    else:
        order = "Top" if s.query.order == "desc" else "Bottom"
        head = f"{order} {count} {plural(noun_en)} by {s.label}{' for ' + s.where if s.where else ''}{_in(s.period)}"
        head += f" ({scope}):" if scope else ":"
    return "\n".join([head, *lines])


def _say_trend(s: _Saying) -> str:
    points, labels, show = s.result.points, s.labels(), s.show
    first, last = points[0], points[-1]
    peak = max(points, key=lambda p: p.value)
    low = min(points, key=lambda p: p.value)
    listing = [f"· {labels(p.key)} {show(p.value)}" for p in points] if len(points) <= 12 else []
    grain = _grain(s.dataset, s.query)
    if s.ko:
        by = {"year": "연도", "quarter": "분기"}.get(grain, "월")
        head = _join(s.period, s.where, f"{by}별 {s.label} 추이예요.")
        body = (
            f"{labels(first.key)} {show(first.value)}에서 {labels(last.key)} {show(last.value)}까지, "
            f"가장 많았던 때는 {labels(peak.key)}({show(peak.value)}), "
            f"가장 적었던 때는 {labels(low.key)}({show(low.value)}){copula(show(low.value))}."
        )
    else:
        head = f"{_capital(s.label)} by {grain}{' for ' + s.where if s.where else ''}{_in(s.period)}."
        body = (
            f"From {show(first.value)} in {labels(first.key)} to {show(last.value)} in {labels(last.key)}; "
            f"highest {labels(peak.key)} ({show(peak.value)}), lowest {labels(low.key)} ({show(low.value)})."
        )
    return "\n".join([head, body, *listing])


def _say_share(s: _Saying) -> str:
    result = s.result
    percent = format_value(result.value, "%", s.language)
    whole_en, whole_ko = result.denominator_label
    part = _join(s.where, s.label)
    if s.ko:
        return (
            f"{_join(s.period, part)}{josa(part, '은는')} {whole_ko}의 {percent}예요 "
            f"({s.show(result.numerator)} / {s.show(result.denominator)})."
        )
    return (
        f"{_capital(part)} made up {percent} of {whole_en}{_in(s.period)} "
        f"({s.show(result.numerator)} of {s.show(result.denominator)})."
    )


def _say_change(s: _Saying) -> str:
    result = s.result
    base_period = _period_label(result.base_covered, s.language)
    difference, percent = result.difference, result.percent
    percent_text = "" if percent is None else f" ({'+' if percent > 0 else ''}{format_value(percent, '%', s.language)})"
    amount = f" {s.show(abs(difference))}" if difference else ""
    subject = _join(s.where, s.label)
    if s.ko:
        moved = "늘었어요" if difference > 0 else "줄었어요" if difference < 0 else "같아요"
        value = s.show(result.value)
        return (
            f"{subject}{josa(subject, '은는')} {base_period} {s.show(result.base)}에서 {s.period} "
            f"{value}{josa(value, '으로')}{amount} {moved}{percent_text}."
        )
    moved = "up" if difference > 0 else "down" if difference < 0 else "unchanged"
    return (
        f"{_capital(subject)} went from {s.show(result.base)} in {base_period} to {s.show(result.value)} in "
        f"{s.period}: {moved}{amount}{percent_text}."
    )


_SAYINGS = {
    "count": _say_count,
    "value": _say_total,
    "sum": _say_total,
    "average": _say_average,
    "max": _say_extreme,
    "min": _say_extreme,
    "ranking": _say_ranking,
    "trend": _say_trend,
    "share": _say_share,
    "change": _say_change,
}


def _period_label(covered: tuple[str, str] | None, language: str) -> str:
    return periods.label(covered, language) if covered else ""


def explanation(dataset: Dataset, version: int, query: StructuredQuery, result: Computation, language: str) -> str:
    """How the figures were computed, in plain words; the structured query beside it reproduces them."""
    columns = columns_of(dataset)
    ko = language == "ko"
    conditions = [f"{f.column} = {', '.join(str(v) for v in f.values)}" for f in query.filters]
    time_column = time_column_of(dataset)
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
            f"{steps[query.aggregation]}. 같은 조건으로 다시 계산해도 같은 값이 나와요."
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
        f"{steps[query.aggregation]}. Computed again with the same conditions, it gives the same figures."
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


def _in(period: str) -> str:
    return f" in {period}" if period else ""


def _several_units(covered: tuple[str, str] | None, dataset: Dataset) -> bool:
    time_column = time_column_of(dataset)
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
    time_column = time_column_of(dataset)
    return time_column is not None and query.group_by == time_column.name


def _grain(dataset: Dataset, query: StructuredQuery) -> str:
    time_column = time_column_of(dataset)
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
    texts = [name for name in frame.columns if frame[name].dtype == "string"]
    for other in shape.parallel_columns(frame, column, texts):
        matches = frame.loc[frame[column] == value, other].dropna()
        if not matches.empty and bool(HANGUL.search(str(matches.iloc[0]))) == want_hangul:
            return str(matches.iloc[0])
    return text


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
