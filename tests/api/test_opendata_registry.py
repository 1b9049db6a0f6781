"""The dataset registry over HTTP: listing, rows and downloads, admin uploads in three encodings, refusals that
leave the live version alone, and a dataset answered right after its upload."""

import csv
import hashlib
import io

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.opendata.models import DatasetVersion
from api.staff.models import AuditEntry
from tests.api.conftest import SERVICE_HEADERS
from tests.api.opendata_fixtures import SEED, ask, headers_for, seed_frame, seeded, upload

DMZ_ID = "dmz-peace-tourism-monthly"
LIBRARY_CSV = """기준월,도서관,대출 권수,이용자 수
2025-01,교하도서관,"12,480",3310
2025-01,중앙도서관,9870,2875
2025-02,교하도서관,11950,3190
2025-02,중앙도서관,10230,2990
2025-03,교하도서관,13420,3555
2025-03,중앙도서관,10815,3105
"""
LIBRARY = {
    "id": "paju-library-loans-test",
    "topic": "culture",
    "title_ko": "파주시 도서관 월별 대출 현황 (시험용)",
    "title_en": "Paju library loans by month (test)",
    "source": "tests",
    "licence": "test data",
    "is_sample": True,
    "keywords_ko": ["도서관", "대출"],
    "keywords_en": ["library", "libraries", "loans"],
    "columns": [
        {"name": "도서관", "aliases_en": ["library"]},
        {
            "name": "대출 권수",
            "type": "integer",
            "label_en": "books lent",
            "unit_ko": "권",
            "unit_en": "books",
            "aliases_ko": ["대출", "빌린 책"],
            "aliases_en": ["books lent", "loans", "books borrowed"],
        },
        {"name": "이용자 수", "unit_ko": "명", "unit_en": "users", "aliases_ko": ["이용자"], "aliases_en": ["users"]},
    ],
}


@pytest.fixture
def opendata(client):
    return seeded(client)


@pytest.fixture
def admin(opendata):
    return headers_for(opendata, "admin")


def _dmz_bytes() -> bytes:
    return (SEED / "dmz_peace_tourism_monthly.csv").read_bytes()


def test_the_registry_lists_the_seed_datasets_with_their_metadata(opendata):
    listed = opendata.get("/api/datasets").json()
    assert {d["id"] for d in listed} == {
        DMZ_ID,
        "paju-population-by-district-sample",
        "paju-public-parking-sample",
        "paju-public-toilets-sample",
    }
    dmz = opendata.get(f"/api/datasets/{DMZ_ID}").json()
    assert dmz["row_count"] == len(seed_frame("dmz_peace_tourism_monthly.csv")) == 22
    assert dmz["is_sample"] is False and "15153986" in dmz["source"] and dmz["licence"]
    assert dmz["coverage"] == {"column": "통계연월", "first": "2024-01", "last": "2025-10"}
    assert dmz["version"]["checksum"] == hashlib.sha256(_dmz_bytes()).hexdigest()
    assert dmz["version"]["encoding"] == "utf-8" and dmz["version"]["number"] == 1
    total = next(c for c in dmz["columns"] if c["name"] == "총관광객수")
    assert total["type"] == "integer" and total["unit_ko"] == "명" and total["unit_en"] == "visitors"
    assert {"관광객", "방문객"} <= set(total["aliases_ko"]) and "total visitors" in total["aliases_en"]
    assert opendata.get("/api/datasets/nope").status_code == 404


def test_the_catalog_groups_datasets_by_topic_and_a_topic_filters_the_list(opendata):
    topics = {t["topic"]: t for t in opendata.get("/api/opendata/catalog").json()}
    assert set(topics) == {"tourism", "population", "facilities"}
    assert topics["tourism"]["label_ko"] == "관광" and [d["id"] for d in topics["tourism"]["datasets"]] == [DMZ_ID]
    assert len(topics["facilities"]["datasets"]) == 2
    assert [d["id"] for d in opendata.get("/api/datasets?topic=population").json()] == [
        "paju-population-by-district-sample"
    ]


def test_rows_filter_and_page_and_download_as_csv(opendata):
    population = seed_frame("paju_population_by_district_sample.csv")
    page = opendata.get(
        "/api/datasets/paju-population-by-district-sample/rows", params={"연도": 2024, "limit": 5, "offset": 5}
    ).json()
    expected = population[population["연도"] == 2024]
    assert page["total"] == len(expected) and len(page["rows"]) == 5
    assert [row["읍면동"] for row in page["rows"]] == list(expected["읍면동"].iloc[5:10])

    ranged = opendata.get(
        f"/api/datasets/{DMZ_ID}/rows",
        params={"통계연월__from": "2025-03", "통계연월__to": "2025-05", "sort": "-외국인수"},
    ).json()
    assert [row["통계연월"] for row in ranged["rows"]] == ["2025-04", "2025-05", "2025-03"]

    two = opendata.get("/api/datasets/paju-population-by-district-sample/rows?읍면동=문산읍&읍면동=파주읍&연도=2025")
    assert {row["읍면동"] for row in two.json()["rows"]} == {"문산읍", "파주읍"}

    download = opendata.get(f"/api/datasets/{DMZ_ID}/rows", params={"format": "csv", "통계연월__from": "2025-01"})
    assert download.headers["content-type"].startswith("text/csv")
    assert f'filename="{DMZ_ID}.csv"' in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert len(rows) == 10 and rows[3] == {
        "통계연월": "2025-04",
        "총관광객수": "58199",
        "내국인수": "8999",
        "외국인수": "49200",
    }


