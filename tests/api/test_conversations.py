from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from api.conversations import handoffs, messaging
from api.conversations.models import Conversation, Handoff
from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from api.staff.service import create_user
from api.training.models import InboxItem
from common.button_keys import button_key
from tests.api.conftest import SERVICE_HEADERS, SERVICE_TOKEN
from tests.support.postgres import temporary_database


def _incoming(client, message_id="m-1", text="안녕하세요", user="user-1", channel="web"):
    return client.post(
        "/api/conversations/messages",
        json={"channel": channel, "channel_user_id": user, "channel_message_id": message_id, "text": text},
        headers=SERVICE_HEADERS,
    )


def _transcript(client, user="user-1", channel="web"):
    response = client.get(f"/api/conversations/{channel}/{user}/messages", headers=SERVICE_HEADERS)
    assert response.status_code == 200
    return response.json()


def test_an_incoming_message_is_recorded_with_channel_user_and_text(client):
    response = _incoming(client)
    assert response.status_code == 201
    body = response.json()
    assert body["duplicate"] is False
    assert body["mode"] == "bot"

    [message] = _transcript(client)
    assert message["direction"] == "in"
    assert message["text"] == "안녕하세요"
    assert message["channel_message_id"] == "m-1"
    assert message["created_at"].endswith("Z") or "+00:00" in message["created_at"]


def test_a_repeated_channel_message_id_is_stored_once_and_returns_the_first_answers(client):
    first = _incoming(client).json()
    client.post(
        f"/api/conversations/messages/{first['message_id']}/replies",
        json={
            "replies": [
                {
                    "text": "안녕하세요! 무엇을 도와드릴까요?",
                    "buttons": [{"title": "도움말", "payload": "/help"}],
                }
            ]
        },
        headers=SERVICE_HEADERS,
    )

    again = _incoming(client)
    assert again.status_code == 200
    body = again.json()
    assert body["duplicate"] is True
    assert body["message_id"] == first["message_id"]
    assert [r["text"] for r in body["replies"]] == ["안녕하세요! 무엇을 도와드릴까요?"]
    assert body["replies"][0]["payload"]["buttons"] == [{"title": "도움말", "payload": "/help"}]

    transcript = _transcript(client)
    assert [m["direction"] for m in transcript] == ["in", "out"]


def test_the_same_message_id_from_two_users_is_two_messages(client):
    assert _incoming(client, user="user-1").json()["duplicate"] is False
    assert _incoming(client, user="user-2").json()["duplicate"] is False
    assert len(_transcript(client, user="user-1")) == 1
    assert len(_transcript(client, user="user-2")) == 1


def test_replies_keep_their_order_after_the_message_they_answer(client):
    first = _incoming(client, "m-1", "안녕").json()
    client.post(
        f"/api/conversations/messages/{first['message_id']}/replies",
        json={"replies": [{"text": "하나"}, {"text": "둘"}, {"image": "https://example.org/map.png"}]},
        headers=SERVICE_HEADERS,
    )
    _incoming(client, "m-2", "고마워")
    transcript = _transcript(client)
    assert [m["text"] for m in transcript] == ["안녕", "하나", "둘", None, "고마워"]
    assert transcript[3]["payload"] == {"image": "https://example.org/map.png"}
    assert all(m["reply_to_id"] == first["message_id"] for m in transcript[1:4])


def test_service_routes_refuse_a_missing_or_wrong_token(client):
    body = {"channel": "web", "channel_user_id": "u-1", "text": "hi"}
    assert client.post("/api/conversations/messages", json=body).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.post("/api/conversations/messages", json=body, headers=wrong).status_code == 403
    assert _transcript_status(client) == 404


def _transcript_status(client):
    return client.get("/api/conversations/web/u-1/messages", headers=SERVICE_HEADERS).status_code


