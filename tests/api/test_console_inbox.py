"""The staff inbox over HTTP (issue 21): confirmations that keep staff where they were, queue rows that say who and
what and update live, assigning to a colleague, departments, private notes, labels, filters, search and paging."""

import re
from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from api.conversations.models import ConversationNote, Handoff, Message, OutboxMessage
from api.identity.models import PhoneLink
from api.staff.models import AuditEntry, StaffUser
from api.staff.permissions import TRANSCRIPTS_READ
from api.staff.service import set_active, set_permissions
from common.clock import utcnow
from tests.api.conftest import SERVICE_HEADERS
from tests.api.test_console import ADMIN, OTHER, STAFF, _conversation_id, _handoff, _message, _signed_in
from tests.api.test_console import app as app  # the fixture with the staff accounts
from tests.api.test_tours_api import _book, _future_run


def _user(app, email: str) -> StaffUser:
    with app.state.sessionmaker() as session:
        return session.scalar(select(StaffUser).where(StaffUser.email == email))


def _may_read_transcripts(app, email: str = STAFF) -> None:
    with app.state.sessionmaker() as session:
        admin = session.scalar(select(StaffUser).where(StaffUser.email == ADMIN))
        set_permissions(session, admin, _user(app, email).id, [TRANSCRIPTS_READ])


def _rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-testid="conversation-row" data-conversation-id="(\d+)"', html)]


# --- 1. confirmations, and staying where one was ------------------------------------------------------------


