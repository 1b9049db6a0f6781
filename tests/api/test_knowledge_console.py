"""Console knowledge base pages: staff write and edit entries, admins publish and withdraw them, and unanswered
questions come back as candidates that become entries or are dismissed."""

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.knowledge import service
from api.knowledge.models import KnowledgeAsk, KnowledgeEntry
from api.knowledge.schemas import EntryFields
from api.staff.models import AuditEntry
from api.web import knowledge as knowledge_pages
from common.clock import today
from tests.api.test_console import ADMIN, STAFF, _signed_in
from tests.api.test_console import app as app  # the fixture with the staff accounts

FORM = {
    "title_ko": "반려견 등록",
    "title_en": "Registering a pet dog",
    "questions": "반려견 등록 어디서 해요\n강아지 동물등록 방법\nhow do I register my dog",
    "answer_ko": "2개월 이상 된 반려견은 동물병원이나 읍면동 행정복지센터에서 동물등록을 해야 해요.",
    "answer_en": "",
    "department_ko": "축산과",
    "department_en": "Livestock Division",
    "phone": "031-940-4666",
    "link": "https://www.paju.go.kr/",
    "review_on": "2099-12-31",
}
ROW = re.compile(r'<tr data-testid="knowledge-row" data-entry-id="(\d+)" data-status="(\w+)" data-review-due="(\w+)"')


def _entry_id(response) -> int:
    return int(urlsplit(response.headers["location"]).path.rsplit("/", 1)[1])


def _create(browser: TestClient, csrf: str, **changes) -> int:
    created = browser.post("/console/knowledge", data=FORM | changes | {"csrf_token": csrf}, follow_redirects=False)
    assert created.status_code == 303, created.text
    return _entry_id(created)


def _entry(app, entry_id: int) -> KnowledgeEntry:
    with app.state.sessionmaker() as session:
        return session.get(KnowledgeEntry, entry_id)


def _ask(app, question: str, language: str = "ko"):
    with app.state.sessionmaker() as session:
        answer = service.ask(session, question, language, channel="web")
        session.commit()
        return answer


def _saved_entry(app, status: str, sample: bool = False, **changes) -> int:
    with app.state.sessionmaker() as session:
        fields = FORM | {"review_on": None, "answer_en": None} | changes
        fields["questions"] = fields["questions"].splitlines()
        entry = service.save_entry(session, EntryFields(**fields))
        entry.status, entry.sample = status, sample
        session.commit()
        return entry.id


def test_no_knowledge_page_answers_without_a_session_or_a_csrf_token(app):
    routes = [
        (method, re.sub(r"\{[^}]+\}", "1", route.path))
        for route in knowledge_pages.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    ]
    assert len(routes) >= 9
    stranger = TestClient(app)
    for method, path in routes:
        response = stranger.request(method, path, data={"csrf_token": "x"}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/sign-in"), path
    browser, _csrf = _signed_in(app, ADMIN)
    for method, path in routes:
        if method == "POST":
            assert browser.post(path, data=FORM | {"csrf_token": "forged"}).status_code == 403, path
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(KnowledgeEntry)) == 0


