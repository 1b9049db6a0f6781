"""The public page of a dataset that a chat's "데이터 자세히 보기" link opens: readable, bounded and rate-limited."""

import re

import pytest
from fastapi.testclient import TestClient

from api.core.settings import Settings
from api.main import create_app
from tests.api.conftest import SERVICE_TOKEN
from tests.api.opendata_fixtures import ask, seed_frame, seeded

DMZ_ID = "dmz-peace-tourism-monthly"
PUBLIC_URL = "https://chat.paju.example"


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    return Settings(
        database_url=database_url,
        service_token=SERVICE_TOKEN,
        rasa_url="http://127.0.0.1:9",
        rasa_tracker_db=tmp_path / "rasa_tracker.db",
        rasa_tracker_url="",
        knowledge_warm_up=False,
        public_url=PUBLIC_URL,
    )


@pytest.fixture
def opendata(client):
    return seeded(client)


def cells(html: str) -> list[list[str]]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_a_data_answer_links_the_datasets_page_on_the_public_address_and_it_opens_as_a_readable_page(opendata):
    answer = ask(opendata, "2025년 4월 DMZ 외국인 관광객 몇 명이야?", "ko")
    page = answer["dataset"]["page"]
    assert page == f"{PUBLIC_URL}/data/{DMZ_ID}"
    response = opendata.get(page.removeprefix(PUBLIC_URL))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="ko">' in html and "파주시 DMZ 평화관광 월별 관광객 현황" in html
    assert "공공데이터포털 (data.go.kr) 15153986" in html
    frame = seed_frame("dmz_peace_tourism_monthly.csv")
    first, last = frame["통계연월"].min(), frame["통계연월"].max()
    assert f"{first} ~ {last}" in html
    assert 'href="https://www.data.go.kr/data/15153986/fileData.do"' in html
    # A short preview, newest first, whatever the dataset's length; figures grouped as people read them.
    rows = cells(html)
    newest = frame.sort_values("통계연월", ascending=False).iloc[0]
    assert len(rows) == 12 < len(frame)
    assert rows[0][:2] == [newest["통계연월"], f"{newest['총관광객수']:,}"]
    assert f"전체 {len(frame)}행 중 12행" in html


def test_the_page_is_in_english_when_the_chat_or_the_browser_asks_for_it(opendata):
    english = ask(opendata, "How many foreign visitors came to the DMZ in April 2025?", "en")["dataset"]["page"]
    assert english.endswith("?lang=en")
    html = opendata.get(english.removeprefix(PUBLIC_URL)).text
    assert '<html lang="en">' in html and "Paju DMZ peace tourism, visitors by month" in html
    assert "Public Data Portal (data.go.kr) 15153986" in html and "Full data at the official source" in html
    browser = opendata.get(f"/data/{DMZ_ID}", headers={"Accept-Language": "en-GB,en;q=0.9,ko;q=0.5"}).text
    assert '<html lang="en">' in browser


@pytest.mark.parametrize("dataset_id", ["no-such-dataset", "a" * 300, "..%2F..%2Fetc", "%00", "데이터"])
def test_an_unknown_or_malformed_dataset_gets_a_page_saying_so_in_korean(opendata, dataset_id):
    response = opendata.get(f"/data/{dataset_id}")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "데이터를 찾을 수 없어요" in response.text


def test_the_page_runs_no_script_and_loads_nothing_from_elsewhere(opendata):
    response = opendata.get(f"/data/{DMZ_ID}")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script" not in policy
    assert "<script" not in response.text


def test_one_address_asking_too_often_is_refused_for_a_while(database_url, tmp_path):
    limited = Settings(
        database_url=database_url,
        service_token=SERVICE_TOKEN,
        rasa_url="http://127.0.0.1:9",
        rasa_tracker_db=tmp_path / "rasa_tracker.db",
        rasa_tracker_url="",
        knowledge_warm_up=False,
        rate_limit_requests_per_client="3/minute",
    )
    app = create_app(limited)
    with TestClient(app) as client:
        seeded(client)
        statuses = [client.get(f"/data/{DMZ_ID}").status_code for _ in range(4)]
        refused = client.get(f"/data/{DMZ_ID}")
    app.state.engine.dispose()
    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
