"""Citizens chat through the real python-telegram-bot client against a local fake Bot API."""

import re
import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.test_booking import open_day
from tests.support.fake_telegram import FakeTelegram
from tests.support.stack import Stack, free_port
from tests.support.telegram_chat import Chat

pytestmark = pytest.mark.stack


def _booking(stack: Stack, code: str):
    engine = create_engine(stack.database_url)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT seats, channel, channel_user_id FROM bookings WHERE code = :c"), {"c": code}
        ).one()
    engine.dispose()
    return row


def test_a_korean_user_books_from_start_to_confirmation_pressing_buttons(telegram):
    fake, stack = telegram
    chat = Chat(fake, 1001)
    assert "파주시 시민 도우미" in chat.say("/start")
    assert "언제 방문하실" in chat.say("DMZ 투어 예약하고 싶어요")
    day = open_day(4)
    assert "출발 시간을 골라" in chat.say(f"{day.month}월 {day.day}일")
    assert "몇 분이" in chat.press(0)
    assert "개인정보" in chat.say("어른 2명")
    assert "성함" in chat.press(0)  # 동의합니다
    chat.say("김민수")
    assert "예약 내용을 확인" in chat.say("010-1234-5678")
    done = chat.press(0)
    code = re.search(r"예약번호: ([A-Z0-9]{6})", done).group(1)
    assert tuple(_booking(stack, code)) == (2, "telegram", str(1001))
    edited = [params for method, params in fake.calls if method == "editMessageText"]
    assert edited and "✔" in edited[-1]["text"], "a pressed keyboard is replaced by the choice"


def test_an_english_user_books_too(telegram):
    fake, stack = telegram
    chat = Chat(fake, 1002, language="en")
    day = open_day(5)
    assert "Choose a departure" in chat.say(f"I'd like to book the DMZ tour on {day:%B} {day.day} for 2 adults")
    assert "Consent" in chat.press(0)
    assert "What is the booker's name?" in chat.press(0)
    chat.say("Anna Lee")
    assert "Please check your booking" in chat.say("010-2345-6789")
    done = chat.press(0)
    code = re.search(r"Booking number: ([A-Z0-9]{6})", done).group(1)
    assert _booking(stack, code).seats == 2


def test_stickers_get_a_polite_reply_and_edited_messages_are_ignored(telegram):
    fake, _stack = telegram
    chat = Chat(fake, 1003)
    before = len(fake.sent(1003))
    fake.send_sticker(1003)
    fake.wait_for(lambda f: len(f.sent(1003)) > before)
    assert "글, 위치, 사진만" in fake.sent(1003)[-1]["text"]
    message_id = fake.send_text(1003, "안녕")
    fake.wait_for(lambda f: len(f.sent(1003)) > before + 1)
    count = len(fake.sent(1003))
    fake.edit_text(1003, message_id, "안녕하세요 수정")
    chat.say("고마워요")
    assert all("수정" not in (m.get("text") or "") for m in fake.sent(1003)[count:])


def test_three_quick_messages_are_answered_in_order(telegram):
    fake, _stack = telegram
    for words in ("안녕하세요", "도움말", "고마워요"):
        fake.send_text(1004, words)
    fake.wait_for(lambda f: len(f.sent(1004)) >= 3)
    time.sleep(2)
    texts = [m.get("text") or "" for m in fake.sent(1004)]
    greet = next(i for i, t in enumerate(texts) if "안녕하세요!" in t)
    menu = next(i for i, t in enumerate(texts) if "도와드릴 수 있는 일" in t)
    thanks = next(i for i, t in enumerate(texts) if "천만에요" in t)
    assert greet < menu < thanks


def test_webhook_mode_refuses_a_wrong_secret_and_answers_with_the_right_one(tmp_path):
    fake = FakeTelegram().start()
    stack = Stack(tmp_path / "webhook-stack")
    gateway_port = free_port()
    stack.ports["gateway"] = gateway_port
    stack.extra_env = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_BASE_URL": fake.base_url,
        "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{gateway_port}/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-for-tests",
    }
    try:
        stack.start()
        update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 2001, "type": "private"},
                  "from": {"id": 2001, "is_bot": False, "first_name": "민준"}, "text": "안녕하세요"}}  # fmt: skip
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            refused = httpx.post(f"{stack.url('gateway')}/telegram/webhook", json=update, headers=headers)
            assert refused.status_code == 403
        time.sleep(1)
        assert fake.sent(2001) == [], "a refused update is not processed"

        fake.send_text(2002, "안녕하세요")
        fake.wait_for(lambda f: any("파주시 시민 도우미" in (m.get("text") or "") for m in f.sent(2002)))
        assert [status for _, status in fake.webhook_deliveries] == [200]
    finally:
        stack.stop_all()
        fake.stop()