def test_staff_write_and_edit_a_draft_and_an_admin_publishes_and_withdraws_it(app):
    staff, csrf = _signed_in(app, STAFF)
    assert 'data-testid="nav-knowledge"' in staff.get("/console/knowledge").text
    form = staff.get("/console/knowledge/new").text
    assert "한국어로만 안내된다는 영어 한 줄을 붙여요" in form  # what an empty English answer means
    assert 'data-testid="knowledge-create-publish"' not in form  # staff only draft

    entry_id = _create(staff, csrf)
    page = staff.get(f"/console/knowledge/{entry_id}", params={"saved": "created"})
    assert "임시 저장했어요" in page.text and 'data-testid="knowledge-entry-status">임시 저장<' in page.text
    assert 'data-testid="knowledge-publish"' not in page.text and "게시와 게시 중단은 관리자가 해요" in page.text
    assert "강아지 동물등록 방법\nhow do I register my dog</textarea>" in page.text
    assert not _ask(app, "반려견 등록 어디서 해요").answered  # a draft answers nobody

    edited = staff.post(
        f"/console/knowledge/{entry_id}", data=FORM | {"csrf_token": csrf, "phone": "031-940-4667", "answer_en": ""}
    )
    assert edited.status_code == 200 and "저장했어요." in edited.text and 'value="031-940-4667"' in edited.text
    assert _entry(app, entry_id).phone == "031-940-4667"

    admin, admin_csrf = _signed_in(app, ADMIN)
    published = admin.post(f"/console/knowledge/{entry_id}/publish", data={"csrf_token": admin_csrf})
    assert published.status_code == 200 and "게시했어요" in published.text
    assert 'data-testid="knowledge-entry-status">게시 중<' in published.text
    answer = _ask(app, "반려견 등록 어디서 해요?")
    assert answer.answered and answer.answer.source.id == entry_id and answer.answer.phone == "031-940-4667"
    english = _ask(app, "how do I register my dog", "en")
    assert english.answered and english.answer.korean_only and english.answer.department == "Livestock Division"

    withdrawn = admin.post(f"/console/knowledge/{entry_id}/withdraw", data={"csrf_token": admin_csrf})
    assert "게시를 중단했어요" in withdrawn.text and 'data-testid="knowledge-draft"' in withdrawn.text
    assert not _ask(app, "반려견 등록 어디서 해요").answered
    back = admin.post(f"/console/knowledge/{entry_id}/draft", data={"csrf_token": admin_csrf})
    assert 'data-testid="knowledge-entry-status">임시 저장<' in back.text
    with app.state.sessionmaker() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.subject == f"knowledge_entry:{entry_id}"))
        assert list(actions) == ["publish_knowledge_entry", "withdraw_knowledge_entry", "draft_knowledge_entry"]


def test_an_admin_may_publish_a_new_entry_at_once(app):
    admin, csrf = _signed_in(app, ADMIN)
    assert 'data-testid="knowledge-create-publish"' in admin.get("/console/knowledge/new").text
    created = admin.post("/console/knowledge", data=FORM | {"csrf_token": csrf, "action": "publish"})
    assert created.status_code == 200 and "게시했어요" in created.text
    assert _ask(app, "강아지 동물등록 방법").answered


def test_a_bad_link_is_explained_in_the_form_and_what_was_typed_is_kept(app):
    staff, csrf = _signed_in(app, STAFF)
    typed = FORM | {"link": "http://www.paju.go.kr/pets", "answer_en": "Register at a vet."}
    refused = staff.post("/console/knowledge", data=typed | {"csrf_token": csrf, "ask_id": ["7"]})
    assert refused.status_code == 422
    text = unescape(refused.text)
    assert "링크는 https://로 시작하는 전체 주소로 써 주세요." in text
    assert 'id="link" name="link" value="http://www.paju.go.kr/pets"' in text and 'aria-invalid="true"' in text
    assert 'value="반려견 등록"' in text and "Register at a vet.</textarea>" in text
    assert "강아지 동물등록 방법\nhow do I register my dog</textarea>" in text
    assert '<input type="hidden" name="ask_id" value="7">' in text  # the candidate it came from, still carried

    missing = staff.post("/console/knowledge", data=FORM | {"csrf_token": csrf, "answer_ko": "  "})
    assert missing.status_code == 422 and "답변을(를) 입력해 주세요." in missing.text
    bad_day = staff.post("/console/knowledge", data=FORM | {"csrf_token": csrf, "review_on": "2026-02-30"})
    assert bad_day.status_code == 422 and "검토일을 YYYY-MM-DD로 적어 주세요." in bad_day.text

    entry_id = _create(staff, csrf)
    bad_edit = staff.post(f"/console/knowledge/{entry_id}", data=FORM | {"csrf_token": csrf, "phone": "전화 주세요"})
    assert bad_edit.status_code == 422 and "전화번호는 031-940-4114처럼" in bad_edit.text
    assert 'value="전화 주세요"' in bad_edit.text
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(KnowledgeEntry)) == 1
    assert _entry(app, entry_id).phone == "031-940-4666"