def test_service_routes_refuse_everything_when_no_token_is_configured(database_url):
    app = create_app(Settings(database_url=database_url, service_token=""))
    with TestClient(app) as client:
        response = client.post(
            "/api/conversations/messages",
            json={"channel": "web", "channel_user_id": "u-1", "text": "hi"},
            headers={"Authorization": "Bearer "},
        )
        assert response.status_code in (401, 403)
    app.state.engine.dispose()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "fax", "channel_user_id": "u-1", "text": "hi"}, "channel"),
        ({"channel": "web", "channel_user_id": "", "text": "hi"}, "channel_user_id"),
        ({"channel": "web", "channel_user_id": "u 1; drop", "text": "hi"}, "channel_user_id"),
        ({"channel": "web", "channel_user_id": "u-1", "text": "가" * 16_385}, "text"),
    ],
)
def test_bad_input_is_refused_with_422_and_records_nothing(client, body, field):
    response = client.post("/api/conversations/messages", json=body, headers=SERVICE_HEADERS)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])
    assert client.get("/api/conversations/web/u-1/messages", headers=SERVICE_HEADERS).status_code == 404


def test_replies_to_an_unknown_message_are_404_with_a_clear_detail(client):
    response = client.post(
        "/api/conversations/messages/999/replies", json={"replies": [{"text": "x"}]}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "incoming message 999 not found", "code": "not_found"}


def test_a_handoff_request_is_queued_once_and_tells_the_place_in_the_queue(client):
    _incoming(client, user="first")
    first = client.post(
        "/api/conversations/handoffs",
        json={"channel": "web", "channel_user_id": "first"},
        headers=SERVICE_HEADERS,
    ).json()
    second = client.post(
        "/api/conversations/handoffs",
        json={"channel": "web", "channel_user_id": "second"},
        headers=SERVICE_HEADERS,
    ).json()
    again = client.post(
        "/api/conversations/handoffs",
        json={"channel": "web", "channel_user_id": "first"},
        headers=SERVICE_HEADERS,
    ).json()
    assert (first["status"], first["waiting_ahead"]) == ("waiting", 0)
    assert second["waiting_ahead"] == 1
    assert again["id"] == first["id"]


def _record_concurrently(database_url: str) -> list[dict]:
    app = create_app(Settings(database_url=database_url, service_token=SERVICE_TOKEN))
    with TestClient(app) as client, ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: _incoming(client, "same-id").json(), range(16)))
        transcript = _transcript(client)
    app.state.engine.dispose()
    return results, transcript


def test_a_message_delivered_sixteen_times_at_once_is_stored_once_on_sqlite(database_url):
    results, transcript = _record_concurrently(database_url)
    assert sum(not r["duplicate"] for r in results) == 1
    assert len({r["message_id"] for r in results}) == 1
    assert len(transcript) == 1


@pytest.mark.postgres
def test_a_message_delivered_sixteen_times_at_once_is_stored_once_on_postgres():
    with temporary_database() as url:
        upgrade(url)
        results, transcript = _record_concurrently(url)
    assert sum(not r["duplicate"] for r in results) == 1
    assert len(transcript) == 1


def test_a_button_press_counts_only_if_the_assistant_offered_that_button(client):
    def press(message_id: str, payload: str) -> bool:
        return client.post(
            "/api/conversations/messages",
            json={
                "channel": "web",
                "channel_user_id": "user-1",
                "channel_message_id": message_id,
                "text": "도움말",
                "payload": {"button": payload},
            },
            headers=SERVICE_HEADERS,
        ).json()["button_offered"]

    assert press("b-1", "/help") is False
    first = _incoming(client, "m-1").json()
    client.post(
        f"/api/conversations/messages/{first['message_id']}/replies",
        json={"replies": [{"text": "메뉴", "buttons": [{"title": "도움말", "payload": "/help"}]}]},
        headers=SERVICE_HEADERS,
    )
    assert press("b-2", "/help") is True
    assert press("b-3", "/request_human") is False
    assert _incoming(client, "m-2").json()["button_offered"] is None