def test_sending_and_closing_keep_staff_on_the_conversation_with_a_confirmation(app, client):
    handoff = _handoff(client)
    conversation_id = _conversation_id(app)
    browser, csrf = _signed_in(app)
    claimed = browser.post(
        f"/console/handoffs/{handoff['id']}/claim", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert claimed.headers["location"] == f"/console/conversations/{conversation_id}?done=claimed"

    sent = browser.post(
        f"/console/conversations/{conversation_id}/reply",
        data={"csrf_token": csrf, "text": "확인해 드릴게요."},
        follow_redirects=False,
    )
    assert sent.headers["location"] == f"/console/conversations/{conversation_id}?done=sent#reply-form"
    page = browser.get(sent.headers["location"]).text
    assert 'data-testid="flash"' in page and "메시지를 보냈어요" in page

    closed = browser.post(
        f"/console/handoffs/{handoff['id']}/close",
        data={"csrf_token": csrf, "outcome": "안내 완료"},
        follow_redirects=True,
    )
    assert str(closed.url).endswith(f"/console/conversations/{conversation_id}?done=closed")
    assert "상담을 끝냈어요" in closed.text
    # Only the confirmations the page knows are shown: a made-up one is no text at all.
    forged = browser.get(f"/console/conversations/{conversation_id}?done=<b>hi</b>").text
    assert 'data-testid="flash"' not in forged and "<b>hi</b>" not in forged


# --- 2. queue rows say who and what, and update live ------------------------------------------------------


def test_queue_rows_show_a_masked_contact_the_last_words_waiting_time_channel_and_language(app, client):
    run = _future_run(client)
    assert (
        _book(client, run["id"], headers=SERVICE_HEADERS, channel="telegram", channel_user_id="111").status_code == 201
    )
    _handoff(client, "111", department="tourism")
    _message(client, "111", "단체 예약 문의예요. 연락처 010-2222-3333", "111-2")
    _handoff(client, "en-1", department="tourism", language="en")
    browser, _ = _signed_in(app)

    page = browser.get("/console/queue").text
    assert 'http-equiv="refresh"' not in page  # no full reload any more: the page polls
    assert re.search(r'data-testid="waiting-time">방금<', page)  # asked a moment ago
    with time_machine.travel(utcnow() + timedelta(minutes=3), tick=False):
        page = browser.get("/console/queue").text
    tourism = page[page.index('data-testid="queue-tourism"') :]
    assert "김*수 · 010-****-5678" in tourism  # the booker's name and number, masked
    assert "단체 예약 문의예요. 연락처 010-****-3333" in tourism  # the last words, phone masked
    assert "김민수" not in page and "01012345678" not in page and "2222" not in page
    assert "텔레그램" in tourism and "한국어" in tourism and "영어" in tourism
    assert len(re.findall(r'data-testid="waiting-time">3분<', tourism)) == 2  # both have waited three minutes
    # Someone with no record the city keeps is shown by a masked messenger id.
    assert "en-1" not in re.sub(r'data-[a-z-]+="[^"]*"', "", tourism)


def test_the_live_queue_answer_counts_the_waiting_and_redraws_the_rows(app, client):
    browser, csrf = _signed_in(app)
    empty = browser.get("/console/queue/live")
    assert empty.status_code == 200 and empty.headers["cache-control"] == "no-store"
    assert (empty.json()["waiting"], empty.json()["newest"]) == (0, 0)
    assert "기다리는 시민이 없어요" in empty.json()["html"]

    first = _handoff(client, "111")
    second = _handoff(client, "222", department="tourism")
    live = browser.get("/console/queue/live").json()
    assert (live["waiting"], live["mine"], live["newest"]) == (2, 0, second["id"])
    assert f'data-handoff-id="{first["id"]}"' in live["html"] and "사람이랑 이야기하고 싶어요" in live["html"]

    browser.post(f"/console/handoffs/{first['id']}/claim", data={"csrf_token": csrf})
    assert (
        browser.get("/console/queue/live").json()["waiting"],
        browser.get("/console/queue/live").json()["mine"],
    ) == (
        1,
        1,
    )
    # Signed out, the answer is the way to the sign-in page, never a 500 or someone's data.
    stranger = browser.__class__(app)
    refused = stranger.get("/console/queue/live", follow_redirects=False)
    assert refused.status_code in (303, 307) and "/console/sign-in" in refused.headers["location"]


# --- 3. the daily tools ------------------------------------------------------------------------------------


def test_a_waiting_conversation_is_assigned_to_a_colleague_who_finds_it_on_their_desk(app, client):
    handoff = _handoff(client)
    conversation_id = _conversation_id(app)
    other = _user(app, OTHER)
    browser, csrf = _signed_in(app)
    page = browser.get(f"/console/conversations/{conversation_id}").text
    assert 'data-testid="assign-form"' in page and "박직원" in page

    assigned = browser.post(
        f"/console/handoffs/{handoff['id']}/assign",
        data={"csrf_token": csrf, "assignee_id": str(other.id)},
        follow_redirects=False,
    )
    assert assigned.headers["location"] == f"/console/conversations/{conversation_id}?done=assigned"
    with app.state.sessionmaker() as session:
        row = session.get(Handoff, handoff["id"])
        assert (row.status, row.claimed_by_id) == ("claimed", other.id)
        # The citizen learns a person is there, as with a claim.
        kinds = session.scalars(select(OutboxMessage.kind).where(OutboxMessage.conversation_id == conversation_id))
        assert list(kinds) == ["handoff_claimed"]
        assert session.scalar(select(func.count()).where(AuditEntry.action == "assign_conversation")) == 1

    colleague, _ = _signed_in(app, OTHER)
    assert f'data-conversation-id="{conversation_id}"' in colleague.get("/console/queue").text.split("queue-tourism")[0]
    # The first staff member no longer holds it: they cannot give it away again.
    again = browser.post(
        f"/console/handoffs/{handoff['id']}/assign", data={"csrf_token": csrf, "assignee_id": str(_user(app, ADMIN).id)}
    )
    assert again.status_code == 403 and "박직원 님이 맡은 대화예요" in again.text


def test_a_deactivated_colleague_cannot_be_assigned_and_cannot_sign_in(app, client):
    handoff = _handoff(client)
    other = _user(app, OTHER)
    colleague, _ = _signed_in(app, OTHER)
    with app.state.sessionmaker() as session:
        set_active(session, session.scalar(select(StaffUser).where(StaffUser.email == ADMIN)), other.id, False)
    # Their open session ended with the account.
    assert colleague.get("/console/queue", follow_redirects=False).status_code in (303, 307)
    browser, csrf = _signed_in(app)
    refused = browser.post(
        f"/console/handoffs/{handoff['id']}/assign", data={"csrf_token": csrf, "assignee_id": str(other.id)}
    )
    assert refused.status_code == 422 and "쓰지 않는 계정" in refused.text
    assert 'value="' + str(other.id) + '"' not in browser.get(f"/console/conversations/{_conversation_id(app)}").text
    bad = browser.post(f"/console/handoffs/{handoff['id']}/assign", data={"csrf_token": csrf, "assignee_id": "x1"})
    assert bad.status_code == 422


def test_admins_give_staff_a_department_whose_queue_is_marked_as_theirs(app, client):
    admin, csrf = _signed_in(app, ADMIN)
    staff = _user(app, STAFF)
    wrong = admin.post(f"/console/admin/users/{staff.id}/department", data={"csrf_token": csrf, "department": "police"})
    assert wrong.status_code == 422
    admin.post(f"/console/admin/users/{staff.id}/department", data={"csrf_token": csrf, "department": "open_data"})
    assert _user(app, STAFF).department == "open_data"
    users_page = admin.get("/console/admin/users").text
    assert re.search(r'<option value="open_data" selected>공공데이터</option>', users_page)

    browser, _ = _signed_in(app)
    page = browser.get("/console/queue").text
    assert re.search(r'class="card own" data-testid="queue-open_data"', page)
    assert 'class="card own" data-testid="queue-tourism"' not in page
    # Their department's queue comes first, before the other departments'.
    assert page.index('data-testid="queue-open_data"') < page.index('data-testid="queue-tourism"')


def test_a_private_note_is_kept_for_colleagues_and_never_sent_to_the_citizen(app, client):
    handoff = _handoff(client)
    conversation_id = _conversation_id(app)
    browser, csrf = _signed_in(app)
    browser.post(f"/console/handoffs/{handoff['id']}/claim", data={"csrf_token": csrf})
    with app.state.sessionmaker() as session:
        before = session.scalar(select(func.count()).select_from(Message))
    empty = browser.post(f"/console/conversations/{conversation_id}/notes", data={"csrf_token": csrf, "text": "  "})
    assert empty.status_code == 422
    added = browser.post(
        f"/console/conversations/{conversation_id}/notes",
        data={"csrf_token": csrf, "text": "단체 예약은 관광과 김주무관에게 확인 중"},
        follow_redirects=True,
    )
    assert "메모를 남겼어요" in added.text and "단체 예약은 관광과 김주무관에게 확인 중" in added.text
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(ConversationNote)) == 1
        # Nothing entered the transcript or the outbox besides the claim's own message.
        assert session.scalar(select(func.count()).select_from(Message)) == before
        kinds = list(session.scalars(select(OutboxMessage.kind)))
        assert kinds == ["handoff_claimed"]
    colleague, _ = _signed_in(app, OTHER)
    _may_read_transcripts(app, OTHER)
    assert "단체 예약은 관광과 김주무관에게 확인 중" in colleague.get(f"/console/conversations/{conversation_id}").text


