"""The knowledge base over HTTP as the action server uses it: answers with their source, honest refusals with a
number to call, Korean-only entries for English speakers, feedback and the candidates it leaves for staff."""

import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.knowledge import service
from api.knowledge.errors import InvalidEntry
from api.knowledge.models import KnowledgeAsk, KnowledgeEntry
from api.knowledge.schemas import EntryFields
from api.knowledge.seed import seed_knowledge
from api.main import create_app
from api.notices.seed import seed_notices
from bench.knowledge import load_questions, seeded_session
from common.clock import utcnow
from tests.api.conftest import SERVICE_HEADERS


@pytest.fixture
def seeded(client):
    with client.app.state.sessionmaker() as session:
        seed_notices(session)
        seed_knowledge(session)
        session.commit()


def _ask(client, question: str, language: str = "ko", **extra) -> dict:
    response = client.post(
        "/api/knowledge/ask", json={"question": question, "language": language, **extra}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 200, response.text
    return response.json()


def _entry_id(client, slug: str) -> int:
    with client.app.state.sessionmaker() as session:
        return session.scalar(select(KnowledgeEntry.id).where(KnowledgeEntry.slug == slug))


def _asks(client) -> list[KnowledgeAsk]:
    with client.app.state.sessionmaker() as session:
        return list(session.scalars(select(KnowledgeAsk).order_by(KnowledgeAsk.id)))


def test_the_issues_passport_question_is_answered_from_passport_content_with_its_source(client, seeded):
    reply = _ask(client, "여권 발급 시간")
    assert reply["answered"]
    answer = reply["answer"]
    assert "여권" in answer["title"] and "여권" in answer["text"]
    assert answer["department"] and answer["language"] == "ko" and not answer["korean_only"]
    assert answer["sample"]  # seeded content says it is sample content
    assert reply["sources"][0] == answer["source"]
    assert reply["ask_id"] and reply["fallback"] is None


def test_the_issues_waste_day_question_is_answered_in_korean_and_english(client, seeded):
    korean = _ask(client, "쓰레기 배출 요일 알려줘")
    assert korean["answered"] and korean["answer"]["source"]["id"] == _entry_id(client, "household_waste")
    english = _ask(client, "Which days can I put out my household rubbish?", "en")
    assert english["answered"] and english["answer"]["source"]["id"] == _entry_id(client, "household_waste")
    assert english["answer"]["language"] == "en" and english["answer"]["text"] != korean["answer"]["text"]


def test_an_english_question_finds_a_korean_only_entry_and_says_so(client, seeded):
    reply = _ask(client, "How do I get a certificate of my personal seal?", "en")
    assert reply["answered"]
    answer = reply["answer"]
    assert answer["source"]["id"] == _entry_id(client, "seal_certificate")
    assert answer["korean_only"] and answer["language"] == "ko"
    assert any("\uac00" <= ch <= "\ud7a3" for ch in answer["text"])
    assert answer["title"].isascii()  # the title is in English even when the answer is not


def test_a_question_the_base_cannot_answer_is_declined_with_a_number_and_kept_for_staff(client, seeded):
    reply = _ask(client, "오늘 비트코인 시세 얼마예요", channel="telegram")
    assert not reply["answered"] and reply["answer"] is None
    assert reply["fallback"]["phone"] and reply["fallback"]["department"]
    [record] = _asks(client)
    assert not record.answered and record.channel == "telegram"
    with client.app.state.sessionmaker() as session:
        assert [c.text for c in service.candidates(session)] == ["오늘 비트코인 시세 얼마예요"]


def test_a_weakly_predicted_flow_question_is_answered_only_on_a_strong_match_and_leaves_no_trace_otherwise(
    client, seeded
):
    assert not _ask(client, "DMZ 투어 예약하고 싶어요", strict=True)["answered"]
    assert _asks(client) == []
    assert _ask(client, "여권 발급 수수료 얼마예요", strict=True)["answered"]


def test_questions_are_stored_masked(client, seeded):
    _ask(client, "제 번호 010-1234-5678로 주민등록 900101-1234567 문의")
    [record] = _asks(client)
    assert "1234-5678" not in record.question and "1234567" not in record.question
    assert "010-****-5678" in record.question


@pytest.mark.parametrize(
    "body",
    [
        {"question": "", "language": "ko"},
        {"question": "가" * 501, "language": "ko"},
        {"question": "여권", "language": "fr"},
        {"question": 12, "language": "ko"},
    ],
)
def test_bad_questions_are_refused_and_nothing_is_recorded(client, seeded, body):
    response = client.post("/api/knowledge/ask", json=body, headers=SERVICE_HEADERS)
    assert response.status_code == 422
    assert _asks(client) == []


def test_the_routes_need_the_service_token(client, seeded):
    assert client.post("/api/knowledge/ask", json={"question": "여권", "language": "ko"}).status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    assert client.post("/api/knowledge/feedback", json={"ask_id": 1, "helpful": True}, headers=wrong).status_code in (
        401,
        403,
    )


def test_an_answer_marked_unhelpful_becomes_a_candidate_and_unknown_asks_are_404(client, seeded):
    reply = _ask(client, "보건증 어디서 떼요")
    assert reply["answered"]
    response = client.post(
        "/api/knowledge/feedback", json={"ask_id": reply["ask_id"], "helpful": False}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 204
    with client.app.state.sessionmaker() as session:
        [candidate] = service.candidates(session)
        assert candidate.reason == "unhelpful" and candidate.text == "보건증 어디서 떼요"
        service.dismiss_candidates(session, list(candidate.ask_ids))
        session.commit()
        assert service.candidates(session) == []
    missing = client.post("/api/knowledge/feedback", json={"ask_id": 999999, "helpful": True}, headers=SERVICE_HEADERS)
    assert missing.status_code == 404


def test_a_did_you_mean_entry_is_shown_in_the_asked_language_and_a_draft_is_not(client, seeded):
    entry_id = _entry_id(client, "passport_fee")
    shown = client.get(f"/api/knowledge/entries/{entry_id}/answer?language=en", headers=SERVICE_HEADERS)
    assert shown.status_code == 200 and shown.json()["answer"]["language"] == "en"
    with client.app.state.sessionmaker() as session:
        service.set_status(session, entry_id, "draft")
        session.commit()
    hidden = client.get(f"/api/knowledge/entries/{entry_id}/answer", headers=SERVICE_HEADERS)
    assert hidden.status_code == 404 and hidden.json()["detail"]


def test_a_new_published_entry_is_answered_at_once_and_a_withdrawn_one_no_longer(client, seeded):
    question = "반려식물 분양 행사는 언제 열려요?"
    assert not _ask(client, question)["answered"]
    fields = EntryFields(
        title_ko="반려식물 나눔 행사",
        questions=["반려식물 분양 행사 언제 해요", "식물 나눔 행사 일정", "free plant giveaway dates"],
        answer_ko="매년 4월 첫째 주 토요일에 시청 광장에서 반려식물을 나눠 드려요.",
        department_ko="공원녹지과",
        phone="031-940-4999",
        link="https://www.paju.go.kr",
    )
    with client.app.state.sessionmaker() as session:
        entry = service.save_entry(session, fields)
        service.set_status(session, entry.id, "published")
        session.commit()
        entry_id = entry.id
    reply = _ask(client, question)
    assert reply["answered"] and reply["answer"]["source"] == {
        "kind": "entry",
        "id": entry_id,
        "title": "반려식물 나눔 행사",
        "sample": False,
    }
    assert reply["answer"]["link"] == "https://www.paju.go.kr"
    with client.app.state.sessionmaker() as session:
        service.set_status(session, entry_id, "withdrawn")
        session.commit()
    assert not _ask(client, question)["answered"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"link": "javascript:alert(1)"}, "link"),
        ({"link": "http://www.paju.go.kr"}, "link"),
        ({"phone": "call us"}, "phone"),
        ({"questions": []}, "questions"),
        ({"title_ko": " "}, "title_ko"),
        ({"answer_ko": "가" * 601}, "answer_ko"),
    ],
)
def test_a_bad_entry_is_refused_with_the_field_named_and_nothing_is_written(client, change, field):
    good = {"title_ko": "제목", "questions": ["질문"], "answer_ko": "답변", "department_ko": "민원여권과"}
    fields = EntryFields(**(good | change))
    with client.app.state.sessionmaker() as session:
        with pytest.raises(InvalidEntry) as refused:
            service.save_entry(session, fields)
        session.rollback()
        assert refused.value.field == field and refused.value.message("ko")
        assert service.list_entries(session) == []


