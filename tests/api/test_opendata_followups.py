"""Follow-ups within a conversation ("그럼 외국인은?", "작년은?", "in 2024?", "그래프로 보여줘") reuse the last answered
question's dataset, measure, rows and period; and questions the data cannot answer get choices, never a figure."""

import re

import pytest

from tests.api.conftest import SERVICE_HEADERS
from tests.api.opendata_fixtures import seed_frame, seeded_app

DMZ = seed_frame("dmz_peace_tourism_monthly.csv").set_index("통계연월")
POPULATION = seed_frame("paju_population_by_district_sample.csv")
PARKING = seed_frame("parking_lots.csv")


@pytest.fixture(scope="module")
def opendata(tmp_path_factory):
    with seeded_app(tmp_path_factory.mktemp("followups")) as client:
        yield client


def conversation(client, *questions: str) -> list[dict]:
    """Each question asked with the last answered one's query as its context, as the action server does."""
    context, answers = None, []
    for question in questions:
        body = {"question": question} | ({"context": context} if context else {})
        answer = client.post("/api/opendata/ask", json=body, headers=SERVICE_HEADERS).json()
        answers.append(answer)
        if answer["answered"]:
            context = answer["query"]
    return answers


def test_korean_follow_ups_change_only_what_they_name(opendata):
    first, foreign, last_year, chart = conversation(
        opendata, "2025년 4월 관광객 수", "그럼 외국인은?", "작년은?", "그래프로 보여줘"
    )
    assert first["numbers"][0]["value"] == DMZ.loc["2025-04", "총관광객수"]
    assert foreign["numbers"][0]["value"] == DMZ.loc["2025-04", "외국인수"] and "2025년 4월" in foreign["answer"]
    assert last_year["numbers"][0]["value"] == DMZ.loc["2024-04", "외국인수"] and "2024년 4월" in last_year["answer"]
    assert chart["query"]["aggregation"] == "trend" and chart["chart_url"]
    assert [n["value"] for n in chart["numbers"]] == list(DMZ.loc["2024-01":"2024-12", "외국인수"])
    # The source is named once, in the reply's language, and no address is shown as text.
    for answer in (first, foreign, last_year, chart):
        assert answer["answer"].count("출처:") == 1 and "http" not in answer["answer"]


def test_english_follow_ups_keep_the_measure_and_move_the_period(opendata):
    _, earlier, foreigners = conversation(
        opendata, "How many DMZ visitors in April 2025?", "in 2024?", "what about foreigners?"
    )
    assert earlier["numbers"][0]["value"] == DMZ.loc["2024-04", "총관광객수"] and "April 2024" in earlier["answer"]
    assert foreigners["numbers"][0]["value"] == DMZ.loc["2024-04", "외국인수"]
    assert "Source: Paju DMZ peace tourism, visitors by month — Public Data Portal" in foreigners["answer"]
    assert not any("가" <= character <= "힣" for character in foreigners["answer"])


def test_a_follow_up_keeps_the_row_and_another_name_replaces_it(opendata):
    _, last_year, other, whole_city = conversation(opendata, "운정3동 인구", "작년은?", "교하동은?", "파주시 전체는?")
    rows_2024 = POPULATION[POPULATION["연도"] == 2024].set_index("읍면동")["인구수"]
    assert last_year["numbers"][0]["value"] == rows_2024["운정3동"]
    assert other["numbers"][0]["value"] == rows_2024["교하동"]
    assert whole_city["numbers"][0]["value"] == POPULATION.loc[POPULATION["연도"] == 2025, "인구수"].sum()


def test_a_chart_of_a_list_ranks_all_its_rows_not_the_one_asked_before(opendata):
    _, fee, chart = conversation(opendata, "금촌역 공영주차장 주차면 수", "요금은?", "그래프로")
    assert fee["numbers"][0]["value"] == PARKING.set_index("name").loc["금촌역 공영주차장", "fee_30min_won"]
    assert chart["query"]["aggregation"] == "ranking" and chart["query"]["filters"] == [] and chart["chart_url"]
    assert chart["numbers"][0]["value"] == PARKING["fee_30min_won"].max()


def test_without_a_context_a_bare_follow_up_is_not_answered(opendata):
    [alone] = conversation(opendata, "작년은?")
    assert alone["answered"] is False and alone["reason"] == "no_dataset"


# Questions the data cannot answer as asked: no figure in the reply, and where it helps, choices to ask instead.
UNANSWERABLE = [
    ("금촌 주차장 몇 면?", "ambiguous_row", ["금촌역 공영주차장", "금촌전통시장 공영주차장"]),
    ("서울역 공영주차장 주차면 수", "unknown_row", None),
    ("주차면 수는?", "ambiguous_row", None),
    ("2024년 금촌역 공영주차장 주차면 수", "no_period", None),
    ("금촌역 공영주차장 전기차 충전기 몇 대?", "unknown_measure", None),
    ("2026년 관광객 수", "no_rows", None),
    ("DMZ 중국인 관광객 2025년 4월", "unknown_measure", None),
    ("How many spaces does Seoul Station car park have?", "unknown_row", None),
]


@pytest.mark.parametrize(("question", "reason", "titles"), UNANSWERABLE, ids=[case[0] for case in UNANSWERABLE])
def test_a_question_the_data_cannot_answer_gets_no_figure(opendata, question, reason, titles):
    [answer] = conversation(opendata, question)
    assert answer["answered"] is False and answer["numbers"] == [] and answer["reason"] == reason, answer["answer"]
    reply = answer["answer"].replace("30분 요금", "").replace("fee per 30 minutes", "")  # a label, not a figure
    for period in re.findall(r"\d{4}년(?: \d{1,2}월)?(?:~\d{4}년 \d{1,2}월)?", reply):
        reply = reply.replace(period, "")
    assert not re.search(r"\d", reply), answer["answer"]
    if titles is not None:
        assert [choice["title"] for choice in answer["choices"]] == titles


def test_a_choice_asks_a_whole_question_that_is_then_answered(opendata):
    [unclear] = conversation(opendata, "금촌 주차장 몇 면이야?")
    [chosen] = conversation(opendata, unclear["choices"][0]["question"])
    assert (
        chosen["answered"]
        and chosen["numbers"][0]["value"] == PARKING.set_index("name").loc["금촌역 공영주차장", "spaces"]
    )