def test_labels_filters_and_search_by_words_and_by_a_phones_last_digits(app, client):
    _may_read_transcripts(app)
    run = _future_run(client)
    _book(client, run["id"], headers=SERVICE_HEADERS, channel="telegram", channel_user_id="111", phone="010-5555-7788")
    tourism = _handoff(client, "111", department="tourism")
    _handoff(client, "222", department="civil_affairs")
    _message(client, "333", "주차장 어디예요", "333-1")
    ids = {user: _conversation_id(app, user) for user in ("111", "222", "333")}
    with app.state.sessionmaker() as session:
        session.add(PhoneLink(phone="01099994321", conversation_id=ids["333"]))
        session.commit()
    browser, csrf = _signed_in(app)

    bad = browser.post(f"/console/conversations/{ids['111']}/labels", data={"csrf_token": csrf, "label": "<script>"})
    assert bad.status_code == 422
    labelled = browser.post(
        f"/console/conversations/{ids['111']}/labels",
        data={"csrf_token": csrf, "label": " 단체예약 "},
        follow_redirects=True,
    )
    assert "라벨을 붙였어요" in labelled.text and 'data-testid="label">단체예약' in labelled.text

    assert _rows(browser.get("/console/conversations?label=단체예약").text) == [ids["111"]]
    assert _rows(browser.get("/console/conversations?department=tourism").text) == [ids["111"]]
    assert set(_rows(browser.get("/console/conversations?status=waiting").text)) == {ids["111"], ids["222"]}
    assert _rows(browser.get("/console/conversations?status=none").text) == [ids["333"]]
    assert set(_rows(browser.get("/console/conversations?channel=telegram").text)) == set(ids.values())
    assert _rows(browser.get("/console/conversations?channel=kakao").text) == []
    browser.post(f"/console/handoffs/{tourism['id']}/claim", data={"csrf_token": csrf})
    me = _user(app, STAFF).id
    assert _rows(browser.get(f"/console/conversations?assignee={me}").text) == [ids["111"]]

    assert _rows(browser.get("/console/conversations?q=주차장").text) == [ids["333"]]
    assert _rows(browser.get("/console/conversations?phone=7788").text) == [ids["111"]]  # a booking's number
    assert _rows(browser.get("/console/conversations?phone=4321").text) == [ids["333"]]  # a linked number
    found = browser.get("/console/conversations?phone=4321").text
    assert "010-****-4321" in found and "01099994321" not in found
    short = browser.get("/console/conversations?phone=12")
    assert short.status_code == 200 and "끝자리 4자리 이상" in short.text
    with app.state.sessionmaker() as session:
        searches = session.scalars(select(AuditEntry.subject).where(AuditEntry.action == "search_conversations"))
        assert "query:phone=4321" in list(searches)


