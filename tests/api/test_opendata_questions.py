"""Questions in Korean and English answered from the seed datasets; every expected figure is computed here from
the seed CSV with pandas, never copied from the system's output."""

from datetime import datetime

import pandas as pd
import pytest

from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS
from tests.api.opendata_fixtures import ask, seed_frame, seeded, seeded_app

DMZ = seed_frame("dmz_peace_tourism_monthly.csv")
POPULATION = seed_frame("paju_population_by_district_sample.csv")
PARKING = seed_frame("parking_lots.csv")
TOILETS = seed_frame("public_toilets.csv")
TOTAL, KOREAN, FOREIGN = "총관광객수", "내국인수", "외국인수"
NOW_NEXT_YEAR = datetime(2026, 11, 20, 10, 0, tzinfo=SEOUL)


def month(column: str, key: str) -> int:
    return int(DMZ.loc[DMZ["통계연월"] == key, column].item())


def months(column: str, first: str, last: str) -> int:
    return int(DMZ.loc[DMZ["통계연월"].between(first, last), column].sum())


def monthly(first: str, last: str, column: str = TOTAL):
    return DMZ.loc[DMZ["통계연월"].between(first, last)].set_index("통계연월")[column]


def population(year: int, column: str = "인구수", district: str | None = None) -> int:
    rows = POPULATION[POPULATION["연도"] == year]
    if district:
        rows = rows[(rows["읍면동"] == district) | (rows["district"] == district)]
    return int(rows[column].sum())


def by_district(year: int) -> pd.Series:
    return POPULATION[POPULATION["연도"] == year].set_index("읍면동")["인구수"].sort_values(ascending=False)


def share(part: int, whole: int) -> float:
    return round(part / whole * 100, 1)


def change(base: int, current: int) -> list:
    return [base, current, current - base, round((current - base) / base * 100, 1)]


