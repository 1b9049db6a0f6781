"""What a table is, read from its rows on upload: a series over time, a snapshot of named things, or a panel of both.

A year-like column is a time axis only when the table repeats the same things over it, or names no things at
all. A table with one row per named facility is a snapshot: its opening-year column is an attribute, so no
"latest year" filter ever applies to it. The admin sees the inferred shape and can correct it.
"""

import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

TIME_TYPES = ("month", "date", "quarter", "year")
NUMERIC_TYPES = ("integer", "number")
# The name a row carries when it is the total of the others.
TOTAL_NAMES = {"합계", "계", "총계", "전체", "총합", "합", "total", "totals", "grand total", "sum", "all"}
NAME_HEADERS = re.compile(r"(이름|명칭|시설명|기관명|명$|name|title|facility|시설|기관)", re.IGNORECASE)
COORDINATE_HEADERS = {"latitude": re.compile(r"^(lat|latitude|위도|y좌표)$", re.I),
                      "longitude": re.compile(r"^(lon|lng|long|longitude|경도|x좌표)$", re.I)}  # fmt: skip


@dataclass
class Shape:
    kind: str  # series | snapshot | panel
    entity_column: str | None
    time_column: str | None
    total_row: str | None
    roles: dict[str, str] = field(default_factory=dict)  # every column's role, in file order


def kind_of(entity_column: str | None, time_column: str | None) -> str:
    if time_column is None:
        return "snapshot"
    return "panel" if entity_column else "series"


def is_total_name(value: object) -> bool:
    if value is None or value is pd.NA:
        return False
    text = re.sub(r"[\s\-_()·]+", " ", unicodedata.normalize("NFKC", str(value))).strip().lower()
    return text in TOTAL_NAMES


def infer(frame: pd.DataFrame, types: dict[str, str], declared_roles: dict[str, str] | None = None) -> Shape:
    """The table's shape from its typed rows; roles the admin declared are kept as they are."""
    declared = {name: role for name, role in (declared_roles or {}).items() if role}
    roles = {name: declared.get(name) or _default_role(name, column_type) for name, column_type in types.items()}
    texts = [name for name in types if types[name] == "text" and roles[name] == "dimension"]
    total_row = _total_row(frame, texts)
    rows = frame if total_row is None else frame[~frame[texts].apply(lambda c: c.map(is_total_name)).any(axis=1)]

    declared_time = [name for name, role in declared.items() if role == "time"]
    candidates = declared_time or [name for name in types if types[name] in TIME_TYPES and roles[name] == "time"]
    time_column, entity_column = None, None
    unique = _unique_names(rows, texts)
    dated = next((n for n in candidates if types[n] != "year" and _distinct(rows, n)), None)
    if unique is not None and dated is not None and not NAME_HEADERS.search(unique):
        unique = None  # a label or a note beside each month ("비고"), not a list of named things
    if unique is not None and not declared_time:
        entity_column = unique  # a snapshot of named things: its year columns are attributes
    else:
        # A panel: some named thing repeated over a time column, once per time.
        for time in candidates:
            entity = _repeated_over(rows, texts, time)
            if entity is not None:
                time_column, entity_column = time, entity
                break
        if time_column is None:
            time_column = next((name for name in candidates if _distinct(rows, name)), None)
            time_column = time_column or (declared_time[0] if declared_time else None)
    for name in candidates:
        if name != time_column and not declared.get(name):
            roles[name] = "attribute"
    if time_column is not None:
        roles[time_column] = "time"
    return Shape(kind_of(entity_column, time_column), entity_column, time_column, total_row, roles)


def parallel_columns(frame: pd.DataFrame, column: str, candidates: list[str]) -> list[str]:
    """Text columns that name the same things in other words, one to one (읍면동 ↔ district, name ↔ name_en)."""
    found = []
    for other in candidates:
        if other == column:
            continue
        both = frame[[column, other]].dropna().drop_duplicates()
        if len(both) and both[column].is_unique and both[other].is_unique:
            found.append(other)
    return found


def _default_role(name: str, column_type: str) -> str:
    for role, pattern in COORDINATE_HEADERS.items():
        if column_type in NUMERIC_TYPES and pattern.match(name.strip()):
            return role
    if column_type in TIME_TYPES:
        return "time"
    if column_type in NUMERIC_TYPES:
        return "measure"
    return "dimension"


def _total_row(frame: pd.DataFrame, texts: list[str]) -> str | None:
    for name in texts:
        values = frame[name].dropna()
        totals = values[values.map(is_total_name)]
        if len(totals) and len(totals) < len(values):
            return str(totals.iloc[0])
    return None


def _repeated_over(rows: pd.DataFrame, texts: list[str], time: str) -> str | None:
    """The first text column whose values recur across times, each at most once per time."""
    if rows[time].isna().all() or rows[time].nunique() < 2:
        return None
    ordered = sorted(texts, key=lambda name: not NAME_HEADERS.search(name))
    for name in ordered:
        pairs = rows[[name, time]].dropna()
        if len(pairs) < len(rows) or pairs[name].nunique() == len(pairs):
            continue
        # Most of the things recur, each at most once per time (not a few that happen to share a year).
        recurring = (pairs[name].value_counts() >= 2).mean()
        if recurring >= 0.5 and not pairs.duplicated().any():
            return name
    # Several dimensions together (읍면동 × 성별 per year): the first of them names the things.
    present = [name for name in ordered if rows[name].notna().all() and rows[name].nunique() < len(rows)]
    if present and not rows[[*present, time]].duplicated().any():
        return present[0]
    return None


def _unique_names(rows: pd.DataFrame, texts: list[str]) -> str | None:
    """A text column naming each row once: the things a snapshot lists (name-like headers first)."""
    ordered = sorted(texts, key=lambda name: not NAME_HEADERS.search(name))
    for name in ordered:
        values = rows[name]
        if len(values) >= 2 and values.notna().all() and values.is_unique and not _numeric_like(values):
            return name
    return None


def _distinct(rows: pd.DataFrame, name: str) -> bool:
    values = rows[name].dropna()
    return len(values) > 0 and values.is_unique


def _numeric_like(values: pd.Series) -> bool:
    return bool(values.astype(str).str.fullmatch(r"[\d\s.,:\-/]+").all())
