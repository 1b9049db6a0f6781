"""The department router: a new handoff goes where the conversation's topic says, and staff's one-click corrections
teach it where similar conversations belong."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.conversations import routing
from api.conversations.models import DepartmentCorrection, Handoff
from api.staff.service import create_user
from tests.api.conftest import SERVICE_HEADERS

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _asks(client, user: str, *texts: str, guess: str | None = None, button: str | None = None) -> dict:
    """The citizen writes `texts` (and presses an offered `button`), then the assistant asks for a person."""
    for number, text in enumerate(texts):
        body = {"channel": "web", "channel_user_id": user, "channel_message_id": f"{user}-{number}", "text": text}
        assert client.post("/api/conversations/messages", json=body, headers=SERVICE_HEADERS).status_code == 201
    if button:
        offer = {"channel": "web", "channel_user_id": user, "channel_message_id": f"{user}-b", "text": "예약"}
        first = client.post("/api/conversations/turns", json=offer, headers=SERVICE_HEADERS).json()
        client.post(
            f"/api/conversations/turns/{first['message_id']}/end",
            json={"replies": [{"text": "코스를 고르세요", "buttons": [{"title": "코스", "payload": button}]}]},
            headers=SERVICE_HEADERS,
        )
        pressed = {
            "channel": "web",
            "channel_user_id": user,
            "channel_message_id": f"{user}-p",
            "payload": {"button": button},
        }
        client.post("/api/conversations/messages", json=pressed, headers=SERVICE_HEADERS)
    body = {"channel": "web", "channel_user_id": user, "department": guess}
    response = client.post("/api/conversations/handoffs", json=body, headers=SERVICE_HEADERS)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_dmz_group_booking_question_goes_to_tourism_even_when_the_assistant_guessed_open_data(client):
    # What happened: the assistant's newest understood intent was an open-data question.
    asked = _asks(client, "dmz", "DMZ 단체 예약하고 싶어요. 30명인데 가능한가요?", guess="open_data")
    assert asked["department"] == "tourism"


@pytest.mark.parametrize(
    ("texts", "guess", "expected"),
    [
        (["작년 DMZ 외국인 관광객 수 통계 알려줘"], None, "open_data"),
        (["How many foreign visitors came to the DMZ? I need the dataset"], None, "open_data"),
        (["집 앞 가로등이 고장났어요 신고하려고요"], None, "civil_affairs"),
        (["공인알림이 안 열려요"], "tourism", "civil_affairs"),
        (["사람이랑 이야기하고 싶어요"], "open_data", "open_data"),  # no topic words: the assistant's guess
        (["사람이랑 이야기하고 싶어요"], None, "civil_affairs"),  # nothing at all: the default
        (["I'd like to book a group tour"], None, "tourism"),
    ],
)
def test_a_handoff_goes_to_the_department_its_words_are_about(client, texts, guess, expected):
    assert _asks(client, "u", *texts, guess=guess)["department"] == expected


def test_the_buttons_a_citizen_pressed_count_for_their_topic(client):
    asked = _asks(client, "b", "이거 어떻게 하나요", button='/book_tour{"tour_id":1}')
    assert asked["department"] == "tourism"


def test_what_was_routed_is_kept_on_the_handoff_without_personal_data(client):
    asked = _asks(client, "p", "DMZ 예약 문의, 제 번호는 010-1234-5678 이에요")
    with client.app.state.sessionmaker() as session:
        routed = session.get(Handoff, asked["id"]).routed_text
    assert "DMZ 예약 문의" in routed and "5678" not in routed and "1234" not in routed


def _staff_browser(client) -> tuple[TestClient, str]:
    with client.app.state.sessionmaker() as session:
        create_user(session, "data@paju.go.kr", "정데이터", PASSWORD)
    browser = TestClient(client.app)
    page = browser.get("/console/sign-in")
    browser.post(
        "/console/sign-in",
        data={"email": "data@paju.go.kr", "password": PASSWORD, "csrf_token": CSRF.search(page.text).group(1)},
    )
    return browser, CSRF.search(browser.get("/console/queue").text).group(1)


def _correct(client, browser, csrf, handoff: dict, department: str) -> None:
    """One click on the conversation page: the button of the right department."""
    with client.app.state.sessionmaker() as session:
        conversation_id = session.get(Handoff, handoff["id"]).conversation_id
    page = browser.get(f"/console/conversations/{conversation_id}").text
    offered = re.findall(r'data-testid="correct-department" data-department="([a-z_]+)"', page)
    assert department in offered and handoff["department"] not in offered
    response = browser.post(
        f"/console/handoffs/{handoff['id']}/transfer",
        data={"csrf_token": csrf, "department": department},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_staff_corrections_are_kept_and_route_similar_conversations_where_staff_sent_them(client):
    browser, csrf = _staff_browser(client)
    similar = "임진각 단체 방문 현황 궁금해요"
    # Before anyone taught it, the words say tourism.
    assert _asks(client, "before", similar)["department"] == "tourism"

    for user, text in (
        ("c1", "임진각 단체 방문 현황 알려주세요 010-2222-3333"),
        ("c2", "도라산 전망대 단체 방문 현황이 궁금해요"),
    ):
        handoff = _asks(client, user, text)
        assert handoff["department"] == "tourism"
        _correct(client, browser, csrf, handoff, "open_data")

    with client.app.state.sessionmaker() as session:
        corrections = session.scalars(select(DepartmentCorrection).order_by(DepartmentCorrection.id)).all()
        assert [(c.from_department, c.to_department) for c in corrections] == [("tourism", "open_data")] * 2
        assert all(c.staff_id is not None and c.conversation_id and c.handoff_id for c in corrections)
        assert corrections[0].text.startswith("임진각 단체 방문 현황 알려주세요") and "3333" not in corrections[0].text
        # Now a similar text goes where staff sent those; a booking question still goes to tourism.
        learned = routing.route_text(session, similar)
        assert learned.department == "open_data", learned.scores
    assert _asks(client, "after", similar)["department"] == "open_data"
    assert _asks(client, "booking", "DMZ 단체 예약하고 싶어요", guess="open_data")["department"] == "tourism"


def test_moving_a_handoff_back_where_it_was_or_to_its_own_department_keeps_no_signal(client):
    browser, csrf = _staff_browser(client)
    handoff = _asks(client, "same", "DMZ 투어 예약")
    response = browser.post(
        f"/console/handoffs/{handoff['id']}/transfer",
        data={"csrf_token": csrf, "department": "tourism"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with client.app.state.sessionmaker() as session:
        assert session.scalars(select(DepartmentCorrection)).all() == []


def test_an_unknown_department_is_refused_with_a_clear_message(client):
    browser, csrf = _staff_browser(client)
    handoff = _asks(client, "bad", "DMZ 투어 예약")
    response = browser.post(
        f"/console/handoffs/{handoff['id']}/transfer", data={"csrf_token": csrf, "department": "nowhere"}
    )
    assert response.status_code == 422 and "알 수 없는 부서예요" in response.text
    with client.app.state.sessionmaker() as session:
        assert session.scalars(select(DepartmentCorrection)).all() == []