def test_a_long_button_pressed_by_its_short_key_is_resolved_from_the_buttons_offered(client):
    long_payload = '/inform{"tour_date":"2026-12-05","run_id":"123456","tour_option":"monorail"}'
    first = _incoming(client, "m-1").json()
    client.post(
        f"/api/conversations/messages/{first['message_id']}/replies",
        json={"replies": [{"text": "회차", "buttons": [{"title": "10:00", "payload": long_payload}]}]},
        headers=SERVICE_HEADERS,
    )

    def press(message_id: str, key: str) -> dict:
        return client.post(
            "/api/conversations/messages",
            json={
                "channel": "web",
                "channel_user_id": "user-1",
                "channel_message_id": message_id,
                "text": "10:00",
                "payload": {"button_key": key},
            },
            headers=SERVICE_HEADERS,
        ).json()

    pressed = press("b-1", button_key(long_payload))
    assert (pressed["button_offered"], pressed["button"]) == (True, long_payload)
    unknown = press("b-2", button_key('/inform{"run_id":"999999"}'))
    assert (unknown["button_offered"], unknown["button"]) == (False, None)
    # The transcript shows the payload itself, not the key.
    assert _transcript(client)[2]["payload"] == {"button": long_payload}


def test_the_language_a_citizen_chose_is_remembered_until_they_go_back_to_automatic(client):
    _incoming(client, "m-1")
    for choice, expected in (("en", "en"), (None, None)):
        response = client.put(
            "/api/conversations/web/user-1/language", json={"language": choice}, headers=SERVICE_HEADERS
        )
        assert response.status_code == 204
        assert _incoming(client, f"after-{choice}").json()["preferred_language"] == expected
    refused = client.put("/api/conversations/web/user-1/language", json={"language": "fr"}, headers=SERVICE_HEADERS)
    assert refused.status_code == 422


def test_a_message_without_words_keeps_the_conversations_language_and_only_a_new_one_takes_the_hint(client):
    def begin(message_id, user, **fields):
        body = {"channel": "web", "channel_user_id": user, "channel_message_id": message_id, "text": ""} | fields
        response = client.post("/api/conversations/turns", json=body, headers=SERVICE_HEADERS)
        assert response.status_code in (200, 201), response.text
        return response.json()

    assert begin("k-1", "korean", text="가로등이 고장났어요", language="ko")["language"] == "ko"
    # A location from a browser set to English: the citizen still writes Korean.
    assert begin("k-2", "korean", language_hint="en")["language"] == "ko"
    assert begin("e-1", "newcomer", language_hint="en")["language"] == "en"
    assert begin("e-2", "newcomer", text="안녕하세요", language="ko")["language"] == "ko"


# --- the gateway's turn: one call before the assistant, one after ------------------------------------

CANCEL = "/cancel_handoff"


def _begin(client, message_id, text="안녕하세요", payload=None, user="user-1"):
    body = {"channel": "web", "channel_user_id": user, "channel_message_id": message_id, "text": text}
    response = client.post("/api/conversations/turns", json=body | {"payload": payload}, headers=SERVICE_HEADERS)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _end(client, message_id, **body):
    response = client.post(f"/api/conversations/turns/{message_id}/end", json=body, headers=SERVICE_HEADERS)
    assert response.status_code == 201, response.text
    return response.json()


def _waiting_for_a_person(client, user="user-1"):
    """The assistant offered the cancel button with the news that a person was asked for."""
    first = _begin(client, "m-1", user=user)
    offer = {"text": "연결할게요", "buttons": [{"title": "취소", "payload": CANCEL}]}
    _end(client, first["message_id"], replies=[offer])
    asked = client.post(
        "/api/conversations/handoffs", json={"channel": "web", "channel_user_id": user}, headers=SERVICE_HEADERS
    )
    assert asked.status_code == 201, asked.text
    return asked.json()


