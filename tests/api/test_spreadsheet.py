"""Every CSV export is safe to open in a spreadsheet: no cell runs as a formula, phones keep their leading zero,
and the paper-mail export lists every flagged notice, however many."""

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.spreadsheet import csv_chunks, spreadsheet_cell, spreadsheet_phone
from api.notices.models import PersonalNotice
from api.opendata import service
from api.opendata.schemas import DatasetMetadata
from api.staff.models import AuditEntry
from common.clock import utcnow
from tests.api.test_console import ADMIN, _signed_in
from tests.api.test_console import app as app  # the fixture with the staff accounts

HOSTILE = ['=HYPERLINK("http://evil.test","열기")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())  # Excel reads the Korean text as UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def assert_no_formula(cells: list[str]) -> None:
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_would_start_a_formula_gets_a_leading_apostrophe(text):
    assert spreadsheet_cell(text) == "'" + text


def test_numbers_stay_numbers_and_harmless_text_stays_as_it_was():
    assert spreadsheet_cell(-5) == -5
    assert spreadsheet_cell(12.5) == 12.5
    assert spreadsheet_cell(None) == ""
    assert spreadsheet_cell("김민수") == "김민수"
    assert spreadsheet_cell("a=b") == "a=b"


def test_phone_numbers_are_written_hyphenated_so_a_spreadsheet_keeps_the_leading_zero():
    assert spreadsheet_phone("01012345678") == "010-1234-5678"
    assert spreadsheet_phone("010-1234-5678") == "010-1234-5678"
    assert spreadsheet_phone("0319404114") == "031-940-4114"


def test_the_header_row_is_made_safe_too():
    text = "".join(csv_chunks(["=bad", "ok"], [[1, 2]]))
    assert text.splitlines()[0] == "\ufeff'=bad,ok"


def _flag(session: Session, count: int, **fields) -> None:
    flagged = utcnow()
    session.add_all(
        PersonalNotice(
            phone=fields.get("phone", f"010{n:08d}"),
            recipient_name=fields.get("recipient_name", "김민수"),
            department=fields.get("department", "세무과"),
            title=fields.get("title", f"지방세 고지 {n}"),
            body="본문",
            content_sha256="0" * 64,
            sent_at=flagged - timedelta(days=5),
            paper_mail_at=flagged,
        )
        for n in range(count)
    )
    session.commit()


def test_a_hostile_name_department_or_title_reaches_the_paper_mail_export_as_text(app):
    with app.state.sessionmaker() as session:
        for text in HOSTILE:
            _flag(session, 1, recipient_name=text, department=text, title=text, phone="01012345678")
    admin, _ = _signed_in(app, ADMIN)
    header, *rows = read_csv(admin.get("/console/paper-mail.csv"))
    assert header == ["notice_id", "recipient_name", "phone", "department", "title", "sent_at", "flagged_at"]
    assert len(rows) == len(HOSTILE)
    for row in rows:
        assert_no_formula(row)
        assert row[1] == row[3] == row[4] and row[1][1:] in HOSTILE
        assert row[2] == "010-1234-5678"


def test_the_paper_mail_export_lists_every_flagged_notice_beyond_a_thousand(app):
    with app.state.sessionmaker() as session:
        _flag(session, 1205)
    admin, _ = _signed_in(app, ADMIN)
    _header, *rows = read_csv(admin.get("/console/paper-mail.csv"))
    assert len(rows) == 1205
    assert len({row[0] for row in rows}) == 1205
    assert all(row[2].startswith("010-") for row in rows)
    with app.state.sessionmaker() as session:
        audited = session.scalar(select(AuditEntry).where(AuditEntry.action == "export_paper_mail"))
        assert audited.subject == "personal_notices:1205"


NOTES = DatasetMetadata(
    id="paju-hostile-notes-test",
    topic="culture",
    title_ko="시험용 메모",
    title_en="Notes (test)",
    source="tests",
    licence="test data",
    is_sample=True,
)


def test_a_hostile_cell_of_an_uploaded_dataset_reaches_the_csv_download_as_text(app):
    quoted = [text.replace('"', '""') for text in HOSTILE]
    lines = ["기준월,메모,변화"] + [f'2025-0{n + 1},"{text}",-{n}' for n, text in enumerate(quoted)]
    with app.state.sessionmaker() as session:
        service.import_version(session, NOTES, "\n".join(lines).encode(), "notes.csv", imported_by="tests")
        session.commit()
    header, *rows = read_csv(TestClient(app).get(f"/api/datasets/{NOTES.id}/rows", params={"format": "csv"}))
    assert header == ["기준월", "메모", "변화"]
    assert len(rows) == len(HOSTILE)
    for n, row in enumerate(rows):
        assert row[1][0] == "'" and row[1][1:].strip() == HOSTILE[n].strip()
    # Numbers are data: a negative figure stays a number a spreadsheet can add up.
    assert [row[2] for row in rows] == ["0", "-1", "-2", "-3", "-4", "-5"]
