"""Reading a CSV file into a typed pandas table: encoding, header clean-up, types, and refusals with line and reason."""

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from api.opendata.errors import MalformedFile

# Korean public data comes as UTF-8, UTF-8 with a byte-order mark, or CP949 (Excel's "ANSI" on Korean Windows).
ENCODINGS = ("utf-8-sig", "cp949")
YEAR_NAMES = re.compile(r"(연도|년도|기준년|year)", re.IGNORECASE)
MONTH_VALUE = re.compile(r"^(\d{4})\s*(?:[-./]|년)\s*(\d{1,2})\s*월?$|^(\d{4})(\d{2})$")
DATE_VALUE = re.compile(r"^(\d{4})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})\.?$|^(\d{4})(\d{2})(\d{2})$")
INTEGER_VALUE = re.compile(r"^[+-]?(?:0|[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*)$")
NUMBER_VALUE = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?$")
YEAR_VALUE = re.compile(r"^(\d{4})\s*년?$")
# "2021년 1분기", "2021년 제1분기", "2021년 1/4분기", "2021 Q1", "2021-Q1", "Q1 2021"
QUARTER_VALUE = re.compile(
    r"^(\d{4})\s*(?:년\s*)?(?:제\s*)?([1-4])\s*(?:/\s*4\s*)?분기$|^(\d{4})\s*[-.\s]?\s*q([1-4])$|^q([1-4])\s*[-.\s]?\s*(\d{4})$",
    re.IGNORECASE,
)
TRUE_WORDS = {"true", "yes", "y", "1", "o", "예", "있음", "가능", "t"}
FALSE_WORDS = {"false", "no", "n", "0", "x", "아니오", "없음", "불가", "f"}
BOOLEAN_WORDS = {"true", "false", "yes", "no", "y", "n", "예", "아니오", "있음", "없음"}
PANDAS_TYPES = {
    "integer": "Int64",
    "number": "Float64",
    "year": "Int64",
    "boolean": "boolean",
    "text": "string",
    "month": "string",
    "quarter": "string",
    "date": "string",
}
TYPE_NAMES = {
    "integer": ("a whole number", "정수"),
    "number": ("a number", "숫자"),
    "year": ("a year such as 2024", "2024 같은 연도"),
    "month": ("a month such as 2024-05", "2024-05 같은 연월"),
    "quarter": ("a quarter such as 2024 Q1", "2024년 1분기 같은 분기"),
    "date": ("a date such as 2024-05-31", "2024-05-31 같은 날짜"),
    "boolean": ("true or false", "true 또는 false"),
    "text": ("text", "글자"),
}


@dataclass(frozen=True)
class ParsedFile:
    frame: pd.DataFrame  # typed columns, in file order
    types: dict[str, str]
    encoding: str
    checksum: str
    line_numbers: list[int]  # the file line of each row, for messages

    @property
    def row_count(self) -> int:
        return len(self.frame)


def parse_csv(
    raw: bytes, declared_types: dict[str, str] | None = None, expected: list[str] | None = None
) -> ParsedFile:
    """The typed table in a CSV file; refuses a broken file, or one whose columns are not `expected`."""
    text, encoding = decode(raw)
    header, rows, line_numbers = _split(text)
    if expected is not None:
        _check_columns(header, expected)
    declared_types = declared_types or {}
    frame = pd.DataFrame(rows, columns=header, dtype="string")
    types: dict[str, str] = {}
    for name in header:
        values = frame[name].str.strip()
        column_type = declared_types.get(name) or infer_type(name, values)
        frame[name] = convert(values, column_type, name, line_numbers)
        types[name] = column_type
    return ParsedFile(frame, types, encoding, hashlib.sha256(raw).hexdigest(), line_numbers)


def read_stored(content: str, types: dict[str, str]) -> pd.DataFrame:
    """A stored version's table (already validated), typed again."""
    frame = pd.read_csv(io.StringIO(content), dtype="string", keep_default_na=False)
    lines = list(range(2, len(frame) + 2))
    for name, column_type in types.items():
        frame[name] = convert(frame[name], column_type, name, lines)
    return frame


def to_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def decode(raw: bytes) -> tuple[str, str]:
    if not raw.strip():
        raise MalformedFile("The file is empty.", "파일이 비어 있어요.")
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8-sig":
            return text, "utf-8-bom" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
        return text, encoding
    raise MalformedFile(
        "The file is neither UTF-8 nor CP949 text; save it as CSV (UTF-8).",
        "파일이 UTF-8이나 CP949 글자가 아니에요. CSV(UTF-8)로 저장해 다시 올려 주세요.",
    )


def clean_header(name: str) -> str:
    name = unicodedata.normalize("NFKC", name).replace("\ufeff", "").replace("\u200b", "")
    return re.sub(r"\s+", " ", name.strip().strip('"').strip())


def infer_type(name: str, values: pd.Series) -> str:
    present = [value for value in values.tolist() if value]
    if not present:
        return "text"

    def all_match(pattern: re.Pattern) -> bool:
        return all(pattern.match(value) for value in present)

    if YEAR_NAMES.search(name) and all_match(YEAR_VALUE):
        return "year"
    if all_match(DATE_VALUE) and not all_match(INTEGER_VALUE):
        return "date"
    if all(MONTH_VALUE.match(value) and not INTEGER_VALUE.match(value) for value in present):
        return "month"
    if all_match(QUARTER_VALUE):
        return "quarter"
    if all_match(INTEGER_VALUE):
        return "integer"
    if all_match(NUMBER_VALUE):
        return "number"
    if all(value.lower() in BOOLEAN_WORDS for value in present):
        return "boolean"
    return "text"


