"""Open data that is right on any table, or refuses (issue 15): the evaluation set's shapes and sizes, its expected
figures against pandas, the grader's figure detection, and the goals (≥ 95% exact, no wrong figure, ≥ 95% refused)."""

import codecs
import re

import pytest

from tests.api.opendata_fixtures import headers_for, seeded_app
from tests.opendata_eval.cases import Question, load_set, years_in
from tests.opendata_eval.grading import GOALS, figures_in, grade, grade_answer, summary

EVAL_SET = load_set()
ANSWERABLE = [
    pytest.param(dataset, question, id=f"{dataset.name}-{number}")
    for dataset in EVAL_SET
    for number, question in enumerate(dataset.questions, start=1)
    if question.answerable
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    # One seeded app for the module, its clock at 2025-11-20 10:00 in Seoul (see `seeded`).
    with seeded_app(tmp_path_factory.mktemp("opendata-eval")) as client:
        yield grade(client, headers_for(client, "admin"))


def _measures(dataset) -> list[str]:
    shape = dataset.shape
    frame = dataset.frame
    keys = {shape["entity_column"], shape["time_column"]}
    return [
        c for c in frame.select_dtypes("number").columns if c not in keys and not re.search("연도|year|installed", c)
    ]


def test_the_set_has_six_datasets_of_every_shape_header_language_and_encoding_the_issue_names():
    assert len(EVAL_SET) >= 6
    assert {d.shape["kind"] for d in EVAL_SET} >= {"series", "snapshot", "panel"}
    assert {d.header for d in EVAL_SET} == {"ko", "en"}
    assert {d.encoding for d in EVAL_SET} >= {"cp949", "utf-8", "utf-8-sig"}
    assert any(d.shape["total_row"] for d in EVAL_SET)
    monthly = [d for d in EVAL_SET if d.shape["kind"] == "series"]
    assert any(24 <= len(d.frame) <= 36 for d in monthly)


def test_each_declared_shape_is_what_the_rows_show():
    for dataset in EVAL_SET:
        frame, shape = dataset.frame, dataset.shape
        entity, time, total = shape["entity_column"], shape["time_column"], shape["total_row"]
        assert set(filter(None, (entity, time))) <= set(frame.columns), dataset.name
        if shape["kind"] == "series":
            assert entity is None and frame[time].is_unique, dataset.name
        elif shape["kind"] == "snapshot":
            assert time is None and frame[entity].is_unique, dataset.name
        else:
            per_entity = frame.groupby(entity)[time]
            assert per_entity.nunique().between(4, 5).all() and (per_entity.size() == per_entity.nunique()).all()
        if total:
            # One total row per period in a panel (계 for each year), a single one elsewhere.
            periods = frame.groupby(time) if shape["kind"] == "panel" else [(None, frame)]
            for period, part in periods:
                rows = part[part[entity] != total]
                totals = part[part[entity] == total]
                assert len(totals) == 1, (dataset.name, period)
                for measure in _measures(dataset):
                    assert totals[measure].item() == rows[measure].sum(), (dataset.name, period, measure)


def test_in_a_snapshot_with_an_opening_year_the_newest_row_is_the_largest_on_no_measure():
    dated = [d for d in EVAL_SET if d.shape["kind"] == "snapshot" and "개관연도" in d.frame.columns]
    assert dated, "the set needs the facility snapshot with 개관연도 of issue 15"
    for dataset in [*dated, *(d for d in EVAL_SET if d.shape["kind"] == "snapshot" and "installed" in d.frame)]:
        frame = dataset.frame
        year = "개관연도" if "개관연도" in frame else "installed"
        newest = frame[year].idxmax()
        assert (frame[year] == frame.loc[newest, year]).sum() == 1, dataset.name
        for measure in _measures(dataset):
            assert frame.loc[newest, measure] < frame[measure].max(), (dataset.name, measure)


def test_the_cp949_file_is_stored_as_cp949_and_is_not_utf8_and_the_bom_file_has_its_bom():
    cp949 = [d for d in EVAL_SET if d.encoding == "cp949"]
    assert cp949
    for dataset in cp949:
        content = dataset.content()
        with pytest.raises(UnicodeDecodeError):
            content.decode("utf-8")
        assert content.decode("cp949").splitlines()[0] == ",".join(dataset.frame.columns)
    assert all(d.content().startswith(codecs.BOM_UTF8) for d in EVAL_SET if d.encoding == "utf-8-sig")
    for dataset in (d for d in EVAL_SET if d.encoding == "utf-8"):
        assert not dataset.content().startswith(codecs.BOM_UTF8)
        dataset.content().decode("utf-8")


def test_headers_are_in_the_language_declared_and_korean_headers_come_with_english_labels():
    for dataset in EVAL_SET:
        columns = list(dataset.frame.columns)
        hangul = [bool(re.search("[가-힣]", c)) for c in columns]
        assert all(hangul) if dataset.header == "ko" else not any(hangul), dataset.name
        specs = {c["name"]: c for c in dataset.metadata["columns"]}
        assert set(specs) == set(columns), dataset.name
        other = "label_en" if dataset.header == "ko" else "label_ko"
        assert all(specs[c].get(other) for c in columns), (dataset.name, other)


def test_at_most_one_dataset_names_its_rows_in_english_as_well():
    def english_names(dataset):
        return [c for c in dataset.frame.columns if re.search(r"(_en|영문)$", c)]

    assert sum(bool(english_names(d)) for d in EVAL_SET) <= 1


def test_every_dataset_has_ten_questions_or_more_in_both_languages_and_three_it_cannot_answer():
    for dataset in EVAL_SET:
        questions = dataset.questions
        assert len(questions) >= 10, dataset.name
        assert {q.language for q in questions} == {"ko", "en"}, dataset.name
        assert sum(not q.answerable for q in questions) >= 3, dataset.name
        assert len({q.ask for q in questions}) == len(questions), dataset.name
    reasons = {q.unanswerable for d in EVAL_SET for q in d.questions}
    assert reasons >= {"unknown_row", "ambiguous_row", "unknown_measure", "no_period"}


@pytest.mark.parametrize(("dataset", "question"), ANSWERABLE)
def test_each_expected_figure_and_row_is_what_pandas_computes_from_the_file(dataset, question):
    assert abs(float(dataset.evaluate(question.check)) - question.expect) < 0.05
    if question.row is not None:
        assert str(dataset.evaluate(question.row_check)) == question.row


def test_the_grader_finds_figures_but_not_periods_or_numbered_names():
    quiet = [
        "2024년 1월~2025년 10월 자료에는 그 달이 없어요.",
        "운정3동 자료는 있지만 운정7동은 없어요. 가까운 이름: 운정1동, 운정2동",
        "I only have January 2024 to October 2025 (Q1 2024 and 2nd quarter included), not December 2025.",
        "Unjeong 3-dong has no such column; see https://www.data.go.kr/data/15153986/fileData.do",
        "'24년 3분기와 2023-05~2025-10, 11월 20일 기준",
    ]
    assert [figures_in(text) for text in quiet] == [[]] * len(quiet)
    assert figures_in("파주소방서 119안전센터별 출동 현황에 없어요", ["파주소방서 119안전센터별 출동 현황"]) == []
    assert figures_in("2024년 합계는 1,234.5톤이에요") == ["1,234.5"]
    assert figures_in("Total rentals in 2024: 277,585 rentals.") == ["277,585"]
    assert figures_in("2024년 금촌 자료 중 12곳") == ["12"]


def test_the_grader_tells_an_exact_figure_from_a_wrong_one_and_from_a_refusal():
    which = Question("열람석이 가장 많은 도서관은?", "ko", expect=620, check="-", row="파주중앙도서관", row_check="-")
    unknown = Question("심학산도서관 열람석 몇 석?", "ko", unanswerable="unknown_row")
    figure = {"value": 620, "formatted": "620석"}

    def graded(question, answered, reply, numbers=()):
        body = {"answered": answered, "answer": reply, "numbers": list(numbers)}
        return grade_answer("library", question, body, names=set(), years={2025})

    assert graded(which, True, "열람석이 가장 많은 곳은 파주중앙도서관(620석)이에요.", [figure]).outcome == "exact"
    assert graded(which, True, "Jungang Library has the most: 620석", [figure]).outcome == "wrong"
    assert graded(which, True, "운정다온도서관(300석)", [{"value": 300, "formatted": "300석"}]).outcome == "wrong"
    assert graded(which, False, "어느 도서관인가요?").outcome == "refused"
    assert graded(unknown, False, "'심학산도서관'은 없어요. 비슷한 이름: 해솔도서관").outcome == "refused"
    assert graded(unknown, False, "없어요. 대신 전체는 3,725석이에요").outcome == "wrong"
    assert graded(unknown, True, "해솔도서관 330석", [{"value": 330, "formatted": "330석"}]).outcome == "wrong"
    assert graded(which, True, "2006~2024년 파주중앙도서관 620석", [figure]).stray_years == [2006, 2024]
    assert years_in("2024년 1월~'25년 3월, 2023-05") == {2023, 2024, 2025}


def test_the_harness_uploads_every_dataset_and_grades_every_question(report):
    assert set(report.uploads) == {d.id for d in EVAL_SET}
    assert len(report.graded) == sum(len(d.questions) for d in EVAL_SET)
    assert {g.outcome for g in report.graded} <= {"exact", "wrong", "refused"}


def test_no_reply_to_a_question_that_cannot_be_answered_shows_a_figure(report):
    shown = [g for g in report.graded if not g.question.answerable and (g.answered or g.figures)]
    assert not shown, summary(report)


def test_no_answer_shows_a_wrong_figure(report):
    assert report.tally().wrong == 0 == GOALS["wrong"], summary(report)


def test_exact_figures_for_95_percent_of_the_questions_that_can_be_answered(report):
    assert report.tally().exact_rate >= GOALS["exact"], summary(report)


def test_refusals_for_95_percent_of_the_questions_that_cannot_be_answered(report):
    assert report.tally().refusal_rate >= GOALS["refused"], summary(report)


def test_no_reply_names_a_period_the_data_does_not_have(report):
    # Issue 15: a sum over a snapshot of libraries described as "2006~2024년 … 합계" (their opening years).
    assert report.tally().stray_periods == 0, summary(report)
