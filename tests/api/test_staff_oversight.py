"""Oversight of staff: who may open which transcript, the named permissions admins grant, the audit log of every
read and sensitive action with its admin page, and certified content kept out of transcripts."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.conversations.models import Conversation, Handoff, OutboxMessage
from api.core.settings import Settings
from api.notices.models import Notice, PersonalNotice
from api.staff.models import AuditEntry, StaffUser
from api.staff.permissions import PERMISSIONS, TRANSCRIPTS_READ
from common.confidential import PLACEHOLDER
from tests.api.conftest import SERVICE_HEADERS
from tests.api.test_console import ADMIN, OTHER, PASSWORD, STAFF, _handoff, _message, _signed_in
from tests.api.test_console import app as app  # the fixture with the staff accounts

KO = {"Accept-Language": "ko"}
LETTER_BODY = "과오납된 지방세 12,340원을 환급해 드립니다. 환급 계좌를 알려 주십시오."


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A live stream here ends at once: these tests look at who may start one, not at what it sends.
    return settings.model_copy(update={"console_events_poll_seconds": 0.1, "console_events_max_seconds": 0.3})


def _id(app, model, *where) -> int:
    with app.state.sessionmaker() as session:
        return session.scalar(select(model.id).where(*where))


def _staff_id(app, email: str) -> int:
    return _id(app, StaffUser, StaffUser.email == email)


def _conversation_id(app, user: str) -> int:
    return _id(app, Conversation, Conversation.channel_user_id == user)


def _audit(app) -> list[tuple[str, str, str, str]]:
    with app.state.sessionmaker() as session:
        rows = session.execute(
            select(StaffUser.email, AuditEntry.action, AuditEntry.subject, AuditEntry.reason)
            .join(StaffUser, StaffUser.id == AuditEntry.user_id)
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


def _grant(app, email: str, *permissions: str) -> None:
    admin, csrf = _signed_in(app, ADMIN)
    granted = admin.post(
        f"/console/admin/users/{_staff_id(app, email)}/permissions",
        data={"csrf_token": csrf, "permission": list(permissions)},
        follow_redirects=False,
    )
    assert granted.status_code == 303


def _bearer(client: TestClient, email: str) -> dict[str, str]:
    token = client.post("/api/auth/sign-in", json={"email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"} | KO


# --- transcripts ---------------------------------------------------------------------------------


def test_a_staff_member_reads_the_conversations_on_their_desk_and_each_read_is_audited(app, client):
    handoff = _handoff(client, "111")
    conversation_id = _conversation_id(app, "111")
    browser, csrf = _signed_in(app, STAFF)
    assert browser.get(f"/console/conversations/{conversation_id}").status_code == 200  # waiting in the queue
    browser.post(f"/console/handoffs/{handoff['id']}/claim", data={"csrf_token": csrf}, follow_redirects=False)
    assert browser.get(f"/console/conversations/{conversation_id}").status_code == 200  # theirs now
    assert browser.get(f"/console/conversations/{conversation_id}/events?after=999999").status_code == 200
    subject = f"conversation:{conversation_id}"
    assert _audit(app) == [
        (STAFF, "view_conversation", subject, ""),
        (STAFF, "view_conversation", subject, ""),
        (STAFF, "stream_conversation", subject, ""),
    ]
    # Claimed by someone else, it is no longer the other staff member's to read.
    other, _ = _signed_in(app, OTHER)
    refused = other.get(f"/console/conversations/{conversation_id}")
    assert refused.status_code == 403 and "“맡지 않은 대화 기록 열람·검색” 권한이 필요해요" in refused.text
    assert "사람이랑 이야기하고 싶어요" not in refused.text


def test_without_transcripts_read_no_other_conversation_opens_by_id_search_stream_or_writing_first(app, client):
    _message(client, "555", "제 번호는 010-9876-5432예요", "555-1")
    conversation_id = _conversation_id(app, "555")
    browser, csrf = _signed_in(app, STAFF)
    for path in (
        f"/console/conversations/{conversation_id}",
        "/console/conversations?q=555",
        "/console/conversations",
    ):
        refused = browser.get(path)
        assert refused.status_code == 403, path
        assert "9876" not in refused.text and "010-****-5432" not in refused.text
    stream = browser.get(f"/console/conversations/{conversation_id}/events", headers=KO)
    assert stream.status_code == 403 and stream.json()["code"] == "permission_denied"
    started = browser.post(
        f"/console/conversations/{conversation_id}/start", data={"csrf_token": csrf, "text": "안녕하세요"}
    )
    assert started.status_code == 403
    reveal = browser.post(
        f"/console/conversations/{conversation_id}/reveal", data={"csrf_token": csrf, "reason": "궁금해서"}
    )
    assert reveal.status_code == 403 and "010-9876-5432" not in reveal.text
    assert 'data-testid="nav-conversations"' not in browser.get("/console/queue").text
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Handoff)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert _audit(app) == []

    _grant(app, STAFF, TRANSCRIPTS_READ)
    assert browser.get(f"/console/conversations/{conversation_id}").status_code == 200
    assert 'data-testid="conversation-row"' in browser.get("/console/conversations?q=555").text
    assert _audit(app)[-2:] == [
        (STAFF, "view_conversation", f"conversation:{conversation_id}", ""),
        (STAFF, "search_conversations", "query:555", ""),
    ]


# --- permissions and the audit log ------------------------------------------------------------------


def test_admins_grant_and_take_back_permissions_on_the_accounts_page_and_both_are_audited(app):
    admin, csrf = _signed_in(app, ADMIN)
    page = admin.get("/console/admin/users").text
    assert all(f'data-permission="{name}"' in page for name in PERMISSIONS)
    staff_id = _staff_id(app, STAFF)
    url = f"/console/admin/users/{staff_id}/permissions"
    admin.post(url, data={"csrf_token": csrf, "permission": ["notices.publish", "runs.close"]})
    with app.state.sessionmaker() as session:
        user = session.get(StaffUser, staff_id)
        assert sorted(p.permission for p in user.permissions) == ["notices.publish", "runs.close"]
    admin.post(url, data={"csrf_token": csrf, "permission": ["runs.close"]})
    assert admin.post(url, data={"csrf_token": csrf, "permission": ["everything"]}).status_code == 422
    with app.state.sessionmaker() as session:
        user = session.get(StaffUser, staff_id)
        assert [p.permission for p in user.permissions] == ["runs.close"]
    assert [a for a in _audit(app) if a[1].endswith("_permission")] == [
        (ADMIN, "grant_permission", f"staff:{staff_id}", "notices.publish"),
        (ADMIN, "grant_permission", f"staff:{staff_id}", "runs.close"),
        (ADMIN, "revoke_permission", f"staff:{staff_id}", "notices.publish"),
    ]
    staff, staff_csrf = _signed_in(app, STAFF)
    assert staff.post(url, data={"csrf_token": staff_csrf, "permission": list(PERMISSIONS)}).status_code == 403


def test_the_audit_log_page_lists_who_read_what_and_filters_by_staff_member_and_action(app, client):
    _handoff(client, "111")
    _handoff(client, "222")
    first, second = _conversation_id(app, "111"), _conversation_id(app, "222")
    staff, _ = _signed_in(app, STAFF)
    other, _ = _signed_in(app, OTHER)
    staff.get(f"/console/conversations/{first}")
    other.get(f"/console/conversations/{second}")
    staff.get("/console/paper-mail")

    admin, _ = _signed_in(app, ADMIN)
    rows = re.compile(r'data-testid="audit-row" data-action="([a-z_]+)" data-user-id="(\d+)"')
    everything = admin.get("/console/admin/audit").text
    assert len(rows.findall(everything)) == 3
    assert "대화 열람" in everything and f"conversation:{second}" in everything and "박직원" in everything
    staff_id = _staff_id(app, STAFF)
    theirs = admin.get("/console/admin/audit", params={"user_id": staff_id}).text
    assert sorted(rows.findall(theirs)) == [("view_conversation", str(staff_id)), ("view_paper_mail", str(staff_id))]
    views = admin.get("/console/admin/audit", params={"action": "view_conversation"}).text
    assert len(rows.findall(views)) == 2 and "종이 우편 명단 열람" not in views.split('data-testid="audit-log"')[1]
    assert staff.get("/console/admin/audit").status_code == 403


# --- the REST routes refuse the same ----------------------------------------------------------------


def test_over_rest_a_staff_member_without_the_permissions_publishes_and_sends_nothing(app, client):
    headers = _bearer(client, STAFF)
    notice = {
        "category": "culture",
        "department": "문화예술과",
        "title": "야외 영화제",
        "body": "토요일 저녁 가족 영화를 상영합니다.",
        "publish": True,
    }
    refused = client.post("/api/notices", json=notice, headers=headers)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "이 작업에는 “공지 게시 (구독자 전체에게 발송)” 권한이 필요해요. 관리자에게 요청해 주세요.",
        "code": "permission_denied",
    }
    draft = client.post("/api/notices", json=notice | {"publish": False}, headers=headers).json()["notice"]
    assert client.post(f"/api/notices/{draft['id']}/publish", headers=headers).status_code == 403
    letter = {"phone": "010-2345-6789", "department": "세정과", "title": "환급 안내", "body": LETTER_BODY}
    assert client.post("/api/personal-notices", json=letter, headers=headers).status_code == 403
    with app.state.sessionmaker() as session:
        assert session.scalars(select(Notice.status)).all() == ["draft"]
        assert session.scalar(select(func.count()).select_from(PersonalNotice)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert _audit(app) == []

    admin = _bearer(client, ADMIN)
    sent = client.post("/api/personal-notices", json=letter, headers=admin).json()
    assert client.get(f"/api/personal-notices/{sent['id']}", headers=headers).status_code == 200
    assert client.get(f"/api/personal-notices/{sent['id']}/certificate", headers=headers).status_code == 403
    assert _audit(app) == [
        (ADMIN, "send_personal_notice", f"personal_notice:{sent['id']}", ""),
        (STAFF, "view_personal_notice", f"personal_notice:{sent['id']}", ""),
    ]


# --- certified content stays out of transcripts -------------------------------------------------------------


def test_a_certified_notices_content_shown_in_chat_is_recorded_as_a_placeholder_only(app, client):
    recorded = _message(client, "777", "482913", "777-1").json()
    shown = f"📨 세정과에서 보낸 공인알림 (11월 24일)\n지방세 환급 안내\n\n{LETTER_BODY}"
    replies = [{"text": "본인 확인이 되었어요."}, {"custom": {"confidential": True, "text": shown}}]
    stored = client.post(
        f"/api/conversations/messages/{recorded['message_id']}/replies",
        json={"replies": replies},
        headers=SERVICE_HEADERS,
    )
    assert stored.status_code == 201
    with app.state.sessionmaker() as session:
        # What the table holds, as stored: neither a text nor a payload has anything of the notice.
        rows = session.execute(text("SELECT text, payload FROM messages ORDER BY id")).all()
    assert [row.text for row in rows] == ["482913", "본인 확인이 되었어요.", PLACEHOLDER]
    assert not any("환급" in f"{row.text} {row.payload}" or "12,340" in f"{row.text} {row.payload}" for row in rows)
    again = _message(client, "777", "482913", "777-1").json()  # a retry gets the record, not the content
    assert [r["text"] for r in again["replies"]] == ["본인 확인이 되었어요.", PLACEHOLDER]

    _grant(app, STAFF, TRANSCRIPTS_READ)
    browser, _ = _signed_in(app, STAFF)
    page = browser.get(f"/console/conversations/{_conversation_id(app, '777')}").text
    assert PLACEHOLDER in page and "12,340" not in page
