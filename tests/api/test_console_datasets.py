"""Console pages for open datasets (issue 15): the registry with each table's shape, an upload whose inferred shape
the admin sees and confirms, corrections through the form that change what the api serves, refusals in Korean."""

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.staff.models import AuditEntry
from api.staff.service import create_user
from tests.api.opendata_fixtures import seeded

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STAFF, ADMIN = "staff@paju.go.kr", "admin@paju.go.kr"
HOME = "/console/admin/datasets"
CENTRES_ID = "paju-culture-centres-console"
# One row per centre with the year it opened: a snapshot, whose opening year is an attribute, never a time axis.
CENTRES_CSV = """센터명,읍면동,좌석수,연간이용자수,개관연도
금촌문화센터,금촌1동,320,152000,2006
교하문화센터,교하동,410,208000,2012
문산문화센터,문산읍,260,97000,2015
운정문화센터,운정1동,380,187000,2019
파평문화센터<script>alert(1)</script>,파평면,90,21000,2024
"""
CENTRES_FORM = {
    "id": CENTRES_ID,
    "topic": "culture",
    "title_ko": "파주시 문화센터 현황 (콘솔 시험)",
    "title_en": "Paju culture centres (console test)",
    "source": "파주시 문화예술과",
    "licence": "공공누리 제1유형",
    "row_label_ko": "문화센터",
    "row_label_en": "culture centres",
    "keywords_ko": "문화센터, 공연장",
    "keywords_en": "culture centre",
}


@pytest.fixture
def app(client):
    seeded(client)
    with client.app.state.sessionmaker() as session:
        create_user(session, STAFF, "이담당", PASSWORD)
        create_user(session, ADMIN, "김관리", PASSWORD, role="admin")
    return client.app