def convert(values: pd.Series, column_type: str, name: str, line_numbers: list[int]) -> pd.Series:
    """The column as its type; the first value that is not of it is refused with its line."""
    converter = _CONVERTERS[column_type]
    converted = []
    for position, value in enumerate(values.tolist()):
        value = "" if value is None or value is pd.NA else str(value).strip()
        if not value:
            converted.append(None)
            continue
        result = converter(value)
        if result is None:
            english, korean = TYPE_NAMES[column_type]
            line = line_numbers[position]
            raise MalformedFile(
                f"Line {line}: column {name!r} should be {english}, but it has {value!r}.",
                f"{line}번째 줄: '{name}' 열은 {korean}여야 하는데 '{value}' 값이 있어요.",
                line=line,
            )
        converted.append(result)
    return pd.Series(converted, index=values.index, dtype=PANDAS_TYPES[column_type])


def _split(text: str) -> tuple[list[str], list[list[str]], list[int]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    try:
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue
            if header is None:
                header = [clean_header(field) for field in fields]
                _check_header(header, reader.line_num)
                continue
            if len(fields) != len(header):
                line = reader.line_num
                raise MalformedFile(
                    f"Line {line}: expected {len(header)} fields like the header, found {len(fields)}.",
                    f"{line}번째 줄: 머리글처럼 {len(header)}개 칸이어야 하는데 {len(fields)}개예요.",
                    line=line,
                )
            rows.append(fields)
            line_numbers.append(reader.line_num)
    except csv.Error as error:
        line = reader.line_num
        raise MalformedFile(
            f"Line {line}: not valid CSV ({error}).", f"{line}번째 줄: CSV 형식이 아니에요 ({error}).", line=line
        ) from error
    if header is None or not rows:
        raise MalformedFile("The file has no data rows under its header.", "머리글 아래에 데이터 줄이 없어요.")
    return header, rows, line_numbers


def _check_header(header: list[str], line: int) -> None:
    if any(not name for name in header):
        position = header.index("") + 1
        raise MalformedFile(
            f"Line {line}: column {position} of the header has no name.",
            f"{line}번째 줄: 머리글의 {position}번째 열에 이름이 없어요.",
            line=line,
        )
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise MalformedFile(
            f"Line {line}: the header names {', '.join(duplicates)} more than once.",
            f"{line}번째 줄: 머리글에 {', '.join(duplicates)} 열이 두 번 이상 있어요.",
            line=line,
        )


def _check_columns(header: list[str], expected: list[str]) -> None:
    missing = [name for name in expected if name not in header]
    extra = [name for name in header if name not in expected]
    if missing or extra:
        parts_en, parts_ko = [], []
        if missing:
            parts_en.append(f"missing {', '.join(missing)}")
            parts_ko.append(f"빠진 열: {', '.join(missing)}")
        if extra:
            parts_en.append(f"unexpected {', '.join(extra)}")
            parts_ko.append(f"모르는 열: {', '.join(extra)}")
        raise MalformedFile(
            f"Line 1: the columns do not match this dataset ({'; '.join(parts_en)}).",
            f"1번째 줄: 이 데이터셋의 열과 맞지 않아요 ({'; '.join(parts_ko)}).",
            line=1,
        )


def _integer(value: str) -> int | None:
    value = value.replace(",", "")
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    if re.fullmatch(r"[+-]?\d+\.0+", value):
        return int(float(value))
    return None


def _number(value: str) -> float | None:
    if not NUMBER_VALUE.match(value) or value in {"+", "-", "."}:
        return None
    return float(value.replace(",", ""))


def _year(value: str) -> int | None:
    match = YEAR_VALUE.match(value)
    return int(match.group(1)) if match and 1800 <= int(match.group(1)) <= 2200 else None


def _month(value: str) -> str | None:
    match = MONTH_VALUE.match(value)
    if not match:
        return None
    year, month = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    return f"{int(year):04d}-{int(month):02d}" if 1 <= int(month) <= 12 else None


def _quarter(value: str) -> str | None:
    match = QUARTER_VALUE.match(value)
    if not match:
        return None
    parts = [part for part in match.groups() if part is not None]
    year, quarter = (parts[1], parts[0]) if len(parts[0]) == 1 else (parts[0], parts[1])
    return f"{int(year):04d}-Q{int(quarter)}"


def _date(value: str) -> str | None:
    match = DATE_VALUE.match(value)
    if not match:
        return None
    parts = [int(part) for part in match.groups() if part is not None]
    try:
        return pd.Timestamp(year=parts[0], month=parts[1], day=parts[2]).strftime("%Y-%m-%d")
    except ValueError:
        return None


def _boolean(value: str) -> bool | None:
    lowered = value.lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    return None


_CONVERTERS = {
    "integer": _integer,
    "number": _number,
    "year": _year,
    "month": _month,
    "quarter": _quarter,
    "date": _date,
    "boolean": _boolean,
    "text": lambda value: value,
}
