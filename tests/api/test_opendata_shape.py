"""What a table is, read on upload and corrected by an admin: a snapshot of named things never gets a time axis from
its opening years, a repeated name over years makes a panel, and the correction changes what the assistant answers."""

import io

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.opendata.models import Dataset
from api.staff.models import AuditEntry
from tests.api.opendata_fixtures import ask, headers_for, seeded, upload

# The table: one row per facility with two measures and the year it opened. The one that opened last is
# the largest on neither measure.
CENTRES_CSV = """센터명,읍면동,좌석수,연간이용자수,개관연도
금촌문화센터,금촌1동,320,152000,2006
교하문화센터,교하동,410,208000,2012
문산문화센터,문산읍,260,97000,2015
운정문화센터,운정1동,380,187000,2019
파평문화센터,파평면,90,21000,2024
"""
CENTRES = {
    "id": "paju-culture-centres-test",
    "topic": "culture",
    "title_ko": "파주시 문화센터 현황 (시험용)",
    "title_en": "Paju culture centres (test)",
    "source": "tests",
    "licence": "test data",
    "keywords_ko": ["문화센터"],
    "keywords_en": ["culture centre", "culture centres", "culture center"],
    "row_label_ko": "문화센터",
    "row_label_en": "culture centres",
    "columns": [
        {"name": "좌석수", "label_en": "seats", "unit_ko": "석", "unit_en": "seats", "aliases_ko": ["좌석"],
         "aliases_en": ["seats"]},
        {"name": "연간이용자수", "label_ko": "연간 이용자 수", "label_en": "visitors a year", "unit_ko": "명",
         "unit_en": "visitors", "aliases_ko": ["이용자"], "aliases_en": ["visitors", "users"]},
        {"name": "개관연도", "label_en": "year opened"},
    ],
}  # fmt: skip
FRAME = pd.read_csv(io.StringIO(CENTRES_CSV))


@pytest.fixture
def opendata(client):
    return seeded(client)


@pytest.fixture
def admin(opendata):
    return headers_for(opendata, "admin")


def test_a_table_of_named_facilities_is_a_snapshot_and_its_opening_year_is_not_a_time_axis(opendata, admin):
    created = upload(opendata, admin, CENTRES, CENTRES_CSV.encode()).json()
    assert created["shape"] == {
        "kind": "snapshot",
        "entity_column": "센터명",
        "time_column": None,
        "total_row": None,
        "measures": ["좌석수", "연간이용자수"],
        "dimensions": ["읍면동"],
        "attributes": ["개관연도"],
        "inferred": True,
    }
    largest = FRAME.loc[FRAME["좌석수"].idxmax()]
    answer = ask(opendata, "좌석이 가장 많은 문화센터는?")
    assert answer["numbers"][0]["value"] == largest["좌석수"] and largest["센터명"] in answer["answer"]
    assert "2024" not in answer["answer"] and "문화센터 5곳 중" in answer["answer"]

    total = int(FRAME["연간이용자수"].sum())
    summed = ask(opendata, "문화센터 전체 연간 이용자 수 합계")
    assert summed["numbers"][0]["value"] == total
    assert "2006" not in summed["answer"] and "~" not in summed["answer"]


def test_the_seed_tables_are_read_as_a_series_a_panel_and_snapshots(opendata):
    shapes = {
        d["id"]: opendata.get(f"/api/datasets/{d['id']}").json()["shape"] for d in opendata.get("/api/datasets").json()
    }
    assert shapes["dmz-peace-tourism-monthly"]["kind"] == "series"
    assert shapes["dmz-peace-tourism-monthly"]["time_column"] == "통계연월"
    population = shapes["paju-population-by-district-sample"]
    assert (population["kind"], population["entity_column"], population["time_column"]) == ("panel", "읍면동", "연도")
    assert shapes["paju-public-parking-sample"]["kind"] == "snapshot"
    assert shapes["paju-public-parking-sample"]["entity_column"] == "name"