def test_a_staff_member_cannot_publish_or_withdraw_an_entry(app):
    staff, csrf = _signed_in(app, STAFF)
    draft = _create(staff, csrf)
    published = _saved_entry(app, "published", title_ko="여권 발급")
    refused = [
        staff.post("/console/knowledge", data=FORM | {"csrf_token": csrf, "action": "publish"}),
        staff.post(f"/console/knowledge/{draft}/publish", data={"csrf_token": csrf}),
        staff.post(f"/console/knowledge/{published}/withdraw", data={"csrf_token": csrf}),
        staff.post(f"/console/knowledge/{published}/draft", data={"csrf_token": csrf}),
    ]
    for response in refused:
        assert response.status_code == 403 and "게시와 게시 중단은 관리자만 할 수 있어요" in response.text
    assert (_entry(app, draft).status, _entry(app, published).status) == ("draft", "published")
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(KnowledgeEntry)) == 2
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_the_list_finds_by_words_and_status_and_marks_samples_and_entries_due_for_review(app):
    due = _saved_entry(app, "published", sample=True, title_ko="대형폐기물 배출", review_on=today() - timedelta(days=1))
    fresh = _saved_entry(app, "published", title_ko="여권 발급 시간", review_on=today() + timedelta(days=30))
    draft = _saved_entry(app, "draft", title_ko="무인민원발급기 위치", review_on=today() - timedelta(days=3))
    staff, _csrf = _signed_in(app, STAFF)

    page = staff.get("/console/knowledge").text
    rows = {int(entry_id): (status, flagged) for entry_id, status, flagged in ROW.findall(page)}
    assert rows == {due: ("published", "true"), fresh: ("published", "false"), draft: ("draft", "false")}
    assert int(ROW.findall(page)[0][0]) == due  # due for review: on top, though not the latest changed
    assert page.count('data-testid="knowledge-sample"') == 1 and "검토 필요 1개" in page
    assert 'class="overdue"' in page and page.count('data-testid="knowledge-review-due"') == 1

    assert [int(i) for i, *_ in ROW.findall(staff.get("/console/knowledge", params={"q": "여권"}).text)] == [fresh]
    assert [int(i) for i, *_ in ROW.findall(staff.get("/console/knowledge", params={"status": "draft"}).text)] == [
        draft
    ]
    assert [int(i) for i, *_ in ROW.findall(staff.get("/console/knowledge", params={"review": "1"}).text)] == [due]
    assert "조건에 맞는 항목이 없어요" in staff.get("/console/knowledge", params={"q": "없는 말"}).text
    yesterday = (today() - timedelta(days=1)).isoformat()
    assert f"검토일({yesterday})이 지났어요" in staff.get(f"/console/knowledge/{due}").text
    assert "이 지났어요" not in staff.get(f"/console/knowledge/{draft}").text  # a draft answers nobody yet
    assert staff.get("/console/knowledge/999").status_code == 404


def test_the_list_is_shown_a_page_at_a_time(app, monkeypatch):
    monkeypatch.setattr(knowledge_pages, "PAGE_SIZE", 2)
    for n in range(5):
        _saved_entry(app, "draft", title_ko=f"항목 {n}")
    staff, _csrf = _signed_in(app, STAFF)
    first = staff.get("/console/knowledge").text
    assert len(ROW.findall(first)) == 2 and "5개" in first and 'data-testid="knowledge-page-next"' in first
    last = staff.get("/console/knowledge", params={"page": 3}).text
    assert len(ROW.findall(last)) == 1 and 'aria-current="page" data-testid="knowledge-page">3<' in last
    assert len(ROW.findall(staff.get("/console/knowledge", params={"page": 99}).text)) == 1
    assert len(ROW.findall(staff.get("/console/knowledge", params={"page": "셋"}).text)) == 2