def test_a_turn_on_a_message_while_a_person_has_the_conversation_leaves_it_answered_for_the_staff_inbox(client):
    _waiting_for_a_person(client)
    turn = _begin(client, "m-2", "직원분 계세요?")
    assert (turn["mode"], turn["duplicate"], turn["handoff_taken"], turn["settled"]) == ("human", False, False, True)
    # The first message of the wait is acknowledged; the acknowledgement is the message's recorded answer.
    assert [reply["text"] for reply in turn["answer"]] == [messaging.waiting_ack("ko")]
    assert [m["status"] for m in _transcript(client) if m["direction"] == "in"][-1] == "answered"
    again = _begin(client, "m-2", "직원분 계세요?")
    assert (again["duplicate"], [r["text"] for r in again["replies"]]) == (True, [messaging.waiting_ack("ko")])


def test_the_offered_cancel_button_brings_the_assistant_back_within_the_turns_first_call(client):
    handoff = _waiting_for_a_person(client)
    turn = _begin(client, "m-2", "취소", payload={"button": CANCEL})
    assert (turn["mode"], turn["reset_bot"], turn["button"], turn["handoff_taken"]) == ("bot", True, CANCEL, False)
    with client.app.state.sessionmaker() as session:
        assert session.get(Handoff, handoff["id"]).status == "cancelled"


def test_the_cancel_button_after_a_person_took_the_conversation_leaves_it_with_them(client):
    handoff = _waiting_for_a_person(client)
    with client.app.state.sessionmaker() as session:
        staff = create_user(session, "staff@paju.go.kr", "이담당", "correct horse battery staple", "staff")
        handoffs.claim(session, handoff["id"], staff)
    turn = _begin(client, "m-2", "취소", payload={"button": CANCEL})
    assert (turn["mode"], turn["handoff_taken"], turn["reset_bot"]) == ("human", True, False)
    assert _transcript(client)[-1]["status"] == "received"  # the gateway tells the citizen, then ends the turn


def test_the_end_of_a_turn_records_replies_language_choice_reset_and_parse_in_one_call(client):
    turn = _begin(client, "m-1", "제 번호 010-1234-5678 로 예약")
    with client.app.state.sessionmaker() as session:
        session.execute(update(Conversation).values(bot_reset_pending=True))
        session.commit()
    parse = {"text": "제 번호 010-1234-5678 로 예약", "language": "ko", "intent": "book_tour", "confidence": 0.4}
    _end(client, turn["message_id"], replies=[{"text": "네"}], bot_reset=True, language_choice="en", parse=parse)

    assert [m["status"] for m in _transcript(client)] == ["answered", None]
    with client.app.state.sessionmaker() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert (conversation.preferred_language, conversation.bot_reset_pending) == ("en", False)
        [item] = session.scalars(select(InboxItem)).all()
        assert (item.text, item.intent) == ("제 번호 010-****-5678 로 예약", "book_tour")
    _end(client, _begin(client, "m-2")["message_id"], replies=[], language_choice="auto")
    assert _begin(client, "m-3")["preferred_language"] is None


def test_a_turn_reads_the_database_once_before_the_assistant_and_once_after(client):
    _end(client, _begin(client, "m-1")["message_id"], replies=[{"text": "안녕하세요"}])
    statements: list[str] = []

    def note(_connection, _cursor, statement, *_args) -> None:
        statements.append(statement.split()[0])

    event.listen(client.app.state.engine, "before_cursor_execute", note)
    try:
        turn = _begin(client, "m-2")
        begun = statements.copy()
        statements.clear()
        _end(client, turn["message_id"], replies=[{"text": "네"}], language_choice="en")
        ended = statements.copy()
    finally:
        event.remove(client.app.state.engine, "before_cursor_execute", note)
    # Before: the conversation; a new message is inserted without looking for it first. After: the message with its
    # conversation, once, however many parts of the turn's end need it.
    assert (begun.count("SELECT"), ended.count("SELECT")) == (1, 1)


def test_the_end_of_a_turn_on_an_unknown_message_is_404(client):
    response = client.post("/api/conversations/turns/999/end", json={"replies": []}, headers=SERVICE_HEADERS)
    assert response.status_code == 404