def _send_from_city(stack: Stack, chat_id: int, text: str) -> int:
    response = httpx.post(
        f"{stack.url('api')}/api/outbox",
        json={"channel": "telegram", "channel_user_id": str(chat_id), "text": text, "kind": "staff_reply"},
        headers={"Authorization": f"Bearer {stack.service_token}"},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _outbox_status(stack: Stack, outbox_id: int) -> dict:
    response = httpx.get(
        f"{stack.url('api')}/api/outbox/{outbox_id}", headers={"Authorization": f"Bearer {stack.service_token}"}
    )
    return response.json()


def _wait_for_status(stack: Stack, outbox_id: int, status: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while (current := _outbox_status(stack, outbox_id))["status"] != status:
        assert time.monotonic() < deadline, current
        time.sleep(0.2)
    return current


def test_a_message_from_the_city_reaches_the_chat_and_is_marked_delivered(telegram):
    fake, stack = telegram
    chat = Chat(fake, 5101)
    chat.say("안녕하세요")
    before = len(fake.sent(5101))
    outbox_id = _send_from_city(stack, 5101, "파주시 관광과입니다. 문의하신 내용 답변드려요.")
    delivered = _wait_for_status(stack, outbox_id, "delivered")
    [message] = fake.sent(5101)[before:]
    assert message["text"] == "파주시 관광과입니다. 문의하신 내용 답변드려요."
    assert delivered["attempts"] == 1


def test_a_429_from_telegram_is_retried_after_the_time_it_asks_for(telegram):
    fake, stack = telegram
    Chat(fake, 5102).say("안녕하세요")
    before = len(fake.sent(5102))
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    started = time.monotonic()
    outbox_id = _send_from_city(stack, 5102, "잠시 후 다시 보내질 메시지")
    delivered = _wait_for_status(stack, outbox_id, "delivered")
    assert time.monotonic() - started >= 3
    assert delivered["attempts"] == 2
    assert delivered["last_error"] is None
    assert [m["text"] for m in fake.sent(5102)[before:]] == ["잠시 후 다시 보내질 메시지"]


def test_a_403_marks_the_citizen_unreachable_and_nothing_is_retried(telegram):
    fake, stack = telegram
    Chat(fake, 5103).say("안녕하세요")
    before = len(fake.sent(5103))
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    first = _send_from_city(stack, 5103, "차단된 사용자에게 가는 메시지")
    unreachable = _wait_for_status(stack, first, "unreachable")
    assert "blocked" in unreachable["last_error"]
    # Later messages are not even tried until the citizen writes again.
    second = _send_from_city(stack, 5103, "두 번째 메시지")
    assert _outbox_status(stack, second)["status"] == "unreachable"
    time.sleep(2.5)
    assert fake.sent(5103)[before:] == []
    tried = [
        params["text"]
        for name, params in fake.calls
        if name == "sendMessage" and str(params.get("chat_id")) == "5103" and "메시지" in params.get("text", "")
    ]
    assert tried == ["차단된 사용자에게 가는 메시지"]


def test_a_message_written_while_the_gateway_was_down_is_delivered_when_it_is_back(telegram):
    fake, stack = telegram
    Chat(fake, 5104).say("안녕하세요")
    before = len(fake.sent(5104))
    stack.stop("gateway")
    try:
        outbox_id = _send_from_city(stack, 5104, "게이트웨이가 멈춘 동안 쓴 메시지")
        time.sleep(1.5)
        assert _outbox_status(stack, outbox_id)["status"] == "pending"
    finally:
        stack.launch("gateway", stack.commands()["gateway"])
        stack.wait_ready(("gateway",), 60)
    _wait_for_status(stack, outbox_id, "delivered")
    assert [m["text"] for m in fake.sent(5104)[before:]] == ["게이트웨이가 멈춘 동안 쓴 메시지"]


def test_a_button_with_a_long_payload_still_works_after_the_gateway_restarts(telegram):
    fake, stack = telegram
    chat = Chat(fake, 5105)
    chat.say("안녕하세요")
    long_payload = '/tour_info{"tour_option":"monorail","source":"city-message-about-the-monorail-course"}'
    assert len(long_payload.encode()) > 64
    response = httpx.post(
        f"{stack.url('api')}/api/outbox",
        json={
            "channel": "telegram",
            "channel_user_id": "5105",
            "text": "모노레일 코스가 궁금하시면 눌러 주세요.",
            "buttons": [{"title": "모노레일 코스 안내", "payload": long_payload}],
        },
        headers={"Authorization": f"Bearer {stack.service_token}"},
    )
    _wait_for_status(stack, response.json()["id"], "delivered")
    chat.replies = [fake.sent(5105)[-1]]
    assert chat.replies[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"].startswith("k:")

    stack.restart("gateway")
    answer = chat.press(0)
    assert "모노레일" in answer
    assert "더 이상 사용할 수 없어요" not in answer


def test_language_chosen_with_the_command_is_remembered_until_changed(telegram):
    fake, stack = telegram
    chat = Chat(fake, 5106)
    menu = chat.say("/language")
    assert "어떤 언어로" in menu
    assert "English" in chat.press(1)  # English
    assert "Hello" in chat.say("안녕하세요")

    stack.restart("gateway")
    english = chat.say("예약 확인")
    assert not re.search("[가-힣]", english), english

    chat.say("/language")
    chat.press(2)  # automatic: the language of each message again
    assert re.search("[가-힣]", chat.say("안녕하세요"))


def test_a_shared_location_brings_the_nearest_parking_lots_of_the_kind_asked_before(telegram):
    fake, _stack = telegram
    chat = Chat(fake, 5107)
    asked = chat.say("근처 주차장 어디 있어?")
    assert "위치" in asked
    before = len(fake.sent(5107))
    fake.send_location(5107, 37.7142, 126.7615)  # beside Geumchon station
    replies = chat._wait_new(before)
    answer = " ".join(m.get("text") or "" for m in replies)
    assert "주차" in answer
    # The map opens from a named link button; the address is never in the text.
    links = [b for m in replies for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
    assert any(b.get("url", "").startswith("https://map.kakao.com/") for b in links)
    assert "map.kakao.com" not in answer
    assert re.search(r"\d+(\.\d)? ?(m|km)", answer)