# (question, expected numbers in order, a label the first figure must carry or None)
CASES = [
    ("2025년 4월 외국인 관광객 수", [month(FOREIGN, "2025-04")], None),
    ("작년 DMZ 관광객 수는?", [months(TOTAL, "2024-01", "2024-12")], None),
    ("How many foreign visitors came to the DMZ in April?", [month(FOREIGN, "2025-04")], None),
    ("지난달 외국인 관광객", [month(FOREIGN, "2025-10")], None),
    ("올해 3월 관광객", [month(TOTAL, "2025-03")], None),
    ("2025 1분기 관광객 합계", [months(TOTAL, "2025-01", "2025-03")], None),
    ("DMZ관광객2025년4월", [month(TOTAL, "2025-04")], None),
    ("총 관광객 수 2024년 12월", [month(TOTAL, "2024-12")], None),
    ("2024년 4월 내국인 관광객", [month(KOREAN, "2024-04")], None),
    ("Korean visitors in March 2025", [month(KOREAN, "2025-03")], None),
    ("2024년 3월부터 6월까지 관광객", [months(TOTAL, "2024-03", "2024-06")], None),
    ("From March to June 2024, how many DMZ visitors?", [months(TOTAL, "2024-03", "2024-06")], None),
    ("작년 하반기 외국인 관광객", [months(FOREIGN, "2024-07", "2024-12")], None),
    ("DMZ 관광객 최근 3개월", [months(TOTAL, "2025-08", "2025-10")], None),
    ("last month DMZ foreign tourists", [month(FOREIGN, "2025-10")], None),
    ("total visitors in Q1 2025", [months(TOTAL, "2025-01", "2025-03")], None),
    (
        "2024년 외국인 관광객 비율",
        [
            share(months(FOREIGN, "2024-01", "2024-12"), months(TOTAL, "2024-01", "2024-12")),
            months(FOREIGN, "2024-01", "2024-12"),
            months(TOTAL, "2024-01", "2024-12"),
        ],
        None,
    ),
    (
        "What share of DMZ visitors were foreigners in 2025?",
        [share(months(FOREIGN, "2025-01", "2025-12"), months(TOTAL, "2025-01", "2025-12"))],
        None,
    ),
    ("2025년 4월 관광객 전년 대비", change(month(TOTAL, "2024-04"), month(TOTAL, "2025-04")), None),
    (
        "작년 대비 올해 관광객 증감",
        change(months(TOTAL, "2024-01", "2024-10"), months(TOTAL, "2025-01", "2025-10")),
        None,
    ),
    (
        "How did DMZ visitors change from 2024 to 2025?",
        change(months(TOTAL, "2024-01", "2024-10"), months(TOTAL, "2025-01", "2025-10")),
        None,
    ),
    ("2025년 1월 외국인 관광객 전월 대비", change(month(FOREIGN, "2024-12"), month(FOREIGN, "2025-01")), None),
    ("2024년 관광객이 가장 많은 달은?", [monthly("2024-01", "2024-12").max()], "2024년 5월"),
    ("2024년 관광객이 가장 적은 달", [monthly("2024-01", "2024-12").min()], "2024년 2월"),
    ("Which month of 2024 had the most visitors at the DMZ?", [monthly("2024-01", "2024-12").max()], "May 2024"),
    ("2024년 월평균 관광객", [round(monthly("2024-01", "2024-12").mean(), 1)], None),
    ("average monthly foreign visitors in 2024", [round(monthly("2024-01", "2024-12", FOREIGN).mean(), 1)], None),
    ("DMZ visitor trend in 2024", list(monthly("2024-01", "2024-12")), "January 2024"),
    ("2025년 인구가 가장 많은 읍면동", [int(by_district(2025).iloc[0])], by_district(2025).index[0]),
    ("읍면동별 인구 순위 상위 5", [int(v) for v in by_district(2025).iloc[:5]], by_district(2025).index[0]),
    ("top 3 districts by population in 2024", [int(v) for v in by_district(2024).iloc[:3]], None),
    ("Population of Munsan-eup in 2023", [population(2023, district="Munsan-eup")], None),
    ("파주시 인구", [population(2025)], None),
    ("2024년 남자 인구", [population(2024, "남자")], None),
    ("2024년 파평면 여자 인구", [population(2024, "여자", "파평면")], None),
    ("how many households in Gyoha-dong", [population(2025, "세대수", "교하동")], None),
    (
        "2023년 대비 2024년 운정3동 인구 증가율",
        change(population(2023, district="운정3동"), population(2024, district="운정3동")),
        None,
    ),
    ("운정3동 인구 비중", [share(population(2025, district="운정3동"), population(2025))], None),
    ("문산읍 세대수 추이", [population(year, "세대수", "문산읍") for year in range(2021, 2026)], "2021년"),
    ("공영주차장 몇 곳?", [len(PARKING)], None),
    ("How many public toilets are there?", [len(TOILETS)], None),
    ("장애인 화장실이 있는 공중화장실은 몇 곳이야", [int(TOILETS["accessible"].sum())], None),
    ("금촌역 공영주차장 주차면 수", [int(PARKING.loc[PARKING["name"] == "금촌역 공영주차장", "spaces"].item())], None),
    ("가장 비싼 주차장은?", [int(PARKING["fee_30min_won"].max())], None),
    ("주차요금 평균", [round(PARKING["fee_30min_won"].mean(), 1)], None),
]


@pytest.fixture(scope="module")
def opendata(tmp_path_factory):
    with seeded_app(tmp_path_factory.mktemp("opendata")) as client:
        yield client


def test_the_question_table_is_large_enough():
    assert len(CASES) >= 30
    assert sum(1 for question, _, _ in CASES if any("가" <= c <= "힣" for c in question)) >= 15
    assert sum(1 for question, _, _ in CASES if not any("가" <= c <= "힣" for c in question)) >= 10


@pytest.mark.parametrize(("question", "expected", "label"), CASES, ids=[case[0] for case in CASES])
def test_a_question_gets_the_figure_computed_from_the_csv(opendata, question, expected, label):
    answer = ask(opendata, question)
    assert answer["answered"], answer["answer"]
    values = [figure["value"] for figure in answer["numbers"]]
    assert values[: len(expected)] == pytest.approx(expected, abs=0.051)
    if label is not None:
        assert answer["numbers"][0]["label"] == label
    first = answer["numbers"][0]
    assert first["formatted"] in answer["answer"]
    assert answer["dataset"]["link"].endswith(f"/api/datasets/{answer['dataset']['id']}")
    assert answer["dataset"]["title"] in answer["answer"]
    assert answer["explanation"] and answer["query"]["dataset"] == answer["dataset"]["id"]


