"""The knowledge base's figures in the daily report: questions asked, answered, the answer rate, answers that did
not help and the topics most often left unanswered, in the stored report, its text, its page and the dashboard."""

from datetime import datetime

import pytest
from sqlalchemy import select

from api.automation import reports, scheduler
from api.automation.jobs import JOBS
from api.knowledge import service
from api.knowledge.models import KnowledgeAsk
from api.knowledge.schemas import EntryFields
from common.clock import SEOUL
from tests.api.test_console import _signed_in
from tests.api.test_console import app as app  # the fixture with the staff accounts

REPORT_DAY = datetime(2026, 12, 1, tzinfo=SEOUL).date()
EIGHT_NEXT_MORNING = datetime(2026, 12, 2, 8, 0, tzinfo=SEOUL)
PASSPORT = EntryFields(
    title_ko="여권 발급",
    questions=["여권 발급 시간", "여권 어디서 만들어요"],
    answer_ko="여권은 시청 민원실에서 평일 9시부터 18시까지 신청할 수 있어요.",
    department_ko="민원여권과",
    phone="031-940-4114",
)


@pytest.fixture
def day_of_questions(client):
    """On 1 December: 5 questions, 2 answered (one of them marked not helpful), 3 not answered, 2 of those the same
    question about drones; one more unanswered question the day before, which the report leaves out."""
    sessions = client.app.state.sessionmaker
    with sessions() as session:
        entry = service.save_entry(session, PASSPORT)
        entry.status = "published"
        session.commit()
        answered = [service.ask(session, q, "ko") for q in ("여권 발급 시간", "여권 어디서 만들어요")]
        assert all(a.answered for a in answered)
        service.record_feedback(session, answered[1].ask_id, helpful=False)
        unanswered = (
            "드론 띄워도 되나요",
            "드론 띄워도 되나요",
            "와이파이 비번 010-2222-3333로 문자 주세요",
            "어제 물은 것",
        )
        for question in unanswered:
            assert not service.ask(session, question, "ko").answered
        for n, ask in enumerate(session.scalars(select(KnowledgeAsk).order_by(KnowledgeAsk.id))):
            late = ask.question == "어제 물은 것"
            ask.asked_at = (
                datetime(2026, 11, 30, 23, 59, tzinfo=SEOUL) if late else datetime(2026, 12, 1, 9, n, tzinfo=SEOUL)
            )
        session.commit()
    return sessions


def test_the_daily_report_counts_questions_answers_and_unanswered_topics(day_of_questions, settings):
    (run,) = scheduler.run_due(
        day_of_questions, EIGHT_NEXT_MORNING, settings=settings, jobs={"daily_report": JOBS["daily_report"]}
    )
    assert run.status == "succeeded"
    with day_of_questions() as session:
        figures = reports.get_report(session, REPORT_DAY).figures
    answers = figures["knowledge"]
    assert (answers["asked"], answers["answered"], answers["answer_rate"], answers["unhelpful"]) == (5, 2, 0.4, 1)
    top = answers["top_unanswered"]
    assert top[0]["count"] == 2 and top[0]["text"].startswith("드론 띄워도 되나요")
    assert sum(t["count"] for t in top) == 3 and "어제 물은 것" not in str(top)
    assert "2222-3333" not in str(figures)  # masked when asked

    text = reports.report_text(figures)
    assert "지식베이스 질문 5건 · 답변 2건 (답변율 40.0%) · 도움이 안 됐다는 답 1건" in text
    assert "자주 답하지 못한 질문:\n1. 드론 띄워도 되나요" in text and "(2회)" in text


def test_a_report_stored_before_the_knowledge_base_reads_as_before(day_of_questions):
    with day_of_questions() as session:
        figures = reports.daily_figures(session, REPORT_DAY)
    figures.pop("knowledge")
    assert "지식베이스" not in reports.report_text(figures)


@pytest.mark.clock("2026-12-01T15:00:00+09:00")
def test_the_report_page_the_report_list_and_the_dashboard_show_the_knowledge_figures(app, day_of_questions):
    with day_of_questions() as session:
        reports.store_daily_report(session, REPORT_DAY)
        session.commit()
    staff, _csrf = _signed_in(app)
    page = staff.get(f"/console/reports/{REPORT_DAY.isoformat()}").text
    assert 'data-testid="report-knowledge-asked">5<' in page and 'data-testid="report-knowledge-rate">40.0%<' in page
    assert 'data-testid="report-knowledge-unhelpful">1<' in page
    assert page.count('data-testid="report-knowledge-unanswered"') == 2 and "2222-3333" not in page
    assert 'data-testid="report-row-knowledge-rate">40.0%<' in staff.get("/console/reports").text
    dashboard = staff.get("/console/dashboard").text  # today is the report's day
    assert 'data-testid="knowledge-asked">5<' in dashboard and 'data-testid="knowledge-rate">40.0%<' in dashboard
