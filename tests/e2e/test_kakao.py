"""KakaoTalk citizens through the gateway's Kakao i Open Builder skill: real gateway, Rasa, actions and api, a fake
Kakao platform that checks every answer against Kakao's limits."""

import re
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from api.core.database import make_engine, make_sessionmaker
from api.staff.service import create_user
from tests.e2e.test_booking import open_day
from tests.support.fake_kakao import ANSWER_SECONDS, bot_user_key
from tests.support.kakao_chat import KakaoChat, answer_text
from tests.support.stack import Stack

pytestmark = pytest.mark.stack

DMZ = pd.read_csv(Path(__file__).resolve().parents[2] / "api/opendata/seed/dmz_peace_tourism_monthly.csv")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STAFF_EMAIL = "lee.kakao@paju.example"
STAFF_PASSWORD = "imjingak-bridge-2026!"


def _rows(stack: Stack, sql: str, **params) -> list:
    engine = create_engine(stack.database_url)
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params).all()
    engine.dispose()
    return rows


def _tracker_user_texts(stack: Stack, user_key: str) -> list[str]:
    response = httpx.get(
        f"{stack.url('rasa')}/conversations/kakao:{user_key}/tracker",
        params={"token": stack.rasa_token, "include_events": "ALL"},
    )
    return [event.get("text") for event in response.json()["events"] if event["event"] == "user"]


def test_a_korean_user_books_a_tour_pressing_quick_replies(kakao):
    fake, stack = kakao
    chat = KakaoChat(fake, "booking-ko")
    chat.say("DMZ 투어 예약하고 싶어요")
    assert "언제 방문하실" in chat.text
    day = open_day(4)
    chat.say(f"{day.month}월 {day.day}일")
    assert "출발 시간을 골라" in chat.text and chat.buttons, chat.answer
    chat.press(0)  # the first departure
    assert "몇 분이" in chat.text
    chat.say("어른 2명")
    assert "개인정보" in chat.text
    chat.press("동의")
    assert "성함" in chat.text
    chat.say("김민수")
    chat.say("010-1234-5678")
    assert "예약 내용을 확인" in chat.text
    chat.press(0)  # 예약 확정
    code = re.search(r"예약번호: ([A-Z0-9]{6})", chat.text).group(1)
    [booking] = _rows(stack, "SELECT seats, channel, channel_user_id FROM bookings WHERE code = :c", c=code)
    assert tuple(booking) == (2, "kakao", chat.user_key)


def _foreign_visitors(month: str) -> int:
    return int(DMZ.loc[DMZ["통계연월"] == month, "외국인수"].sum())


def test_an_english_user_gets_the_figure_from_the_data_and_a_chart_image(kakao):
    fake, _stack = kakao
    chat = KakaoChat(fake, "opendata-en", language="en")
    chat.say("How many foreign visitors came to the DMZ in April 2025?")
    assert f"{_foreign_visitors('2025-04'):,}" in chat.text
    assert "Source" in chat.text
    assert not re.search("[가-힣]{2}", chat.text.replace("DMZ", "")), chat.text

    chat.say("DMZ visitor trend in 2024")
    assert any("simpleImage" in output for output in chat.outputs) and chat.images, chat.answer
    chart = httpx.get(chat.images[0])
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")


def _console(stack: Stack) -> tuple[httpx.Client, str]:
    """A staff member's browser, signed in to the console; returns it with the session's CSRF token."""
    engine = make_engine(stack.database_url)
    with make_sessionmaker(engine)() as session:
        create_user(session, STAFF_EMAIL, "이카카오", STAFF_PASSWORD, role="staff")
        session.commit()
    engine.dispose()
    browser = httpx.Client(base_url=stack.url("api"), follow_redirects=False)
    page = browser.get("/console/sign-in")
    form = {"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": CSRF.search(page.text).group(1)}
    assert browser.post("/console/sign-in", data=form).status_code == 303
    return browser, CSRF.search(browser.get("/console/queue").text).group(1)


def test_a_staff_reply_from_the_console_reaches_the_kakao_user_through_the_event_api(kakao):
    fake, stack = kakao
    chat = KakaoChat(fake, "handoff-ko")
    chat.say("안녕하세요")
    chat.say("상담원 연결해주세요")
    # Inside office hours the place in the queue, outside them when someone will answer.
    assert "연결을 요청했어요" in chat.text or "상담 시간이 아니에요" in chat.text
    chat.say("12월 5일 예약을 6일로 바꿀 수 있나요?")
    assert "12월 5일" not in _tracker_user_texts(stack, chat.user_key)[-1], "a message to staff never reaches Rasa"

    [(handoff_id, conversation_id)] = _rows(
        stack,
        "SELECT h.id, h.conversation_id FROM handoffs h JOIN conversations c ON c.id = h.conversation_id "
        "WHERE c.channel = 'kakao' AND c.channel_user_id = :key AND h.status = 'waiting'",
        key=chat.user_key,
    )
    browser, csrf = _console(stack)
    try:
        claimed = browser.post(f"/console/handoffs/{handoff_id}/claim", data={"csrf_token": csrf})
        assert claimed.status_code == 303, claimed.text
        reply = "안녕하세요, 파주시 관광과 이카카오입니다. 네, 변경 가능해요."
        sent = browser.post(f"/console/conversations/{conversation_id}/reply", data={"csrf_token": csrf, "text": reply})
        assert sent.status_code == 303, sent.text
    finally:
        browser.close()

    fake.wait_for(lambda f: any(reply in event.text for event in f.events_for(chat.user_key)))
    [event] = [event for event in fake.events_for(chat.user_key) if reply in event.text]
    assert event.status == 200 and event.bot_id == fake.bot_id
    assert event.authorization == f"KakaoAK {fake.rest_api_key}"
    assert event.body["user"] == [{"type": "botUserKey", "id": chat.user_key}]
    outbox = "SELECT status FROM outbox WHERE conversation_id = :c AND kind = 'staff_reply'"
    deadline = time.monotonic() + 10
    while _rows(stack, outbox, c=conversation_id) != [("delivered",)]:
        assert time.monotonic() < deadline, _rows(stack, outbox, c=conversation_id)
        time.sleep(0.2)