@pytest.mark.parametrize(("question", "expected", "label"), CASES[::4], ids=[case[0] for case in CASES[::4]])
def test_the_shown_query_reproduces_every_figure(opendata, question, expected, label):
    answer = ask(opendata, question)
    again = opendata.post(
        "/api/opendata/query", params={"language": answer["language"]}, json=answer["query"], headers=SERVICE_HEADERS
    )
    assert again.status_code == 200, again.text
    assert again.json()["numbers"] == answer["numbers"]


def test_figures_are_formatted_for_people_in_the_asked_language(opendata):
    korean = ask(opendata, "2025년 4월 관광객 수")
    assert korean["language"] == "ko" and "58,199명" in korean["answer"] and "2025년 4월" in korean["answer"]
    english = ask(opendata, "DMZ visitors in April 2025")
    assert english["language"] == "en" and "58,199 visitors" in english["answer"] and "April 2025" in english["answer"]
    assert english["numbers"][0]["formatted"] == "58,199 visitors"
    forced = ask(opendata, "2025년 4월 관광객 수", language="en")
    assert "58,199 visitors" in forced["answer"]


def test_the_explanation_says_how_the_figure_was_computed(opendata):
    answer = ask(opendata, "2024년 외국인 관광객 합계")
    assert answer["query"] | {"version": None} == {
        "dataset": "dmz-peace-tourism-monthly",
        "version": None,
        "measure": "외국인수",
        "aggregation": "sum",
        "filters": [],
        "period": {"start": "2024-01", "end": "2024-12"},
        "compare_period": None,
        "group_by": None,
        "time_grain": None,
        "order": "desc",
        "limit": None,
    }
    assert "통계연월 2024-01~2024-12" in answer["explanation"] and "12개 행" in answer["explanation"]


def test_a_period_only_partly_in_the_data_is_counted_for_the_months_there_and_says_so(opendata):
    answer = ask(opendata, "올해 관광객 수")
    assert answer["numbers"][0]["value"] == months(TOTAL, "2025-01", "2025-10")
    assert "2025년 10월까지만" in answer["answer"]


def test_a_month_without_a_year_falls_back_to_the_latest_one_with_figures(client):
    later = seeded(client, now=NOW_NEXT_YEAR)
    answer = ask(later, "4월 외국인 관광객")
    assert answer["numbers"][0]["value"] == month(FOREIGN, "2025-04")
    assert "가장 최근인 2025년 4월" in answer["answer"]


def test_a_period_without_data_is_refused_plainly_with_what_the_dataset_covers(opendata):
    answer = ask(opendata, "2026년 관광객 수")
    assert answer["answered"] is False and answer["numbers"] == []
    assert "2026년 자료가 없어요" in answer["answer"] and "2024년 1월~2025년 10월" in answer["answer"]


def test_next_month_has_no_figures_yet_and_says_so_instead_of_showing_another_month(opendata):
    for question in ("다음달 관광객 수", "visitors next month"):
        answer = ask(opendata, question)
        assert answer["answered"] is False and answer["numbers"] == [], answer["answer"]


def test_a_question_no_dataset_answers_is_refused_with_the_closest_datasets(opendata):
    answer = ask(opendata, "파주 미세먼지 농도는?")
    assert answer["answered"] is False and answer["numbers"] == [] and answer["query"] is None
    assert len(answer["suggestions"]) == 3
    assert all(suggestion["title"] in answer["answer"] for suggestion in answer["suggestions"])
    english = ask(opendata, "What is the air quality in Paju?")
    assert english["answered"] is False and "could not find" in english["answer"]


def test_sample_data_is_labelled_in_the_answer(opendata):
    assert "샘플 데이터" in ask(opendata, "문산읍 인구")["answer"]
    assert "sample data" in ask(opendata, "population of Munsan-eup")["answer"]
    assert "샘플" not in ask(opendata, "2025년 4월 관광객 수")["answer"]


def test_ask_needs_the_service_token(opendata):
    response = opendata.post("/api/opendata/ask", json={"question": "2025년 4월 관광객"})
    assert response.status_code == 401