def test_unanswered_questions_become_candidates_that_staff_turn_into_an_entry_or_dismiss(app):
    _saved_entry(app, "published", title_ko="여권 발급", questions="여권 발급 시간\n여권 어디서 만들어요")
    for question in ("반려견 등록 어디서 해요? 010-1234-5678", "반려견 등록 어디서 해요 010-1234-5678"):
        assert not _ask(app, question).answered
    assert not _ask(app, "드론 띄워도 되나요").answered
    helped = _ask(app, "여권 발급 시간")
    assert helped.answered
    with app.state.sessionmaker() as session:
        service.record_feedback(session, helped.ask_id, helpful=False)
        session.commit()

    staff, csrf = _signed_in(app, STAFF)
    page = staff.get("/console/knowledge/candidates").text
    assert "1234-5678" not in page
    rows = re.findall(r'data-testid="candidate-row" data-reason="(\w+)" data-count="(\d+)"', page)
    assert sorted(rows) == [("unanswered", "1"), ("unanswered", "2"), ("unhelpful", "1")]
    assert "“도움이 안 됐어요”" in page and "답하지 못함" in page

    links = re.findall(r'href="([^"]+)" data-testid="candidate-new-entry"', page)
    link = next(unescape(link) for link in links if "%EB%B0%98%EB%A0%A4%EA%B2%AC" in link)  # 반려견
    query = parse_qs(urlsplit(link).query)
    assert "반려견 등록 어디서 해요" in query["question"][0] and len(query["ask_id"]) == 2
    form = staff.get(link).text
    first_question = form.split('data-testid="knowledge-questions">', 1)[1].split("</textarea>", 1)[0]
    assert first_question.startswith("반려견 등록 어디서 해요") and "1234" not in first_question
    assert "저장하면 이 질문은 후보에서 빠져요" in form

    typed = FORM | {"questions": unescape(first_question) + "\n강아지 동물등록 방법", "csrf_token": csrf}
    created = staff.post("/console/knowledge", data=typed | {"ask_id": query["ask_id"]}, follow_redirects=False)
    assert created.status_code == 303
    assert _entry(app, _entry_id(created)).question_list()[0].startswith("반려견 등록 어디서 해요")
    page = staff.get("/console/knowledge/candidates").text
    assert "반려견" not in page and page.count('data-testid="candidate-row"') == 2

    drone = page.split('data-testid="candidate-row"')[1:]
    drone = next(row for row in drone if "드론" in row)
    ask_ids = re.findall(r'name="ask_id" value="(\d+)"', drone)
    dismissed = staff.post("/console/knowledge/candidates/dismiss", data={"csrf_token": csrf, "ask_id": ask_ids})
    assert dismissed.status_code == 200 and "무시한 질문은 후보에서 빠졌어요" in dismissed.text
    assert "드론" not in dismissed.text and dismissed.text.count('data-testid="candidate-row"') == 1
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(KnowledgeAsk).where(KnowledgeAsk.dismissed)) == 3


@pytest.mark.parametrize("ask_ids", [["abc", "-1", "99999999999"], []])
def test_a_dismissal_with_no_real_question_changes_nothing(app, ask_ids):
    assert not _ask(app, "드론 띄워도 되나요").answered
    staff, csrf = _signed_in(app, STAFF)
    response = staff.post("/console/knowledge/candidates/dismiss", data={"csrf_token": csrf, "ask_id": ask_ids})
    assert response.status_code == 200 and response.text.count('data-testid="candidate-row"') == 1
