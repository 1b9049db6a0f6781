"""A citizen chats through the gateway's web endpoint with the real api, Rasa model and action server."""

import uuid

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.gateway.channels.web import COOKIE
from tests.support.web_chat import WebChat

pytestmark = pytest.mark.stack


def _texts(replies: list[dict]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


def test_a_korean_greeting_gets_a_korean_greeting_with_the_menu(chat):
    replies = chat("안녕하세요")
    assert "안녕하세요" in _texts(replies)
    assert "파주시" in _texts(replies)
    assert any(b["payload"] == "/help" for r in replies for b in r.get("buttons") or [])


def test_an_english_greeting_gets_an_english_greeting(chat):
    replies = chat("hello")
    assert "Hello" in _texts(replies)
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in _texts(replies))


def test_the_reply_language_follows_the_language_the_citizen_switches_to(chat):
    assert "Hello" in _texts(chat("hi there"))
    assert "안녕" in _texts(chat("안녕하세요"))


def _handoff_status(stack, user_id: str) -> str | None:
    engine = create_engine(stack.database_url)
    with engine.connect() as connection:
        status = connection.execute(
            text(
                "SELECT h.status FROM handoffs h JOIN conversations c ON c.id = h.conversation_id "
                "WHERE c.channel = 'web' AND c.channel_user_id = :user ORDER BY h.id DESC"
            ),
            {"user": user_id},
        ).scalar()
    engine.dispose()
    return status


def test_asking_for_a_person_queues_a_handoff_and_cancelling_brings_the_bot_back(chat, stack):
    replies = chat("상담원 연결해주세요")
    # Inside office hours the place in the queue, outside them when someone will answer.
    assert "연결을 요청했어요" in _texts(replies) or "상담 시간이 아니에요" in _texts(replies)
    assert _handoff_status(stack, chat.user_id) == "waiting"
    # While waiting, messages are for the staff inbox: the bot does not answer them, only says the first arrived.
    assert _texts(chat("예약 변경하고 싶어요")).startswith("접수됐어요, 담당자에게 전달했어요")
    assert chat("오전 10시로요") == []

    cancel = next(b for b in replies[-1]["buttons"] if b["payload"] == "/cancel_handoff")
    back = chat(cancel["title"], payload=cancel["payload"])
    assert "요청을 취소했어요" in _texts(back)
    assert _handoff_status(stack, chat.user_id) == "cancelled"
    assert "파주시 시민 도우미" in _texts(chat("안녕하세요"))


def test_an_english_request_for_a_person_is_answered_in_english(chat, stack):
    replies = chat("can I talk to a real person please")
    assert "staff member" in _texts(replies) or "Staff are not in" in _texts(replies)
    assert _handoff_status(stack, chat.user_id) == "waiting"


def test_pressing_the_offered_help_button_shows_the_menu_in_the_language_of_the_button(chat):
    [greeting] = chat("hi")
    button = next(b for b in greeting["buttons"] if b["payload"] == "/help")
    replies = chat(button["title"], payload=button["payload"])
    assert "Here is what I can help with" in _texts(replies)


def test_the_api_health_reports_database_and_rasa_ok(stack):
    assert httpx.get(stack.url("api") + "/api/health").json() == {"status": "ok", "database": "ok", "rasa": "ok"}


def test_the_same_message_id_twice_is_answered_the_same_and_stored_once(chat):
    message_id = uuid.uuid4().hex
    first = chat("안녕하세요", message_id=message_id)
    second = chat("안녕하세요", message_id=message_id)
    assert first == second
    history = chat.history()
    assert [m["direction"] for m in history].count("in") == 1


@pytest.mark.parametrize(
    ("text", "stored", "expected"),
    [
        ("", "", "메시지가 비어 있어요"),
        ("   \n\t ", "", "메시지가 비어 있어요"),
        ("가" * 10_000, "가" * 10_000, "메시지가 너무 길어요"),
        ("a" * 10_000, "a" * 10_000, "Your message is too long"),
        ("\x00\x01\x02\x7f\ufffe", "", "메시지가 비어 있어요"),
    ],
)
def test_bad_input_gets_a_polite_reply_and_the_transcript_stays_correct(chat, text, stored, expected):
    replies = chat(text)
    assert expected in _texts(replies)
    history = chat.history()
    assert [m["direction"] for m in history] == ["in", "out"]
    assert history[0]["text"] == stored
    assert expected in history[1]["text"]


def test_binary_junk_mixed_with_text_is_cleaned_and_answered(chat):
    replies = chat("\x00\x1b안녕\x00하세요\x07\x7f")
    assert "안녕하세요" in _texts(replies)
    assert chat.history()[0]["text"] == "안녕하세요"


@pytest.mark.parametrize(
    "payload", ["/no_such_intent", "not-a-payload", "/help{broken json", "/" + "x" * 900, "/request_human"]
)
def test_a_button_payload_the_assistant_did_not_offer_gets_a_polite_reply(chat, payload):
    replies = chat("버튼", payload=payload)
    assert _texts(replies).startswith("이 버튼은 더 이상 사용할 수 없어요")


def test_a_message_over_the_transport_limit_is_refused_with_a_clear_error(stack):
    response = httpx.post(stack.url("gateway") + "/web/messages", json={"message_id": "m", "text": "x" * 20_000})
    assert response.status_code == 422
    assert "16384" in response.text


def test_another_client_holding_a_citizens_id_reads_neither_their_history_nor_their_waiting_messages(chat, stack):
    replies = chat("제 예약 번호는 ABC123이에요")
    stranger = WebChat(stack.url("gateway"))
    try:
        assert stranger.client.get("/web/history", params={"user_id": chat.user_id}).json() == []
        assert stranger.client.get("/web/updates", params={"user_id": chat.user_id}).json() == []
        # With the id in a cookie of its own making: the gateway did not sign it, so it is a stranger's still.
        stranger.client.cookies.clear()
        stranger.client.cookies.set(COOKIE, f"{chat.user_id}.forged", domain="127.0.0.1")
        assert stranger.history() == []
        assert stranger.user_id != chat.user_id
    finally:
        stranger.close()
    assert [m["direction"] for m in chat.history()] == ["in"] + ["out"] * len(replies)


def test_the_web_chat_users_id_is_in_no_log_line_of_the_gateway_or_the_api(chat, stack):
    chat("안녕하세요")
    chat.history()
    logs = {name: (stack.workdir / f"{name}.log").read_text(errors="replace") for name in ("gateway", "api")}
    assert '"path": "/api/conversations/{channel}/{channel_user_id}/messages"' in logs["api"], "history was logged"
    for name, log in logs.items():
        assert chat.user_id not in log, f"the {name} log names the web chat user"