@pytest.mark.parametrize(
    "params", [{"nope": "1"}, {"연도": "last year"}, {"sort": "nope"}, {"limit": 0}, {"format": "xml"}]
)
def test_bad_row_filters_are_refused_with_422(opendata, params):
    response = opendata.get("/api/datasets/paju-population-by-district-sample/rows", params=params)
    assert response.status_code == 422


def test_uploading_needs_a_signed_in_admin(opendata):
    content = LIBRARY_CSV.encode()
    assert upload(opendata, {}, LIBRARY, content).status_code == 401
    assert upload(opendata, SERVICE_HEADERS, LIBRARY, content).status_code == 401
    assert upload(opendata, headers_for(opendata, "staff"), LIBRARY, content).status_code == 403
    assert opendata.get(f"/api/datasets/{LIBRARY['id']}").status_code == 404


def test_a_dataset_uploaded_now_is_answered_right_away_in_both_languages(opendata, admin):
    response = upload(opendata, admin, LIBRARY, LIBRARY_CSV.encode(), "loans.csv")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["row_count"] == 6 and created["version"]["filename"] == "loans.csv"
    assert {c["name"]: c["type"] for c in created["columns"]} == {
        "기준월": "month",
        "도서관": "text",
        "대출 권수": "integer",
        "이용자 수": "integer",
    }
    loans = seed_like(LIBRARY_CSV)
    march_gyoha = int(loans[(loans["기준월"] == "2025-03") & (loans["도서관"] == "교하도서관")]["대출 권수"].sum())
    answer = ask(opendata, "2025년 3월 교하도서관 대출 권수는?")
    assert answer["answered"] and answer["dataset"]["id"] == LIBRARY["id"]
    assert answer["numbers"][0]["value"] == march_gyoha and f"{march_gyoha:,}권" in answer["answer"]

    q1 = int(loans[loans["기준월"].between("2025-01", "2025-03")]["대출 권수"].sum())
    english = ask(opendata, "How many books were lent by Paju libraries in Q1 2025?")
    assert english["numbers"][0]["value"] == q1 and f"{q1:,} books" in english["answer"]

    users = loans[loans["기준월"] == "2025-02"].set_index("도서관")["이용자 수"]
    busiest = ask(opendata, "2025년 2월 이용자가 가장 많은 도서관")
    assert busiest["numbers"][0]["label"] == users.idxmax() and busiest["numbers"][0]["value"] == users.max()

    with Session(opendata.app.state.engine) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "upload_dataset")).all()
        assert entry.subject == f"dataset:{LIBRARY['id']}"


def seed_like(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), thousands=",")


@pytest.mark.parametrize(
    ("encoding", "recorded", "prefix"),
    [("utf-8", "utf-8", b""), ("utf-8", "utf-8-bom", b"\xef\xbb\xbf"), ("cp949", "cp949", b"")],
)
def test_utf8_utf8_with_bom_and_cp949_files_import_to_the_same_rows(opendata, admin, encoding, recorded, prefix):
    content = prefix + LIBRARY_CSV.encode(encoding)
    metadata = LIBRARY | {"id": f"library-{recorded}"}
    response = upload(opendata, admin, metadata, content)
    assert response.status_code == 201, response.text
    assert response.json()["version"]["encoding"] == recorded
    assert response.json()["version"]["checksum"] == hashlib.sha256(content).hexdigest()
    rows = opendata.get(f"/api/datasets/library-{recorded}/rows").json()["rows"]
    assert rows[0] == {"기준월": "2025-01", "도서관": "교하도서관", "대출 권수": 12480, "이용자 수": 3310}
    assert [c["name"] for c in response.json()["columns"]] == ["기준월", "도서관", "대출 권수", "이용자 수"]


def test_headers_are_cleaned_up(opendata, admin):
    content = ' 기준월 ,"도서관",대출  권수,이용자 수\u200b\n2025-01,교하도서관,100,10\n'.encode()
    response = upload(opendata, admin, LIBRARY | {"id": "library-messy"}, content)
    assert response.status_code == 201, response.text
    assert [c["name"] for c in response.json()["columns"]] == ["기준월", "도서관", "대출 권수", "이용자 수"]


