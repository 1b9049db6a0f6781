"""The staff console over HTTP: sign-in and sessions, CSRF, roles, the queue, a conversation, reveal, live updates."""

import re
import threading
import time

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.conversations import handoffs
from api.conversations.models import Conversation, Handoff, OutboxMessage
from api.core.settings import Settings
from api.main import create_app
from api.staff.models import AuditEntry, ConsoleSession, StaffUser
from api.staff.permissions import TRANSCRIPTS_READ
from api.staff.service import create_user, set_permissions
from api.web import admin as admin_pages
from api.web import auth as auth_pages
from api.web import conversations as conversation_pages
from tests.api.conftest import SERVICE_HEADERS, SERVICE_TOKEN
from tests.api.test_tours_api import _book, _future_run

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STAFF, OTHER, ADMIN = "staff@paju.go.kr", "other@paju.go.kr", "admin@paju.go.kr"


@pytest.fixture
def app(client):
    with client.app.state.sessionmaker() as session:
        create_user(session, STAFF, "이담당", PASSWORD)
        create_user(session, OTHER, "박직원", PASSWORD)
        create_user(session, ADMIN, "김관리", PASSWORD, role="admin")
    return client.app


def _csrf(html: str) -> str:
    return CSRF.search(html).group(1)


def _signed_in(app, email: str = STAFF) -> tuple[TestClient, str]:
    """A browser of its own, signed in; returns it with its session's CSRF token."""
    browser = TestClient(app)
    page = browser.get("/console/sign-in")
    response = browser.post(
        "/console/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return browser, _csrf(browser.get("/console/queue").text)


def _message(client, user: str, text: str, message_id: str, language: str = "ko"):
    body = {"channel": "telegram", "channel_user_id": user, "channel_message_id": message_id, "text": text}
    return client.post("/api/conversations/messages", json=body | {"language": language}, headers=SERVICE_HEADERS)


def _handoff(client, user: str = "111", department: str | None = None, language: str = "ko") -> dict:
    _message(client, user, "사람이랑 이야기하고 싶어요", f"{user}-1", language)
    body = {"channel": "telegram", "channel_user_id": user, "department": department}
    return client.post("/api/conversations/handoffs", json=body, headers=SERVICE_HEADERS).json()


def _handoff_row(app, handoff_id: int) -> Handoff:
    with app.state.sessionmaker() as session:
        return session.get(Handoff, handoff_id)


def _console_routes() -> list[tuple[str, str]]:
    routes = []
    for route in [*auth_pages.router.routes, *conversation_pages.router.routes, *admin_pages.router.routes]:
        if isinstance(route, APIRoute) and route.path != "/console/sign-in":
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            routes += [(method, path) for method in route.methods]
    return routes


# --- who may use the console ----------------------------------------------------------------------


def test_no_console_route_answers_without_a_session(app):
    browser = TestClient(app)
    routes = _console_routes()
    assert len(routes) >= 20
    for cookie in (None, "forged-session-token"):
        if cookie:
            browser.cookies.set("paju_console", cookie, path="/console")
        for method, path in routes:
            response = browser.request(method, path, data={"csrf_token": "x"}, follow_redirects=False)
            if path.endswith("/events"):
                assert response.status_code == 401, path
            else:
                assert response.status_code == 303, (method, path)
                assert response.headers["location"].startswith("/console/sign-in?next="), path


def test_a_page_asked_for_before_signing_in_opens_after_signing_in(app):
    browser = TestClient(app)
    first = browser.get("/console/conversations?q=777", follow_redirects=False)
    assert first.headers["location"] == "/console/sign-in?next=/console/conversations%3Fq%3D777"
    page = browser.get(first.headers["location"])
    assert 'name="next" value="/console/conversations?q=777"' in page.text
    signed_in = browser.post(
        "/console/sign-in",
        data={"email": STAFF, "password": PASSWORD, "csrf_token": _csrf(page.text), "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert signed_in.headers["location"] == "/console/queue"  # never to another site


def test_a_staff_member_cannot_reach_admin_pages_or_forms(app):
    browser, csrf = _signed_in(app, STAFF)
    admin_routes = [(m, p) for m, p in _console_routes() if p.startswith("/console/admin")]
    assert len(admin_routes) >= 8
    for method, path in admin_routes:
        data = {"csrf_token": csrf, "email": "new@paju.go.kr", "name": "새직원", "password": PASSWORD, "role": "admin"}
        response = browser.request(method, path, data=data, follow_redirects=False)
        assert response.status_code == 403, (method, path)
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(StaffUser)) == 3
        assert session.scalar(select(StaffUser.role).where(StaffUser.email == STAFF)) == "staff"
    assert 'data-testid="nav-admin-users"' not in browser.get("/console/queue").text


def test_a_missing_or_forged_csrf_token_is_refused_and_changes_nothing(app, client):
    handoff = _handoff(client)
    browser, csrf = _signed_in(app, STAFF)
    admin, admin_csrf = _signed_in(app, ADMIN)
    for token in (None, "", "forged", csrf[:-1]):
        data = {} if token is None else {"csrf_token": token}
        claim = browser.post(f"/console/handoffs/{handoff['id']}/claim", data=data, follow_redirects=False)
        assert claim.status_code == 403
        assert "보안 토큰" in claim.text
        created = admin.post(
            "/console/admin/users", data=data | {"email": "x@paju.go.kr", "name": "엑스", "password": PASSWORD}
        )
        assert created.status_code == 403
        assert browser.post("/console/sign-out", data=data, follow_redirects=False).status_code == 403
    # Another session's token is not this session's.
    assert browser.post(f"/console/handoffs/{handoff['id']}/claim", data={"csrf_token": admin_csrf}).status_code == 403
    assert _handoff_row(app, handoff["id"]).status == "waiting"
    with app.state.sessionmaker() as session:
        assert session.scalar(select(StaffUser.id).where(StaffUser.email == "x@paju.go.kr")) is None
    assert browser.get("/console/queue", follow_redirects=False).status_code == 200  # still signed in


def test_the_sign_in_form_is_refused_without_its_own_token(app):
    browser = TestClient(app)
    data = {"email": STAFF, "password": PASSWORD}
    assert browser.post("/console/sign-in", data=data, follow_redirects=False).status_code == 403
    token = _csrf(browser.get("/console/sign-in").text)
    stranger = TestClient(app)  # a page of another site posting a token it saw, without the cookie
    assert stranger.post("/console/sign-in", data=data | {"csrf_token": token}).status_code == 403
    assert browser.post("/console/sign-in", data=data | {"csrf_token": "forged"}).status_code == 403
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(ConsoleSession)) == 0


def test_the_session_cookie_is_http_only_same_site_lax_and_secure_when_configured(database_url):
    for secure in (False, True):
        settings = Settings(database_url=database_url, service_token=SERVICE_TOKEN, console_cookie_secure=secure)
        app = create_app(settings)
        with app.state.sessionmaker() as session:
            if not session.scalar(select(StaffUser.id)):
                create_user(session, STAFF, "이담당", PASSWORD)
        browser = TestClient(app, base_url="https://testserver")
        page = browser.get("/console/sign-in")
        response = browser.post(
            "/console/sign-in",
            data={"email": STAFF, "password": PASSWORD, "csrf_token": _csrf(page.text)},
            follow_redirects=False,
        )
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("paju_console="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
        assert ("Secure" in cookie) is secure
        app.state.engine.dispose()


def test_five_wrong_passwords_lock_the_console_sign_in(app):
    browser = TestClient(app)
    for _ in range(5):
        token = _csrf(browser.get("/console/sign-in").text)
        wrong = browser.post("/console/sign-in", data={"email": STAFF, "password": "wrong", "csrf_token": token})
        assert wrong.status_code == 401
        assert "이메일 또는 비밀번호가 맞지 않아요." in wrong.text
    token = _csrf(browser.get("/console/sign-in").text)
    locked = browser.post("/console/sign-in", data={"email": STAFF, "password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 423


def test_signing_out_ends_the_session_on_the_server(app):
    browser, csrf = _signed_in(app)
    cookie = browser.cookies.get("paju_console")
    assert browser.post("/console/sign-out", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    replay = TestClient(app)
    replay.cookies.set("paju_console", cookie, path="/console")
    assert replay.get("/console/queue", follow_redirects=False).status_code == 303


# --- accounts ------------------------------------------------------------------------------------


def test_admins_create_accounts_reset_passwords_change_roles_and_deactivate(app):
    admin, csrf = _signed_in(app, ADMIN)
    created = admin.post(
        "/console/admin/users",
        data={"csrf_token": csrf, "email": "New@Paju.go.kr", "name": "최신입", "password": PASSWORD, "role": "staff"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    page = admin.get("/console/admin/users").text
    assert "new@paju.go.kr" in page and "최신입" in page
    again = admin.post(
        "/console/admin/users",
        data={"csrf_token": csrf, "email": "new@paju.go.kr", "name": "최신입", "password": PASSWORD},
    )
    assert again.status_code == 409
    short = admin.post(
        "/console/admin/users", data={"csrf_token": csrf, "email": "b@paju.go.kr", "name": "비", "password": "short"}
    )
    assert short.status_code == 422

    with app.state.sessionmaker() as session:
        user_id = session.scalar(select(StaffUser.id).where(StaffUser.email == STAFF))
        admin_id = session.scalar(select(StaffUser.id).where(StaffUser.email == ADMIN))
    staff_browser, _ = _signed_in(app, STAFF)

    new_password = "a brand new password"
    admin.post(f"/console/admin/users/{user_id}/password", data={"csrf_token": csrf, "password": new_password})
    assert staff_browser.get("/console/queue", follow_redirects=False).status_code == 303  # signed out everywhere
    admin.post(f"/console/admin/users/{user_id}/role", data={"csrf_token": csrf, "role": "admin"})
    admin.post(f"/console/admin/users/{user_id}/active", data={"csrf_token": csrf, "active": "false"})
    assert (
        admin.post(f"/console/admin/users/{admin_id}/active", data={"csrf_token": csrf, "active": "false"}).status_code
        == 422
    )
    assert (
        admin.post(f"/console/admin/users/{admin_id}/role", data={"csrf_token": csrf, "role": "staff"}).status_code
        == 422
    )
    with app.state.sessionmaker() as session:
        user = session.get(StaffUser, user_id)
        assert (user.role, user.active) == ("admin", False)
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.user_id == admin_id)).all()
        assert set(actions) == {"create_account", "reset_password", "set_role", "deactivate_account"}
    token = _csrf(staff_browser.get("/console/sign-in").text)
    refused = staff_browser.post(
        "/console/sign-in", data={"email": STAFF, "password": new_password, "csrf_token": token}
    )
    assert refused.status_code == 401  # deactivated


# --- the queue and claiming ----------------------------------------------------------------------


def _rows(html: str, testid: str = "queue-row") -> list[int]:
    return [int(i) for i in re.findall(rf'data-testid="{testid}" data-handoff-id="(\d+)"', html)]


def test_the_queue_shows_waiting_conversations_by_department_newest_activity_first(app, client):
    first = _handoff(client, "111", "tourism")
    second = _handoff(client, "222", "tourism")
    other = _handoff(client, "333", "open_data")
    browser, _ = _signed_in(app)
    page = browser.get("/console/queue").text
    tourism = page[page.index('data-testid="queue-tourism"') : page.index('data-testid="queue-civil_affairs"')]
    assert _rows(tourism) == [second["id"], first["id"]]
    assert _rows(page) == [second["id"], first["id"], other["id"]]
    # The first citizen writes again: their conversation moves up.
    _message(client, "111", "아직 기다리고 있어요", "111-2")
    page = browser.get("/console/queue").text
    assert _rows(page)[:2] == [first["id"], second["id"]]
    assert 'data-testid="waiting-time"' in page and 'data-testid="claim-button"' in page


def test_a_claim_from_the_console_opens_the_conversation_and_a_second_claim_is_told_who_has_it(app, client):
    handoff = _handoff(client)
    staff, staff_csrf = _signed_in(app, STAFF)
    other, other_csrf = _signed_in(app, OTHER)
    claimed = staff.post(
        f"/console/handoffs/{handoff['id']}/claim", data={"csrf_token": staff_csrf}, follow_redirects=False
    )
    assert claimed.headers["location"] == f"/console/conversations/{claimed.headers['location'].rsplit('/', 1)[1]}"
    late = other.post(f"/console/handoffs/{handoff['id']}/claim", data={"csrf_token": other_csrf})
    assert late.status_code == 409
    assert "이미 이담당 님이 맡은 대화예요." in late.text
    assert _rows(staff.get("/console/queue").text, "my-row") == [handoff["id"]]
    assert _rows(other.get("/console/queue").text) == []


# --- one conversation ----------------------------------------------------------------------------


def _conversation_id(app, user: str = "111") -> int:
    with app.state.sessionmaker() as session:
        return session.scalar(select(Conversation.id).where(Conversation.channel_user_id == user))


def test_the_conversation_view_masks_names_and_phones_until_shown_for_a_reason_which_is_audited(app, client):
    run = _future_run(client)
    booked = _book(client, run["id"], headers=SERVICE_HEADERS, channel="telegram", channel_user_id="111")
    assert booked.status_code == 201
    _handoff(client)
    _message(client, "111", "제 번호는 010-9876-5432예요", "111-2")
    conversation_id = _conversation_id(app)
    browser, csrf = _signed_in(app)

    page = browser.get(f"/console/conversations/{conversation_id}").text
    assert "김*수" in page and "010-****-5678" in page and "010-****-5432" in page
    assert "김민수" not in page and "9876" not in page and "01012345678" not in page
    assert 'data-testid="transcript"' in page and "텔레그램" in page and "한국어" in page
    assert booked.json()["code"] in page

    no_reason = browser.post(
        f"/console/conversations/{conversation_id}/reveal", data={"csrf_token": csrf, "reason": " "}
    )
    assert no_reason.status_code == 422
    shown = browser.post(
        f"/console/conversations/{conversation_id}/reveal", data={"csrf_token": csrf, "reason": "예약 변경 요청 확인"}
    )
    assert shown.status_code == 200
    assert "김민수" in shown.text and "01012345678" in shown.text and "010-9876-5432" in shown.text
    browser.post(f"/console/conversations/{conversation_id}/reveal", data={"csrf_token": csrf, "reason": "재확인"})
    # A reload masks again.
    assert "김민수" not in browser.get(f"/console/conversations/{conversation_id}").text

    with app.state.sessionmaker() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        who = session.scalar(select(StaffUser.id).where(StaffUser.email == STAFF))
    subject = f"conversation:{conversation_id}"
    assert [(e.user_id, e.action, e.subject, e.reason) for e in entries] == [
        (who, "view_conversation", subject, ""),
        (who, "reveal_conversation", subject, "예약 변경 요청 확인"),
        (who, "reveal_conversation", subject, "재확인"),
        (who, "view_conversation", subject, ""),
    ]
    assert all(e.at is not None for e in entries)


def test_a_console_reply_goes_out_through_the_outbox_and_joins_the_transcript(app, client):
    handoff = _handoff(client)
    conversation_id = _conversation_id(app)
    browser, csrf = _signed_in(app)
    not_yet = browser.post(
        f"/console/conversations/{conversation_id}/reply", data={"csrf_token": csrf, "text": "안녕하세요"}
    )
    assert not_yet.status_code == 403  # claim first
    browser.post(f"/console/handoffs/{handoff['id']}/claim", data={"csrf_token": csrf})
    page = browser.get(f"/console/conversations/{conversation_id}").text
    for testid in ("reply-box", "send-button", "close-form", "transfer-form", "reveal-button"):
        assert f'data-testid="{testid}"' in page
    sent = browser.post(
        f"/console/conversations/{conversation_id}/reply",
        data={"csrf_token": csrf, "text": "안녕하세요, 파주시청 관광과입니다."},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    with app.state.sessionmaker() as session:
        # After the claim's "connected" message to the citizen.
        [claimed, outbox] = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert claimed.kind == "handoff_claimed"
        assert (outbox.kind, outbox.message.text) == ("staff_reply", "안녕하세요, 파주시청 관광과입니다.")
    page = browser.get(f"/console/conversations/{conversation_id}").text
    assert "직원 이담당" in page and "안녕하세요, 파주시청 관광과입니다." in page


def test_canned_replies_are_kept_by_admins_and_offered_in_the_citizens_language(app, client):
    admin, admin_csrf = _signed_in(app, ADMIN)
    staff, csrf = _signed_in(app, STAFF)
    canned = {"title": "인사", "text_ko": "안녕하세요, 파주시입니다.", "text_en": "Hello, this is Paju City."}
    assert staff.post("/console/admin/canned", data=canned | {"csrf_token": csrf}).status_code == 403
    assert (
        admin.post(
            "/console/admin/canned", data=canned | {"csrf_token": admin_csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    for user, language, expected in (
        ("en-user", "en", "Hello, this is Paju City."),
        ("ko-user", "ko", "안녕하세요, 파주시입니다."),
    ):
        handoff = _handoff(client, user, language=language)
        staff.post(f"/console/handoffs/{handoff['id']}/claim", data={"csrf_token": csrf})
        page = staff.get(f"/console/conversations/{_conversation_id(app, user)}").text
        assert f'data-testid="canned-reply" data-canned-text="{expected}"' in page
    with app.state.sessionmaker() as session:
        canned_id = handoffs.canned_replies(session)[0].id
    admin.post(f"/console/admin/canned/{canned_id}/delete", data={"csrf_token": admin_csrf})
    assert 'data-testid="canned-row"' not in admin.get("/console/admin/canned").text


def test_closing_in_the_console_returns_the_citizen_to_the_assistant_in_their_language(app, client):
    handoff = _handoff(client, "en-user", language="en")
    browser, csrf = _signed_in(app)
    browser.post(f"/console/handoffs/{handoff['id']}/claim", data={"csrf_token": csrf})
    empty = browser.post(f"/console/handoffs/{handoff['id']}/close", data={"csrf_token": csrf, "outcome": ""})
    assert empty.status_code == 422
    closed = browser.post(
        f"/console/handoffs/{handoff['id']}/close",
        data={"csrf_token": csrf, "outcome": "답변 완료"},
        follow_redirects=False,
    )
    # The staff member stays on the conversation they closed, and the page confirms it.
    assert closed.headers["location"] == f"/console/conversations/{_conversation_id(app, 'en-user')}?done=closed"
    with app.state.sessionmaker() as session:
        conversation = session.get(Conversation, _conversation_id(app, "en-user"))
        assert (conversation.mode, conversation.bot_reset_pending) == ("bot", True)
        [outbox] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "handoff_closed")).all()
        assert "The assistant is back" in outbox.message.text
        assert session.get(Handoff, handoff["id"]).outcome == "답변 완료"


def test_a_transfer_in_the_console_puts_the_conversation_in_another_departments_queue(app, client):
    handoff = _handoff(client, department="civil_affairs")
    browser, csrf = _signed_in(app)
    browser.post(f"/console/handoffs/{handoff['id']}/claim", data={"csrf_token": csrf})
    bad = browser.post(f"/console/handoffs/{handoff['id']}/transfer", data={"csrf_token": csrf, "department": "police"})
    assert bad.status_code == 422
    browser.post(f"/console/handoffs/{handoff['id']}/transfer", data={"csrf_token": csrf, "department": "tourism"})
    page = browser.get("/console/queue").text
    tourism = page[page.index('data-testid="queue-tourism"') :]
    assert _rows(tourism) == [handoff["id"]]
    assert _handoff_row(app, handoff["id"]).claimed_by_id is None


def test_staff_find_a_citizen_who_talked_to_the_bot_and_write_first(app, client):
    _message(client, "98765", "DMZ 투어 예약했어요", "98765-1")
    with app.state.sessionmaker() as session:
        staff_id = session.scalar(select(StaffUser.id).where(StaffUser.email == STAFF))
        admin = session.scalar(select(StaffUser).where(StaffUser.email == ADMIN))
        set_permissions(session, admin, staff_id, [TRANSCRIPTS_READ])
    browser, csrf = _signed_in(app)
    conversation_id = _conversation_id(app, "98765")
    found = browser.get("/console/conversations?q=telegram:9876").text
    # The row names the conversation; the messenger id itself is shown masked.
    assert f'data-conversation-id="{conversation_id}"' in found and "98765" not in found
    assert 'data-testid="conversation-row"' not in browser.get("/console/conversations?q=nobody").text
    page = browser.get(f"/console/conversations/{conversation_id}").text
    assert 'data-testid="start-form"' in page
    started = browser.post(
        f"/console/conversations/{conversation_id}/start",
        data={"csrf_token": csrf, "text": "예약 관련해 연락드렸어요.", "department": "tourism"},
        follow_redirects=False,
    )
    assert started.status_code == 303
    assert _message(client, "98765", "네, 말씀하세요", "98765-2").json()["mode"] == "human"
    page = browser.get(f"/console/conversations/{conversation_id}").text
    assert "예약 관련해 연락드렸어요." in page and "네, 말씀하세요" in page and 'data-testid="reply-box"' in page


# --- live updates --------------------------------------------------------------------------------


def test_the_live_stream_sends_the_citizens_new_messages_and_status_changes(database_url):
    settings = Settings(
        database_url=database_url,
        service_token=SERVICE_TOKEN,
        console_events_poll_seconds=0.1,
        console_events_max_seconds=1.5,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.sessionmaker() as session:
            create_user(session, STAFF, "이담당", PASSWORD)
        handoff = _handoff(client)
        conversation_id = _conversation_id(app)
        browser, _ = _signed_in(app)
        page = browser.get(f"/console/conversations/{conversation_id}").text
        last_id = int(re.search(r'data-last-id="(\d+)"', page).group(1))

        def write_later():
            time.sleep(0.5)
            _message(client, "111", "아직 계신가요? 010-5555-1234", "111-2")

        writer = threading.Thread(target=write_later)
        writer.start()
        stream = browser.get(f"/console/conversations/{conversation_id}/events?after={last_id}")
        writer.join()
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = [e for e in stream.text.split("\n\n") if e.startswith(("id:", "event:"))]
        assert "event: handoff" in events[0] and '"status": "waiting"' in events[0]
        [new] = [e for e in events if e.startswith("id:")]
        assert "아직 계신가요? 010-****-1234" in new  # masked here too
        assert "사람이랑 이야기하고 싶어요" not in stream.text  # only what came after

        # Reconnecting with Last-Event-ID resumes after what the browser has.
        new_id = int(new.split("\n")[0].removeprefix("id: "))
        resumed = browser.get(
            f"/console/conversations/{conversation_id}/events?after={last_id}", headers={"Last-Event-ID": str(new_id)}
        )
        assert "아직 계신가요" not in resumed.text
        assert browser.get("/console/conversations/999/events").status_code == 404
        assert _handoff_row(app, handoff["id"]).status == "waiting"
    app.state.engine.dispose()