def _signed_in(app, email: str = ADMIN) -> tuple[TestClient, str]:
    browser = TestClient(app)
    page = browser.get("/console/sign-in")
    response = browser.post(
        "/console/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": CSRF.search(page.text).group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return browser, CSRF.search(browser.get("/console/queue").text).group(1)


def _upload(browser, csrf: str, content: str | bytes, form: dict | None = None, filename: str = "centres.csv"):
    raw = content.encode() if isinstance(content, str) else content
    return browser.post(
        HOME,
        data={"csrf_token": csrf, **(form or CENTRES_FORM)},
        files={"file": (filename, raw, "text/csv")},
        follow_redirects=False,
    )


def _audit(app, action: str) -> list[AuditEntry]:
    with app.state.sessionmaker() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _shape_form(csrf: str, entity: str, time: str = "", total: str = "", roles: dict | None = None) -> dict:
    roles = roles or {}
    return {
        "csrf_token": csrf,
        "entity_column": entity,
        "time_column": time,
        "total_row": total,
        "column": list(roles),
        "role": list(roles.values()),
    }


def test_staff_who_are_not_admins_cannot_open_or_post_the_dataset_pages(app, client):
    browser, csrf = _signed_in(app, STAFF)
    dmz = f"{HOME}/dmz-peace-tourism-monthly"
    for method, path in [("GET", HOME), ("GET", dmz), ("POST", f"{dmz}/shape"), ("POST", f"{dmz}/shape/confirm")]:
        response = browser.request(method, path, data={"csrf_token": csrf, "entity_column": ""}, follow_redirects=False)
        assert response.status_code == 403, (method, path)
    for path in (HOME, f"{dmz}/versions"):
        response = (
            _upload(browser, csrf, CENTRES_CSV)
            if path == HOME
            else browser.post(path, data={"csrf_token": csrf}, files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")})
        )
        assert response.status_code == 403, path
    assert client.get(f"/api/datasets/{CENTRES_ID}").status_code == 404
    assert _audit(app, "upload_dataset") == [] and _audit(app, "correct_dataset_shape") == []
    assert 'data-testid="nav-admin-datasets"' not in browser.get("/console/queue").text
    signed_out = TestClient(app).get(HOME, follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/console/sign-in")


def test_the_list_shows_every_seeded_dataset_with_its_kind_and_whether_it_needs_checking(app, client):
    browser, _ = _signed_in(app)
    page = browser.get(HOME)
    assert page.status_code == 200
    assert 'data-testid="nav-admin-datasets"' in page.text and "최근 갱신 (한국 시간)" in page.text
    rows = dict(re.findall(r'data-dataset-id="([^"]+)">(.*?)</tr>', page.text, re.S))
    kinds = {"series": "시계열", "snapshot": "목록(스냅숏)", "panel": "목록×기간(패널)"}
    listed = client.get("/api/datasets").json()
    assert set(rows) == {d["id"] for d in listed}
    for summary in listed:
        shape = client.get(f"/api/datasets/{summary['id']}").json()["shape"]
        row = rows[summary["id"]]
        assert f'data-testid="dataset-kind">{kinds[shape["kind"]]}<' in row, summary["id"]
        assert ("확인 필요" in row) == shape["inferred"]
        assert ("샘플" in row) == summary["is_sample"]
        assert html.escape(summary["title_ko"]) in row and f"{summary['row_count']:,}" in row
    assert "시계열" in rows["dmz-peace-tourism-monthly"]
    assert "목록×기간(패널)" in rows["paju-population-by-district-sample"]


def test_a_dataset_page_explains_its_shape_in_korean_and_shows_no_internal_link(app):
    browser, _ = _signed_in(app)
    dmz = browser.get(f"{HOME}/dmz-peace-tourism-monthly").text
    assert "한 줄이 한 달인 시계열이에요." in dmz and "(2024-01 ~ 2025-10)" in dmz
    assert "(한국 시간)" in dmz and 'href="https://www.data.go.kr/data/15153986/fileData.do"' in dmz
    assert "/api/" not in dmz and "localhost" not in dmz
    assert dmz.count('data-testid="preview-row"') == 10
    population = browser.get(f"{HOME}/paju-population-by-district-sample").text
    assert "연도별로 같은 읍면동이 되풀이되는 표예요." in population
    assert 'data-testid="shape-time">연도 (2021 ~ 2025)<' in population
    assert browser.get(f"{HOME}/no-such-dataset").status_code == 404


def test_an_uploaded_snapshot_with_an_opening_year_shows_a_list_whose_year_is_an_attribute(app, client):
    browser, csrf = _signed_in(app)
    response = _upload(browser, csrf, CENTRES_CSV)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{HOME}/{CENTRES_ID}?saved=uploaded"
    page = browser.get(response.headers["location"]).text
    assert 'data-testid="shape-kind">목록(스냅숏)<' in page and 'data-testid="shape-unconfirmed"' in page
    assert "한 줄이 문화센터 하나인 목록이에요." in page
    assert "개관연도 같은 연도 열은 속성이라 &#39;최근 연도&#39; 조건을 쓰지 않아요." in page
    assert 'data-testid="shape-time">없음<' in page
    assert re.search(r'data-testid="shape-attributes">[^<]*개관연도', page)
    # The file is an admin's, but its values are shown as text, never as markup.
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('data-testid="preview-row"') == 5
    shape = client.get(f"/api/datasets/{CENTRES_ID}").json()["shape"]
    assert shape["kind"] == "snapshot" and shape["time_column"] is None and "개관연도" in shape["attributes"]
    assert [entry.reason for entry in _audit(app, "upload_dataset")] == ["version 1: centres.csv"]
    assert 'data-testid="dataset-unconfirmed"' in browser.get(HOME).text.split(CENTRES_ID, 1)[1].split("</tr>")[0]


def test_confirming_the_inferred_shape_keeps_it_and_clears_the_mark(app, client):
    browser, csrf = _signed_in(app)
    _upload(browser, csrf, CENTRES_CSV)
    before = client.get(f"/api/datasets/{CENTRES_ID}").json()["shape"]
    response = browser.post(f"{HOME}/{CENTRES_ID}/shape/confirm", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    after = client.get(f"/api/datasets/{CENTRES_ID}").json()["shape"]
    assert after == before | {"inferred": False}
    assert "추론한 구조가 맞다고 확인했어요." in browser.get(response.headers["location"]).text
    assert len(_audit(app, "correct_dataset_shape")) == 1


def test_a_correction_through_the_form_changes_what_the_api_serves_and_is_audited_once(app, client):
    browser, csrf = _signed_in(app)
    dataset = "paju-population-by-district-sample"
    # The admin says the table is a snapshot of districts (no time axis) and that 세대수 is only shown.
    form = _shape_form(csrf, "읍면동", roles={"연도": "attribute", "세대수": "attribute"})
    response = browser.post(f"{HOME}/{dataset}/shape", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    shape = client.get(f"/api/datasets/{dataset}").json()["shape"]
    assert shape["kind"] == "snapshot" and shape["time_column"] is None and shape["entity_column"] == "읍면동"
    assert "세대수" in shape["attributes"] and "세대수" not in shape["measures"] and not shape["inferred"]
    entries = _audit(app, "correct_dataset_shape")
    assert [(e.subject, e.reason) for e in entries] == [
        (f"dataset:{dataset}", "snapshot; rows named by 읍면동; time -; total row -")
    ]
    page = browser.get(response.headers["location"]).text
    assert "구조를 고쳤어요." in page and 'data-testid="shape-confirmed"' in page


def test_a_correction_naming_a_column_the_dataset_lacks_is_refused_in_korean_and_changes_nothing(app, client):
    browser, csrf = _signed_in(app)
    dataset = "dmz-peace-tourism-monthly"
    before = client.get(f"/api/datasets/{dataset}").json()
    for form in (
        _shape_form(csrf, "관광지명", time="통계연월"),
        _shape_form(csrf, "", time="통계연월", roles={"없는열": "measure"}),
        _shape_form(csrf, "", time="총관광객수"),
        _shape_form(csrf, "", time="통계연월", roles={"내국인수": "favourite"}),
    ):
        response = browser.post(f"{HOME}/{dataset}/shape", data=form)
        assert response.status_code == 422, form
        error = re.search(r'data-testid="shape-error">([^<]+)<', response.text).group(1)
        assert re.search(r"[가-힣]", error) and "column" not in error, error
        assert 'data-testid="shape-kind">시계열<' in response.text  # the page shows the shape as it still is
    assert (
        "데이터셋에 관광지명 열이 없어요"
        in browser.post(f"{HOME}/{dataset}/shape", data=_shape_form(csrf, "관광지명", time="통계연월")).text
    )
    assert client.get(f"/api/datasets/{dataset}").json() == before
    assert _audit(app, "correct_dataset_shape") == []


def test_a_broken_file_is_refused_with_its_line_and_the_form_keeps_what_was_typed(app, client):
    browser, csrf = _signed_in(app)
    broken = CENTRES_CSV.replace("문산읍,260,97000,2015", "문산읍,260,97000")  # line 4 has a field too few
    response = _upload(browser, csrf, broken)
    assert response.status_code == 422
    error = re.search(r'data-testid="upload-error">([^<]+)<', response.text).group(1)
    assert error.startswith("4번째 줄:") and "5개" in error and "4개" in error
    assert f'value="{CENTRES_FORM["title_ko"]}"' in response.text and f'value="{CENTRES_ID}"' in response.text
    assert '<option value="culture" selected>' in response.text
    assert client.get(f"/api/datasets/{CENTRES_ID}").status_code == 404
    assert _audit(app, "upload_dataset") == []


def test_an_oversized_file_is_refused_in_korean_and_nothing_is_imported(app, client):
    app.state.settings = app.state.settings.model_copy(update={"opendata_max_upload_bytes": 200})
    browser, csrf = _signed_in(app)
    response = _upload(browser, csrf, CENTRES_CSV)
    assert response.status_code == 422
    assert "파일이 200바이트보다 커요." in response.text
    assert client.get(f"/api/datasets/{CENTRES_ID}").status_code == 404


def test_a_new_version_from_the_dataset_page_replaces_the_live_one_only_when_the_whole_file_is_good(app, client):
    browser, csrf = _signed_in(app)
    _upload(browser, csrf, CENTRES_CSV)
    path = f"{HOME}/{CENTRES_ID}/versions"
    broken = CENTRES_CSV.replace("운정1동,380,187000,2019", "운정1동,많음,187000,2019")
    refused = browser.post(path, data={"csrf_token": csrf}, files={"file": ("v2.csv", broken.encode(), "text/csv")})
    assert refused.status_code == 422
    error = re.search(r'data-testid="version-error">([^<]+)<', refused.text).group(1)
    assert error.startswith("5번째 줄:") and "좌석수" in error
    assert client.get(f"/api/datasets/{CENTRES_ID}").json()["version"]["number"] == 1
    more = CENTRES_CSV + "적성문화센터,적성면,120,30000,2021\n"
    response = browser.post(path, data={"csrf_token": csrf}, files={"file": ("v2.csv", more.encode(), "text/csv")})
    assert response.status_code == 200 and "새 버전을 올렸어요." in response.text
    served = client.get(f"/api/datasets/{CENTRES_ID}").json()
    assert served["version"]["number"] == 2 and served["row_count"] == 6
    assert [entry.reason for entry in _audit(app, "upload_dataset")] == ["version 1: centres.csv", "version 2: v2.csv"]
