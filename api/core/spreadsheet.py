"""CSV downloads that people open in Excel: no cell runs as a formula, phone numbers keep their leading zero.

Every CSV the api hands out goes through `csv_download`, so a value a citizen or an uploader wrote
(`=HYPERLINK(...)`, `+cmd|...`, `@SUM(...)`) reaches the spreadsheet as text, not as a formula.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from numbers import Number
from typing import Any

from fastapi.responses import StreamingResponse

from common.masking import PHONE_PATTERN

# What makes Excel, LibreOffice and Google Sheets read a cell as a formula (OWASP "CSV injection"): a tab or a
# carriage return first hides the character after it in some of them.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Excel opens UTF-8 as UTF-8 (Korean text intact) only with a byte-order mark.
BYTE_ORDER_MARK = "\ufeff"
# Rows go out in pieces this long: one send per row would make a long export slow.
CHUNK_CHARS = 64 * 1024


def spreadsheet_cell(value: Any) -> Any:
    """The value as a safe cell: text that would start a formula gets a leading apostrophe; numbers stay numbers
    (a negative figure is data, not a formula)."""
    if value is None:
        return ""
    if isinstance(value, Number) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def spreadsheet_phone(phone: str) -> str:
    """A Korean phone number as 010-1234-5678: a spreadsheet keeps it as text, so the leading zero stays."""
    match = PHONE_PATTERN.fullmatch(phone.strip())
    return "-".join(match.groups()) if match else phone


def csv_chunks(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The file in pieces of about CHUNK_CHARS, byte-order mark first, every cell (the header too) made safe by
    `spreadsheet_cell`."""
    buffer = io.StringIO(BYTE_ORDER_MARK)
    buffer.seek(0, io.SEEK_END)
    writer = csv.writer(buffer)
    for row in chain([header], rows):
        writer.writerow([spreadsheet_cell(value) for value in row])
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_download(filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> StreamingResponse:
    """A CSV attachment written out while it is sent: an export of any length needs no more memory than its rows."""
    return StreamingResponse(
        csv_chunks(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
