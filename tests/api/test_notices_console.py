"""Console notice pages: write, publish, edit, withdraw; send a certified notice and download its certificate."""

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.conversations.models import OutboxMessage
from api.notices.models import Notice, PersonalNotice
from api.notices.seed import seed_notices
from api.staff.models import AuditEntry
from api.staff.permissions import NOTICES_PUBLISH, PERSONAL_NOTICES_CERTIFICATE, PERSONAL_NOTICES_SEND
from api.staff.service import create_user
from api.web import notices as notice_pages
from tests.api.conftest import SERVICE_HEADERS

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM = {
    "category": "culture",
    "department": "문화예술과",
    "title": "운정호수공원 야외 영화제",
    "body": "토요일 저녁 7시 운정호수공원 잔디광장에서 가족 영화를 상영합니다. 돗자리를 가져오세요.",
    "summary": "토요일 저녁 운정호수공원에서 가족 영화 상영",
    "title_en": "Outdoor cinema at Unjeong Lake Park",
    "summary_en": "Family films on Saturday evening at Unjeong Lake Park.",
    "attachments": "상영 시간표 | https://example.com/paju-sample/cinema.pdf",
    "expires_on": "2099-12-31",
}


PLAIN = "plain@paju.go.kr"  # a staff member no admin granted anything


@pytest.fixture
def app(client):
    granted = [NOTICES_PUBLISH, PERSONAL_NOTICES_SEND, PERSONAL_NOTICES_CERTIFICATE]
    with client.app.state.sessionmaker() as session:
        create_user(session, "staff@paju.go.kr", "이담당", PASSWORD, permissions=granted)
        create_user(session, PLAIN, "박직원", PASSWORD)
    return client.app


def _signed_in(app, email: str = "staff@paju.go.kr") -> tuple[TestClient, str]:
    browser = TestClient(app)
    page = browser.get("/console/sign-in")
    browser.post(
        "/console/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": CSRF.search(page.text).group(1)},
    )
    return browser, CSRF.search(browser.get("/console/notices").text).group(1)


def _subscribe(client, user: str, category: str) -> None:
    body = {"channel": "telegram", "channel_user_id": user, "text": "안녕", "language": "ko"}
    client.post("/api/conversations/messages", json=body, headers=SERVICE_HEADERS)
    body = {"channel": "telegram", "channel_user_id": user, "category": category, "consent_text": "동의합니다"}
    client.post("/api/notice-subscriptions", json=body, headers=SERVICE_HEADERS)


def test_no_notice_page_answers_without_a_session_or_a_csrf_token(app):
    routes = [
        (method, re.sub(r"\{[^}]+\}", "1", route.path))
        for route in notice_pages.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    ]
    assert len(routes) >= 10
    stranger = TestClient(app)
    for method, path in routes:
        response = stranger.request(method, path, data={"csrf_token": "x"}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/sign-in"), path
    browser, _csrf = _signed_in(app)
    for method, path in routes:
        if method == "POST":
            assert browser.post(path, data=FORM | {"csrf_token": "forged"}).status_code == 403, path
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_staff_write_publish_edit_and_withdraw_a_notice_in_the_console(client, app):
    _subscribe(client, "cinema-fan", "culture")
    browser, csrf = _signed_in(app)
    assert 'data-testid="nav-notices"' in browser.get("/console/notices").text

    created = browser.post(
        "/console/notices", data=FORM | {"csrf_token": csrf, "action": "publish"}, follow_redirects=False
    )
    assert created.status_code == 303
    page = browser.get(created.headers["location"])
    assert "게시 중" in page.text and "구독자 1명 · 보낸 알림 1건" in page.text
    assert "상영 시간표 | https://example.com/paju-sample/cinema.pdf" in page.text
    assert 'value="2099-12-31"' in page.text
    notice_id = int(created.headers["location"].rsplit("/", 1)[1])
    public = client.get(f"/api/notices/{notice_id}").json()
    assert public["attachments"] == [{"title": "상영 시간표", "url": "https://example.com/paju-sample/cinema.pdf"}]
    assert public["expires_at"].startswith("2099-12-31T15:00")  # the end of that day in Korea, in UTC

    edited = browser.post(
        f"/console/notices/{notice_id}", data=FORM | {"csrf_token": csrf, "title": "야외 영화제 장소 변경"}
    )
    assert edited.status_code == 200 and "야외 영화제 장소 변경" in edited.text
    assert client.get(f"/api/notices/{notice_id}").json()["title"] == "야외 영화제 장소 변경"

    browser.post(f"/console/notices/{notice_id}/publish", data={"csrf_token": csrf})  # again: nobody hears twice
    withdrawn = browser.post(f"/console/notices/{notice_id}/withdraw", data={"csrf_token": csrf})
    assert "철회됨" in withdrawn.text
    assert client.get(f"/api/notices/{notice_id}").status_code == 404
    with app.state.sessionmaker() as session:
        assert (
            session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "notice")) == 1
        )
    listed = browser.get("/console/notices", params={"status": "withdrawn"}).text
    assert listed.count('data-testid="notice-row"') == 1