def test_the_daily_figures_give_the_answer_rate_and_group_unanswered_topics_by_meaning(client, seeded):
    for question in ("여권 발급 시간", "운전면허 갱신 어디서 해요", "운전면허 갱신은 어디서 하나요", "오늘 날씨 어때"):
        _ask(client, question)
    now = utcnow()
    with client.app.state.sessionmaker() as session:
        figures = service.daily_figures(session, now - timedelta(hours=1), now + timedelta(hours=1))
    assert figures["asked"] == 4 and figures["answered"] == 1 and figures["answer_rate"] == 0.25
    assert figures["top_unanswered"][0]["count"] == 2
    assert "운전면허" in figures["top_unanswered"][0]["text"]


def test_review_dates_bring_entries_back_to_staff(client, seeded):
    with client.app.state.sessionmaker() as session:
        assert service.due_for_review(session, utcnow().date()) == []
        due = service.due_for_review(session, utcnow().date() + timedelta(days=200))
        assert len(due) == len(service.list_entries(session, status="published")) >= 60


def test_the_held_out_questions_meet_the_goals():
    """The figures bench/knowledge.py prints, held to the issue's goals: >= 85% answered right, <= 5% answered
    when nothing should be."""
    with seeded_session() as session:
        answerable, unanswerable = load_questions(session, "heldout")
        assert len(answerable) >= 80 and len(unanswerable) >= 20
        right = 0
        for question in answerable:
            reply = service.ask(session, question.text, "ko")
            source = reply.answer and f"{reply.answer.source.kind}:{reply.answer.source.id}"
            right += source in question.expect
        false_answers = sum(service.ask(session, q.text, "ko").answered for q in unanswerable)
        session.rollback()
    assert right / len(answerable) >= 0.85
    assert false_answers / len(unanswerable) <= 0.05


def test_the_index_is_built_when_the_app_starts_serving_and_building_an_app_starts_nothing(settings):
    app = create_app(settings.model_copy(update={"knowledge_warm_up": True}))
    assert not [t for t in threading.enumerate() if t.name == "knowledge-warm-up"]
    database = str(app.state.engine.url)
    service._indexes.pop(database, None)
    with TestClient(app):
        deadline = time.monotonic() + 60
        while database not in service._indexes and time.monotonic() < deadline:
            time.sleep(0.1)
        assert database in service._indexes, "the first question after a start would wait for the index"
    app.state.engine.dispose()