def test_a_total_row_is_found_and_never_ranked_as_one_of_the_things(opendata, admin):
    with_total = CENTRES_CSV + "합계,,1460,665000,\n"
    created = upload(opendata, admin, CENTRES | {"id": "paju-culture-centres-total"}, with_total.encode()).json()
    assert created["shape"]["total_row"] == "합계"
    answer = ask(opendata, "연간 이용자가 가장 많은 문화센터")
    assert answer["numbers"][0]["label"] == FRAME.loc[FRAME["연간이용자수"].idxmax(), "센터명"]


def test_an_admin_corrects_the_shape_and_the_correction_is_audited_and_kept_on_the_next_version(opendata, admin):
    upload(opendata, admin, CENTRES, CENTRES_CSV.encode())
    corrected = opendata.put(
        f"/api/datasets/{CENTRES['id']}/shape",
        json={"entity_column": "센터명", "time_column": None, "total_row": None, "roles": {"읍면동": "attribute"}},
        headers=admin,
    )
    assert corrected.status_code == 200, corrected.text
    shape = corrected.json()["shape"]
    assert shape["inferred"] is False and shape["attributes"] == ["읍면동", "개관연도"] and shape["dimensions"] == []

    again = upload(opendata, admin, {"id": CENTRES["id"]}, CENTRES_CSV.replace("90,", "95,").encode())
    assert again.status_code == 201 and again.json()["shape"] == shape
    with Session(opendata.app.state.engine) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "correct_dataset_shape")).all()
        assert entry.subject == f"dataset:{CENTRES['id']}" and "snapshot" in entry.reason


@pytest.mark.parametrize(
    "correction",
    [
        {"entity_column": "없는열"},
        {"entity_column": "좌석수"},
        {"time_column": "센터명"},
        {"entity_column": "센터명", "total_row": "총합계"},
        {"roles": {"좌석수": "owner"}},
    ],
)
def test_a_wrong_correction_is_refused_in_the_admins_language_and_changes_nothing(opendata, admin, correction):
    before = upload(opendata, admin, CENTRES, CENTRES_CSV.encode()).json()["shape"]
    refused = opendata.put(
        f"/api/datasets/{CENTRES['id']}/shape", json=correction, headers=admin | {"Accept-Language": "ko"}
    )
    assert refused.status_code == 422
    assert any("가" <= c <= "힣" for c in str(refused.json()["detail"])) or correction.get("roles")
    assert opendata.get(f"/api/datasets/{CENTRES['id']}").json()["shape"] == before


def test_only_an_admin_corrects_a_shape(opendata, admin):
    upload(opendata, admin, CENTRES, CENTRES_CSV.encode())
    body = {"entity_column": None, "time_column": None}
    assert opendata.put(f"/api/datasets/{CENTRES['id']}/shape", json=body).status_code == 401
    staff = headers_for(opendata, "staff")
    assert opendata.put(f"/api/datasets/{CENTRES['id']}/shape", json=body, headers=staff).status_code == 403


def test_a_dataset_imported_before_shapes_existed_is_read_when_next_used(opendata):
    with Session(opendata.app.state.engine) as session:
        dataset = session.get(Dataset, "paju-public-parking-sample")
        dataset.shape_kind, dataset.entity_column = None, None
        session.commit()
    assert opendata.get("/api/datasets/paju-public-parking-sample").json()["shape"]["entity_column"] == "name"


def test_a_monthly_series_with_a_note_on_each_month_stays_a_series():
    from api.opendata import csv_import, shape

    parsed = csv_import.parse_csv("연월,방문객,비고\n2025-01,120,설 연휴\n2025-02,98,한파\n2025-03,143,개학\n".encode())
    inferred = shape.infer(parsed.frame, parsed.types)
    assert (inferred.kind, inferred.time_column, inferred.entity_column) == ("series", "연월", None)


def test_correcting_only_the_total_row_keeps_the_time_axis(opendata, admin):
    dmz = "dmz-peace-tourism-monthly"
    corrected = opendata.put(f"/api/datasets/{dmz}/shape", json={"total_row": None}, headers=admin)
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["shape"]["time_column"] == "통계연월" and corrected.json()["shape"]["kind"] == "series"