def _live(opendata) -> dict:
    return opendata.get(f"/api/datasets/{DMZ_ID}").json()["version"]


def _dmz_with(line_number: int, line: str) -> bytes:
    lines = _dmz_bytes().decode().splitlines()
    lines[line_number - 1] = line
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("content", "english", "korean"),
    [
        (_dmz_with(4, "2024-03,46042,9623,36419,99"), "Line 4: expected 4 fields", "4번째 줄"),
        (_dmz_with(6, "2024-05,49828"), "Line 6: expected 4 fields like the header, found 2", "6번째 줄"),
        (_dmz_with(5, "2024-04,many,10975,36285"), "Line 5: column '총관광객수' should be a whole number", "5번째 줄"),
        (_dmz_with(3, "2024-13,18434,5993,12441"), "Line 3: column '통계연월' should be a month", "3번째 줄"),
        (
            _dmz_with(1, "통계연월,총관광객수,내국인수,일본인수"),
            "Line 1: the columns do not match",
            "빠진 열: 외국인수",
        ),
        (b"\xff\xfe\x00\x81\x00", "neither UTF-8 nor CP949", "UTF-8"),
        (b"", "empty", "비어"),
        ("통계연월,총관광객수,내국인수,외국인수\n".encode(), "no data rows", "데이터 줄이 없어요"),
    ],
    ids=[
        "extra field",
        "missing fields",
        "non-numeric",
        "bad month",
        "wrong columns",
        "binary",
        "empty",
        "header only",
    ],
)
def test_a_broken_new_version_is_refused_with_line_and_reason_and_the_live_one_stays(
    opendata, admin, content, english, korean
):
    before = _live(opendata)
    response = upload(opendata, admin, {"id": DMZ_ID}, content)
    assert response.status_code == 422
    assert response.json()["code"] == "malformed_file" and english in response.json()["detail"]
    korean_response = upload(opendata, admin | {"Accept-Language": "ko"}, {"id": DMZ_ID}, content)
    assert korean in korean_response.json()["detail"]
    assert _live(opendata) == before
    assert ask(opendata, "2025년 4월 관광객 수")["numbers"][0]["value"] == 58199
    with Session(opendata.app.state.engine) as session:
        assert len(session.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == DMZ_ID)).all()) == 1


def test_a_valid_new_version_goes_live_and_the_previous_one_is_kept(opendata, admin):
    content = _dmz_bytes() + b"2025-11,60001,12000,48001\n"
    response = upload(opendata, admin, {"id": DMZ_ID}, content, "dmz-2025-11.csv")
    assert response.status_code == 201, response.text
    live = response.json()["version"]
    assert live["number"] == 2 and live["row_count"] == 23 and response.json()["coverage"]["last"] == "2025-11"
    assert ask(opendata, "2025년 11월 관광객 수")["numbers"][0]["value"] == 60001
    with Session(opendata.app.state.engine) as session:
        versions = session.scalars(
            select(DatasetVersion).where(DatasetVersion.dataset_id == DMZ_ID).order_by(DatasetVersion.number)
        ).all()
        assert [(v.number, v.status) for v in versions] == [(1, "superseded"), (2, "live")]


def test_an_old_answer_s_query_still_reproduces_on_its_own_version(opendata, admin):
    answer = ask(opendata, "2025년 4월 관광객 수")
    changed = _dmz_bytes().replace(b"2025-04,58199,", b"2025-04,58200,")
    assert upload(opendata, admin, {"id": DMZ_ID}, changed).status_code == 201
    again = opendata.post("/api/opendata/query", json=answer["query"], headers=SERVICE_HEADERS).json()
    assert again["numbers"][0]["value"] == 58199 and again["query"]["version"] == 1
    assert ask(opendata, "2025년 4월 관광객 수")["numbers"][0]["value"] == 58200


@pytest.mark.parametrize(
    "metadata",
    [
        {"id": "new-without-titles", "topic": "culture"},
        {"id": "Bad Id!", "title_ko": "x", "title_en": "x", "topic": "x", "source": "x", "licence": "x"},
        LIBRARY | {"id": "library-bad-column", "columns": [{"name": "없는 열"}]},
        LIBRARY | {"id": "library-bad-type", "columns": [{"name": "도서관", "type": "integer"}]},
    ],
    ids=["new without titles", "bad id", "unknown column", "declared type the values break"],
)
def test_bad_metadata_is_refused_and_nothing_is_registered(opendata, admin, metadata):
    response = upload(opendata, admin, metadata, LIBRARY_CSV.encode())
    assert response.status_code == 422
    assert opendata.get(f"/api/datasets/{metadata['id']}").status_code == 404


def test_metadata_that_is_not_json_is_refused(opendata, admin):
    response = opendata.post(
        "/api/datasets", data={"metadata": "{not json"}, files={"file": ("a.csv", b"a\n1\n")}, headers=admin
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_metadata"
