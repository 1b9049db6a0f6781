"""A handoff as the citizen lives it: told their messages reach staff while they wait, told who joined, staff
messages marked as staff's, old buttons explained, asked how it went after closing; and the satisfaction figures."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.automation import reports
from api.conversations import handoffs, messaging
from api.conversations.models import Handoff
from api.core.settings import Settings
from api.main import create_app
from api.staff.service import create_user
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS, SERVICE_TOKEN
from tests.support.postgres import BOTH_DATABASES, migrated_database

PASSWORD = "correct horse battery"
BOOK = '/book_tour{"tour_id":1}'
CANCEL = "/cancel_handoff"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def staff(client):
    with client.app.state.sessionmaker() as session:
        return create_user(session, "tour@paju.go.kr", "이관광", PASSWORD)


def _begin(client, message_id, text="", payload=None, user="user-1", language=None):
    body = {"channel": "web", "channel_user_id": user, "channel_message_id": message_id, "text": text}
    if language:
        body["language"] = language
    response = client.post("/api/conversations/turns", json=body | {"payload": payload}, headers=SERVICE_HEADERS)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _end(client, turn, replies):
    response = client.post(
        f"/api/conversations/turns/{turn['message_id']}/end", json={"replies": replies}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 201, response.text


def _waiting(client, user="user-1", text="DMZ 투어 단체 예약 상담하고 싶어요", department=None, language=None):
    """The assistant showed a booking button, then the citizen asked for a person."""
    first = _begin(client, f"{user}-1", text, user=user, language=language)
    _end(client, first, [{"text": "예약할까요?", "buttons": [{"title": "예약", "payload": BOOK}]}])
    body = {"channel": "web", "channel_user_id": user, "department": department}
    asked = client.post("/api/conversations/handoffs", json=body, headers=SERVICE_HEADERS)
    assert asked.status_code == 201, asked.text
    return asked.json()


def _answer(turn) -> list[str]:
    assert turn["settled"], turn
    return [reply["text"] for reply in turn["answer"]]


def _claim_outbox(client) -> list[dict]:
    response = client.post("/api/outbox/claim", json={"channels": ["web"]}, headers=SERVICE_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


def _deliver_all(client) -> list[dict]:
    """Claims what is due and reports each delivered, as the gateway does; the messages in order."""
    sent = []
    while claimed := _claim_outbox(client):
        for message in claimed:
            client.post(f"/api/outbox/{message['id']}/result", json={"status": "delivered"}, headers=SERVICE_HEADERS)
        sent += claimed
    return sent


# --- while waiting ----------------------------------------------------------------------------------


def test_the_first_message_while_waiting_is_acknowledged_once_and_the_next_ones_go_quietly_to_staff(client):
    _waiting(client)
    first = _begin(client, "m-2", "언제쯤 연결되나요?")
    assert _answer(first) == ["접수됐어요, 담당자에게 전달했어요. 상담원이 연결되면 여기에서 알려 드릴게요."]
    assert _answer(_begin(client, "m-3", "단체는 30명이에요")) == []
    # Delivered again (the gateway retried), the first message gets the same answer and no second one.
    again = _begin(client, "m-2", "언제쯤 연결되나요?")
    assert again["duplicate"] and [r["text"] for r in again["replies"]] == _answer(first)


def test_a_transfer_to_another_queue_starts_a_new_wait_that_is_acknowledged_again(client, staff):
    handoff = _waiting(client)
    assert _answer(_begin(client, "m-2", "기다릴게요")) != []
    with client.app.state.sessionmaker() as session:
        handoffs.transfer(session, handoff["id"], staff, "open_data", now=datetime.now(SEOUL) + timedelta(seconds=1))
    assert _answer(_begin(client, "m-3", "다른 부서로 갔나요?")) == [messaging.waiting_ack("ko")]


def test_no_acknowledgement_once_a_person_has_the_conversation(client, staff):
    handoff = _waiting(client)
    with client.app.state.sessionmaker() as session:
        handoffs.claim(session, handoff["id"], staff)
    assert _answer(_begin(client, "m-2", "안녕하세요")) == []


def test_the_acknowledgement_is_in_english_for_an_english_speaker(client):
    _waiting(client, text="I want to book a group DMZ tour", language="en")
    assert _answer(_begin(client, "m-2", "Anyone there?", language="en")) == [
        "Received — I've passed it to the staff. You'll see it here when someone joins."
    ]


def test_a_button_from_before_the_handoff_says_why_it_does_nothing_now_and_never_reaches_the_assistant(client, staff):
    handoff = _waiting(client)
    pressed = _begin(client, "m-2", "예약", payload={"button": BOOK})
    assert (pressed["mode"], _answer(pressed)) == (
        "human",
        ["지금은 상담원과 대화 중이에요. 상담이 끝나면 다시 쓸 수 있어요."],
    )
    # Also once a person has it, and for a button the assistant never offered.
    with client.app.state.sessionmaker() as session:
        handoffs.claim(session, handoff["id"], staff)
    forged = _begin(client, "m-3", "", payload={"button": '/book_tour{"tour_id":99}'})
    assert _answer(forged) == [messaging.button_while_human("ko")]


def test_the_cancel_button_still_cancels_a_waiting_request(client):
    first = _begin(client, "c-1", "사람 불러 주세요")
    _end(client, first, [{"text": "연결할게요", "buttons": [{"title": "취소", "payload": CANCEL}]}])
    client.post(
        "/api/conversations/handoffs", json={"channel": "web", "channel_user_id": "user-1"}, headers=SERVICE_HEADERS
    )
    cancelled = _begin(client, "c-2", "취소", payload={"button": CANCEL})
    assert (cancelled["mode"], cancelled["settled"]) == ("bot", False)


# --- claimed: who the citizen talks to ------------------------------------------------------------


def test_a_claim_tells_the_citizen_which_departments_staff_joined_and_staff_messages_carry_their_mark(client, staff):
    handoff = _waiting(client, department="tourism")
    assert handoff["department"] == "tourism"
    with client.app.state.sessionmaker() as session:
        handoffs.claim(session, handoff["id"], staff)
        handoffs.claim(session, handoff["id"], staff)  # claiming again is no news to the citizen
        handoffs.reply(session, _conv(session), staff, "안녕하세요, 단체 예약 도와드릴게요.")
    sent = _deliver_all(client)
    assert [(m["text"], m["author"], m["author_name"]) for m in sent] == [
        ("관광과 상담원이 연결됐어요. 궁금한 점을 여기에 적어 주세요.", None, None),
        ("안녕하세요, 단체 예약 도와드릴게요.", "staff", "관광과 상담원"),
    ]
    # The transcript the web page reloads keeps the mark too.
    transcript = client.get("/api/conversations/web/user-1/messages", headers=SERVICE_HEADERS).json()
    assert transcript[-1]["payload"]["author"] == "staff"
    assert transcript[-1]["payload"]["author_name"] == "관광과 상담원"


def _conv(session) -> int:
    return session.scalar(select(Handoff.conversation_id).order_by(Handoff.id.desc()).limit(1))


def test_the_claimed_message_and_the_staff_mark_are_in_english_for_an_english_speaker(client, staff):
    handoff = _waiting(client, text="Can someone help me with open data?", department="open_data", language="en")
    with client.app.state.sessionmaker() as session:
        handoffs.claim(session, handoff["id"], staff)
        handoffs.reply(session, _conv(session), staff, "Hello, how can I help?")
    sent = _deliver_all(client)
    assert sent[0]["text"] == "Open data staff have joined the conversation. Write your question here."
    assert (sent[1]["author"], sent[1]["author_name"]) == ("staff", "Open data staff")


# --- after closing: how did it go ------------------------------------------------------------------


def _closed(client, staff, user="user-1"):
    handoff = _waiting(client, user=user)
    with client.app.state.sessionmaker() as session:
        handoffs.claim(session, handoff["id"], staff)
        handoffs.close(session, handoff["id"], staff, "단체 예약 안내")
    return handoff


def _question(client) -> dict:
    [question] = [m for m in _deliver_all(client) if (m["buttons"] or [{}])[0].get("payload", "").startswith("/rate")]
    return question


def test_closing_asks_the_citizen_how_satisfied_they_were_with_five_buttons(client, staff):
    _closed(client, staff)
    question = _question(client)
    assert question["text"].startswith("상담은 만족스러우셨나요?")
    assert [b["title"] for b in question["buttons"]] == ["1점", "2점", "3점", "4점", "5점"]


def test_a_tap_is_kept_once_thanked_and_never_reaches_the_assistant(client, staff):
    handoff = _closed(client, staff)
    buttons = _question(client)["buttons"]
    four = _begin(client, "r-1", "4점", payload={"button": buttons[3]["payload"]})
    assert _answer(four) == ["4점, 소중한 의견 고마워요. 더 나은 상담을 위해 쓸게요."]
    # A later tap (a second device, a change of mind) changes nothing.
    one = _begin(client, "r-2", "1점", payload={"button": buttons[0]["payload"]})
    assert _answer(one) == ["이미 4점으로 답해 주셨어요. 고마워요."]
    with client.app.state.sessionmaker() as session:
        assert session.get(Handoff, handoff["id"]).satisfaction == 4


def test_a_score_typed_right_after_the_question_counts_as_the_answer(client, staff):
    handoff = _closed(client, staff)
    _question(client)
    assert _answer(_begin(client, "r-1", "5")) == [messaging.satisfaction_thanks(5, "ko")]
    with client.app.state.sessionmaker() as session:
        assert session.get(Handoff, handoff["id"]).satisfaction == 5
    # Later a lone number is an ordinary message again (a party size, say).
    assert not _begin(client, "r-2", "3")["settled"]


def test_a_rating_button_never_offered_in_this_conversation_rates_nothing(client, staff):
    victim = _closed(client, staff, user="victim")
    _question(client)
    _begin(client, "x-1", "안녕", user="intruder")
    forged = _begin(client, "x-2", "", payload={"button": handoffs.rating_payload(victim["id"], 1)}, user="intruder")
    assert (forged["settled"], forged["button_offered"]) == (False, False)  # the gateway says the button is stale
    with client.app.state.sessionmaker() as session:
        assert session.get(Handoff, victim["id"]).satisfaction is None
        # Even called directly, another conversation's handoff or a score out of range is refused.
        intruder = session.get(Handoff, victim["id"]).conversation
        assert handoffs.rate(session, intruder, victim["id"] + 1, 3) == messaging.button_expired("ko")
        assert handoffs.rate(session, intruder, victim["id"], 9) == messaging.button_expired("ko")
        assert session.get(Handoff, victim["id"]).satisfaction is None


def test_satisfaction_figures_count_average_and_distribution_in_the_daily_report_and_dashboard(client, staff):
    with client.app.state.sessionmaker() as session:
        for user, score in (("a", 5), ("b", 4), ("c", 4)):
            handoff = _closed(client, staff, user=user)
            handoffs.rate(session, session.get(Handoff, handoff["id"]).conversation, handoff["id"], score)
        today = reports.seoul_date(datetime.now(SEOUL))
        figures = reports.daily_figures(session, today)["handoffs"]["satisfaction"]
        assert figures == {"count": 3, "average": 4.33, "distribution": {"1": 0, "2": 0, "3": 0, "4": 2, "5": 1}}
        assert reports.daily_figures(session, today - timedelta(days=1))["handoffs"]["satisfaction"]["count"] == 0
        text = reports.report_text(reports.daily_figures(session, today))
        assert "상담 만족도 4.3점 (응답 3건 · 5점 1, 4점 2)" in text
        reports.store_daily_report(session, today)
        session.commit()
    browser = _console(client.app)
    stored = browser.get(f"/console/reports/{today.isoformat()}").text
    assert 'data-testid="report-satisfaction" data-count="3"' in stored and "5점 1, 4점 2" in stored
    page = browser.get("/console/dashboard").text
    assert 'data-testid="dashboard-satisfaction" data-count="3" data-average="4.33"' in page
    assert "상담 만족도 4.3점" in page


def test_an_old_daily_report_without_satisfaction_still_reads():
    figures = {
        "date": date(2026, 11, 1).isoformat(),
        "bookings": {"count": 0, "seats": 0, "visitors": 0, "by_course": []},
        "cancellations": {"count": 0, "seats": 0},
        "handoffs": {"count": 0, "claimed": 0, "median_wait_seconds": None, "max_wait_seconds": None},
        "nlu": {"parsed": 0, "fallbacks": 0, "fallback_rate": None, "misunderstood": []},
    }
    assert "만족도" not in reports.report_text(figures)


def _console(app) -> TestClient:
    browser = TestClient(app)
    page = browser.get("/console/sign-in")
    browser.post(
        "/console/sign-in",
        data={"email": "tour@paju.go.kr", "password": PASSWORD, "csrf_token": CSRF.search(page.text).group(1)},
    )
    return browser


# --- at once ------------------------------------------------------------------------------------------


def _at_once(database_url: str) -> tuple[list[list[str]], list[list[str]]]:
    """Eight messages while waiting, and then eight taps of the satisfaction buttons, each eight at a time."""
    app = create_app(Settings(database_url=database_url, service_token=SERVICE_TOKEN))
    with TestClient(app) as client, ThreadPoolExecutor(max_workers=8) as pool:
        with app.state.sessionmaker() as session:
            staff = create_user(session, "tour@paju.go.kr", "이관광", PASSWORD)
        handoff = _waiting(client)
        acks = list(pool.map(lambda n: _answer(_begin(client, f"w-{n}", f"메시지 {n}")), range(8)))
        with app.state.sessionmaker() as session:
            handoffs.claim(session, handoff["id"], staff)
            handoffs.close(session, handoff["id"], staff, "안내 완료")
        buttons = _question(client)["buttons"]
        taps = list(
            pool.map(lambda n: _answer(_begin(client, f"t-{n}", "", {"button": buttons[n % 5]["payload"]})), range(8))
        )
    app.state.engine.dispose()
    return acks, taps


@pytest.mark.parametrize("kind", BOTH_DATABASES)
def test_of_messages_and_taps_arriving_at_once_one_is_acknowledged_and_one_score_kept(kind, tmp_path):
    database = migrated_database(kind, tmp_path)
    try:
        acks, taps = _at_once(next(database))
    finally:
        database.close()  # a PostgreSQL one is dropped
    assert sorted(len(answer) for answer in acks) == [0] * 7 + [1]
    thanked = [answer[0] for answer in taps if "고마워요" in answer[0] and "이미" not in answer[0]]
    assert len(thanked) == 1