def test_a_slow_turn_answers_at_once_with_use_callback_and_then_once_through_the_callback(kakao):
    fake, stack = kakao
    chat = KakaoChat(fake, "slow-ko")
    request = fake.text(chat.user_key, "안녕하세요", callback=True)
    # Rasa stops where it is for longer than Kakao waits: the gateway must answer before it is back.
    stack.freeze("rasa")
    try:
        exchange = fake.send(request)
        time.sleep(1.0)
    finally:
        stack.thaw("rasa")
    assert exchange.status == 200 and exchange.seconds < ANSWER_SECONDS
    assert exchange.answer["useCallback"] is True, exchange.answer
    assert exchange.answer.get("data", {}).get("text")
    answer = fake.wait_for_callback(exchange)
    assert "파주시 시민 도우미" in answer_text(answer)
    time.sleep(3)  # room for a second delivery that must not come
    assert len(fake.callbacks_for(exchange)) == 1
    assert fake.events_for(chat.user_key) == [], "the answer went by callback, not once more through the Event API"


def test_a_slow_turn_without_a_callback_url_gets_an_apology_and_its_answer_through_the_event_api(kakao):
    fake, stack = kakao
    chat = KakaoChat(fake, "slow-no-callback-ko", callback=False)
    stack.freeze("rasa")
    try:
        exchange = fake.send(fake.text(chat.user_key, "안녕하세요"))
        time.sleep(1.0)
    finally:
        stack.thaw("rasa")
    assert exchange.status == 200 and exchange.seconds < ANSWER_SECONDS
    assert "시간이 걸리고" in answer_text(exchange.answer), exchange.answer
    fake.wait_for(lambda f: any("파주시 시민 도우미" in event.text for event in f.events_for(chat.user_key)))
    time.sleep(2)  # room for a second delivery that must not come
    assert len(fake.events_for(chat.user_key)) == 1


def test_a_wrong_or_missing_skill_secret_is_refused_and_nothing_reaches_the_api(kakao):
    fake, stack = kakao
    key = bot_user_key("intruder")
    refused = [
        fake.send(fake.text(key, "상담원 연결해주세요", callback=True), secret=secret)
        for secret in ("wrong-secret", "")  # "" sends no secret header at all
    ]
    assert [exchange.status for exchange in refused] == [403, 403], [exchange.answer for exchange in refused]
    time.sleep(1)
    assert _rows(stack, "SELECT id FROM conversations WHERE channel = 'kakao' AND channel_user_id = :k", k=key) == []
    assert all(fake.callbacks_for(exchange) == [] for exchange in refused)
    assert fake.events_for(key) == []


def test_the_same_request_sent_twice_as_kakao_retries_is_answered_once(kakao):
    fake, stack = kakao
    chat = KakaoChat(fake, "retry-ko", callback=False)
    chat.say("안녕하세요")
    first = fake.send(fake.text(chat.user_key, "도움말"))
    again = fake.resend(first)
    assert first.status == again.status == 200
    assert "도와드릴 수 있는 일" in str(first.answer)
    assert again.answer == first.answer
    assert _tracker_user_texts(stack, chat.user_key).count("도움말") == 1
    [(count,)] = _rows(
        stack,
        "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE c.channel = 'kakao' AND c.channel_user_id = :k AND m.direction = 'in' AND m.text = '도움말'",
        k=chat.user_key,
    )
    assert count == 1


def test_a_location_from_the_plugin_brings_the_nearest_parking_lots_and_a_photo_starts_a_report(kakao):
    fake, _stack = kakao
    chat = KakaoChat(fake, "location-ko")
    chat.say("근처 주차장 어디 있어?")
    assert "어디 근처" in chat.text  # it asks where, by a place name; a location from the plugin answers too
    chat.share_location(37.7142, 126.7615)  # beside Geumchon station
    assert "주차" in chat.text and "map.kakao.com" in str(chat.answer)
    assert re.search(r"\d+(\.\d)? ?(m|km)", chat.text)
    chat.send_photo()
    assert "사진 1장 받았어요" in chat.text
