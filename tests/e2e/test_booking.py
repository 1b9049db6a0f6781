"""A citizen books a DMZ tour through the gateway: real NLU, dialogue, actions, api and database."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from api.core.database import make_engine, make_sessionmaker
from api.core.public_holidays import PublicHolidays
from api.tours.seed import seed_tours
from api.tours.service import is_closed
from common import clock

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def tours(stack):
    engine = make_engine(stack.database_url)
    with make_sessionmaker(engine)() as session:
        seed_tours(session)
        session.commit()
    engine.dispose()


def open_day(days_ahead: int = 4):
    day = clock.today() + timedelta(days=days_ahead)
    while is_closed(day, PublicHolidays()):
        day += timedelta(days=1)
    return day


def _texts(replies):
    return " ".join(r.get("text") or "" for r in replies)


def _press(chat, replies, index=0):
    buttons = [b for r in replies for b in r.get("buttons") or []]
    return chat(buttons[index]["title"], payload=buttons[index]["payload"])


def _booking_row(stack, code):
    engine = create_engine(stack.database_url)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT b.seats, b.total_fee, b.channel, r.capacity - r.seats_sold AS seats_left, r.capacity "
                "FROM bookings b JOIN runs r ON r.id = b.run_id WHERE b.code = :code"
            ),
            {"code": code},
        ).one()
    engine.dispose()
    return row


def test_a_korean_citizen_books_a_tour_from_first_message_to_confirmation(chat, stack, tours):
    day = open_day()
    assert "언제 방문하실" in _texts(chat("DMZ 투어 예약하고 싶어요"))
    runs = chat(f"{day.month}월 {day.day}일")
    assert "출발 시간을 골라" in _texts(runs)
    assert "어른" in _texts(_press(chat, runs))  # asks the party
    consent = chat("어른 2명 아이 1명")  # consent comes before any personal data is asked
    assert "개인정보 수집·이용 동의" in _texts(consent) and "성함" not in _texts(consent)
    assert "성함" in _texts(_press(chat, consent))  # 동의합니다
    assert "휴대전화" in _texts(chat("김민수"))
    summary = chat("010-1234-5678")
    assert "24,600원" in _texts(summary) and "010-****-5678" in _texts(summary)
    done = _press(chat, summary)  # 예약 확정
    assert "예약이 확정됐어요" in _texts(done)
    code = re.search(r"예약번호: ([A-Z0-9]{6})", _texts(done)).group(1)

    row = _booking_row(stack, code)
    assert (row.seats, row.total_fee, row.channel) == (3, 24600, "web")
    assert row.seats_left == row.capacity - 3


def test_an_english_visitor_books_with_everything_in_the_first_message(chat, stack, tours):
    day = open_day(5)
    runs = chat(f"I'd like to book the DMZ tour on {day:%B} {day.day} for 2 adults")
    assert "Choose a departure" in _texts(runs)
    consent = _press(chat, runs)
    assert "Consent" in _texts(consent)
    assert "What is the booker's name?" in _texts(_press(chat, consent))
    assert "mobile number" in _texts(chat("Anna Lee"))
    summary = chat("010-2345-6789")
    assert "18,400 KRW" in _texts(summary)
    done = _press(chat, summary)
    code = re.search(r"Booking number: ([A-Z0-9]{6})", _texts(done)).group(1)
    assert _booking_row(stack, code).seats == 2


def test_stop_leaves_the_booking_and_nothing_is_booked(chat, stack, tours):
    chat("예약할래요")
    assert "예약을 중단했어요" in _texts(chat("그만할래요"))
    assert "안녕하세요" in _texts(chat("안녕하세요"))


def _book_one(chat, phone: str, days_ahead: int = 6) -> str:
    day = open_day(days_ahead)
    chat("예약하고 싶어요")
    runs = chat(f"{day.month}월 {day.day}일")
    _press(chat, runs)
    _press(chat, chat("어른 1명"))  # 동의합니다
    chat("이서연")
    summary = chat(phone)
    done = _press(chat, summary)
    return re.search(r"예약번호: ([A-Z0-9]{6})", _texts(done)).group(1)


def test_a_citizen_moves_then_cancels_a_booking_from_my_bookings(chat, stack, tours):
    code = _book_one(chat, "010-5555-6666")
    cards = chat("내 예약 확인")
    assert code in _texts(cards)

    _press(chat, cards, 0)  # change day or time: asks the phone
    assert "언제 방문하실" in _texts(chat("010-5555-6666"))
    day = open_day(9)
    runs = chat(f"{day.month}월 {day.day}일")
    changed = _press(chat, runs, 2)
    assert f"예약번호 {code} 예약을 변경했어요" in _texts(changed)

    _press(chat, chat("내 예약 보여줘"), 1)  # cancel: asks the phone
    confirm = chat("010-5555-6666")
    assert "이 예약을 취소할까요?" in _texts(confirm)
    cancelled = _press(chat, confirm, 0)
    assert f"예약번호 {code} 예약을 취소했어요" in _texts(cancelled)
    assert "이해하지 못했어요" not in _texts(cancelled)

    engine = create_engine(stack.database_url)
    with engine.connect() as connection:
        status, seats_sold = connection.execute(
            text("SELECT b.status, r.seats_sold FROM bookings b JOIN runs r ON r.id = b.run_id WHERE b.code = :c"),
            {"c": code},
        ).one()
    engine.dispose()
    assert status == "cancelled"
    assert seats_sold == 0