def test_a_draft_is_saved_unpublished_and_bad_input_is_explained(app):
    browser, csrf = _signed_in(app)
    saved = browser.post("/console/notices", data=FORM | {"csrf_token": csrf, "action": "save"})
    assert "작성 중" in saved.text
    bad = browser.post("/console/notices", data=FORM | {"csrf_token": csrf, "title": "", "attachments": "파일 | nope"})
    assert bad.status_code == 422
    assert "제목" in bad.text and "첨부 링크" in bad.text
    late = browser.post("/console/notices", data=FORM | {"csrf_token": csrf, "expires_on": "2020-01-01"})
    assert late.status_code == 422 and "게시 종료일" in late.text
    with app.state.sessionmaker() as session:
        assert session.scalars(select(Notice.status)).all() == ["draft"]


def test_the_notice_list_finds_by_title_or_department(client, app):
    with app.state.sessionmaker() as session:
        seed_notices(session)
        session.commit()
    browser, _csrf = _signed_in(app)
    page = browser.get("/console/notices", params={"q": "주차"}).text
    # 공영주차장 and 거주자 우선주차 by title, 불법 주정차 by its department (주차관리과)
    assert page.count('data-testid="notice-row"') == 3


def test_staff_send_a_certified_notice_and_download_its_certificate(app):
    browser, csrf = _signed_in(app)
    letter = {"phone": "010-2345-6789", "recipient_name": "김민수", "department": "세정과", "title": "환급 안내"}
    sent = browser.post("/console/personal-notices", data=letter | {"body": "환급금이 있어요.", "csrf_token": csrf})
    assert sent.status_code == 200
    assert "010-****-6789" in sent.text and "김*수" in sent.text and "2345" not in sent.text
    with app.state.sessionmaker() as session:
        notice_id = session.scalar(select(PersonalNotice.id))
    certificate = browser.get(f"/console/personal-notices/{notice_id}/certificate")
    assert certificate.headers["content-type"] == "application/json"
    assert certificate.json()["recipient_phone"] == "010-****-6789" and certificate.json()["delivered_at"] is None
    with app.state.sessionmaker() as session:
        actions = session.execute(select(AuditEntry.action, AuditEntry.subject).order_by(AuditEntry.id)).all()
    assert ("send_personal_notice", f"personal_notice:{notice_id}") in actions
    assert actions[-1] == ("download_certificate", f"personal_notice:{notice_id}")
    bad = browser.post("/console/personal-notices", data=letter | {"phone": "123", "body": "x", "csrf_token": csrf})
    assert bad.status_code == 422
    assert browser.get("/console/personal-notices/999/certificate").status_code == 404


def test_a_staff_member_without_notices_publish_cannot_message_every_subscriber_and_nothing_is_written(client, app):
    _subscribe(client, "cinema-fan", "culture")
    browser, csrf = _signed_in(app, PLAIN)
    refused = browser.post("/console/notices", data=FORM | {"csrf_token": csrf, "action": "publish"})
    assert refused.status_code == 403 and "“공지 게시 (구독자 전체에게 발송)” 권한이 필요해요" in refused.text
    draft = browser.post("/console/notices", data=FORM | {"csrf_token": csrf, "action": "save"}, follow_redirects=False)
    notice_id = int(draft.headers["location"].rsplit("/", 1)[1])
    assert browser.post(f"/console/notices/{notice_id}/publish", data={"csrf_token": csrf}).status_code == 403
    with app.state.sessionmaker() as session:
        assert session.scalars(select(Notice.status)).all() == ["draft"]
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_staff_member_without_the_personal_notice_permissions_cannot_send_one_or_issue_a_certificate(app):
    sender, sender_csrf = _signed_in(app)
    letter = {"phone": "010-2345-6789", "department": "세정과", "title": "환급 안내", "body": "환급금이 있어요."}
    sender.post("/console/personal-notices", data=letter | {"csrf_token": sender_csrf})
    browser, csrf = _signed_in(app, PLAIN)
    refused = browser.post("/console/personal-notices", data=letter | {"title": "다른 안내", "csrf_token": csrf})
    assert refused.status_code == 403 and "“공인알림 발송” 권한이 필요해요" in refused.text
    with app.state.sessionmaker() as session:
        [notice_id] = session.scalars(select(PersonalNotice.id)).all()
    certificate = browser.get(f"/console/personal-notices/{notice_id}/certificate")
    assert certificate.status_code == 403 and "“공인알림 수신 증명서 발급” 권한이 필요해요" in certificate.text
    with app.state.sessionmaker() as session:
        assert "download_certificate" not in session.scalars(select(AuditEntry.action)).all()