def test_search_results_come_twenty_a_page_with_links_that_keep_the_filters(app, client):
    _may_read_transcripts(app)
    for number in range(23):
        _message(client, f"user{number}", "예약 문의", f"user{number}-1")
    browser, _ = _signed_in(app)
    first = browser.get("/console/conversations?q=예약").text
    assert len(_rows(first)) == 20 and "조건에 맞는 대화 23건" in first
    next_link = re.search(r'href="([^"]+)" data-testid="next-page"', first).group(1)
    assert "q=" in next_link and "page=2" in next_link
    second = browser.get("/console/conversations" + next_link.replace("&amp;", "&")).text
    assert len(_rows(second)) == 3 and not set(_rows(second)) & set(_rows(first))
    assert browser.get("/console/conversations?page=0").status_code == 422
    assert browser.get("/console/conversations?page=99").status_code == 200  # past the end: the last page


def test_canned_replies_are_seeded_once_and_listed_for_the_slash_shortcut(app, client):
    from api.conversations.seed import SEEDED_CANNED_REPLIES, seed_canned_replies

    with app.state.sessionmaker() as session:
        assert seed_canned_replies(session) == len(SEEDED_CANNED_REPLIES)
        session.commit()
        assert seed_canned_replies(session) == 0
    handoff = _handoff(client)
    browser, csrf = _signed_in(app)
    browser.post(f"/console/handoffs/{handoff['id']}/claim", data={"csrf_token": csrf})
    page = browser.get(f"/console/conversations/{_conversation_id(app)}").text
    options = re.findall(r'data-testid="canned-option" data-canned-text="([^"]+)" data-canned-title="([^"]+)"', page)
    assert len(options) == len(SEEDED_CANNED_REPLIES) and ("DMZ 단체 예약" in [t for _, t in options])
    assert '"/"를 입력하면 상용 문구를 고를 수 있어요' in page


# --- 5. no raw internals ------------------------------------------------------------------------------------


def test_the_menu_marks_the_current_page_and_statuses_are_words(app, client):
    browser, _ = _signed_in(app, ADMIN)
    queue = browser.get("/console/queue").text
    assert re.search(r'<a href="/console/queue" data-testid="nav-queue" aria-current="page">', queue)
    assert queue.count('aria-current="page"') == 1
    jobs = browser.get("/console/admin/jobs").text
    assert re.search(r'data-testid="nav-admin-jobs" aria-current="page"', jobs)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', jobs).group(1)
    browser.post("/console/admin/jobs/paper_mail/run", data={"csrf_token": csrf})
    result = re.search(r'data-testid="job-result">([^<]+)<', browser.get("/console/admin/jobs").text).group(1)
    assert result == "끝났어요. 할 일이 없었어요."


def test_a_notice_published_for_a_later_day_reads_as_scheduled(app, client):
    from api.notices.models import Notice

    with app.state.sessionmaker() as session:
        later = Notice(
            category="culture",
            department="관광과",
            title="다음 주 공지",
            body="본문",
            summary="요약",
            status="published",
            published_at=utcnow() + timedelta(days=3),
        )
        now = Notice(
            category="culture",
            department="관광과",
            title="오늘 공지",
            body="본문",
            summary="요약",
            status="published",
            published_at=utcnow() - timedelta(hours=1),
        )
        session.add_all([later, now])
        session.commit()
        later_id, now_id = later.id, now.id
    browser, _ = _signed_in(app)
    page = browser.get("/console/notices").text

    def state(notice_id: int) -> str:
        row = page[page.index(f'data-notice-id="{notice_id}"') :]
        return re.search(r'data-testid="notice-state">([^<]+)<', row).group(1)

    assert (state(later_id), state(now_id)) == ("게시 예정", "게시 중")
