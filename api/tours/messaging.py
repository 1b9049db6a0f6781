"""What the tours domain says to citizens, in Korean and English: the labels of days and departures a chat shows,
the reminder the day before a tour and the offer of seats to someone on the waitlist."""

from datetime import date, datetime

from api.tours.models import Booking, WaitlistEntry
from common.calendar import weekday_name
from common.clock import SEOUL
from common.payloads import payload

OPTION_NAMES = {"ko": {"walk": "도보", "monorail": "모노레일"}, "en": {"walk": "on foot", "monorail": "monorail"}}


def day_label(day: date, language: str) -> str:
    """A tour day in a chat: "12월 3일(토)" or "Dec 3 (Sat)"."""
    weekday = weekday_name(day, language)
    return f"{day:%b} {day.day} ({weekday})" if language == "en" else f"{day.month}월 {day.day}일({weekday})"


def departure_time(starts_at: datetime) -> str:
    """A departure's time in Asia/Seoul, "14:40"."""
    return starts_at.astimezone(SEOUL).strftime("%H:%M")


def option_name(option: str, language: str) -> str:
    return OPTION_NAMES["en" if language == "en" else "ko"][option]


def run_label(starts_at: datetime, option: str, seats_left: int, language: str) -> str:
    """A departure to choose: "14:40 도보 · 40석" or "14:40 on foot · 40 seats"."""
    seats = f"{seats_left} seats" if language == "en" else f"{seats_left}석"
    return f"{departure_time(starts_at)} {option_name(option, language)} · {seats}"


def when(starts_at: datetime, language: str) -> str:
    """A departure as the citizen reads it: "12월 3일 (토) 10:00" or "Sat 03 Dec at 10:00"."""
    local = starts_at.astimezone(SEOUL)
    weekday = weekday_name(local.date(), language)
    if language == "ko":
        return f"{local.month}월 {local.day}일 ({weekday}) {local:%H:%M}"
    return f"{weekday} {local:%d %b} at {local:%H:%M}"


def reminder_text(booking: Booking, language: str) -> str:
    run, course = booking.run, booking.run.course
    if language == "en":
        return (
            f"Reminder: your {course.name_en} tour (booking {booking.code}) is tomorrow, "
            f"{when(run.starts_at, 'en')}, {booking.seats} seat(s).\n"
            f"Meeting point: {course.meeting_point_en}\n"
            f"ID: {course.id_rules_en}\n"
            f"Please bring: {course.what_to_bring_en}"
        )
    return (
        f"내일 {course.name_ko} 투어 예약(예약번호 {booking.code})이 있어요.\n"
        f"출발: {when(run.starts_at, 'ko')} · {booking.seats}명\n"
        f"집결지: {course.meeting_point_ko}\n"
        f"신분증: {course.id_rules_ko}\n"
        f"준비물: {course.what_to_bring_ko}"
    )


def reminder_buttons(booking: Booking, language: str) -> list[dict[str, str]]:
    titles = ("Cancel booking", "Ask a question") if language == "en" else ("예약 취소", "문의하기")
    return [
        {"title": titles[0], "payload": payload("cancel_booking", booking_code=booking.code)},
        {"title": titles[1], "payload": payload("request_human")},
    ]


def offer_text(entry: WaitlistEntry, language: str) -> str:
    run, course = entry.run, entry.run.course
    until = entry.offered_until.astimezone(SEOUL)
    if language == "en":
        return (
            f"Good news: {entry.seats} seat(s) opened on the {course.name_en} tour you were waiting for, "
            f"{when(run.starts_at, 'en')}. They are held for you until {until:%H:%M}; confirm to book them."
        )
    return (
        f"기다리시던 {course.name_ko} 투어 {when(run.starts_at, 'ko')}에 {entry.seats}석이 났어요. "
        f"{until:%H:%M}까지 자리를 잡아 둘게요. 확정하시면 예약이 돼요."
    )


def offer_buttons(entry: WaitlistEntry, language: str) -> list[dict[str, str]]:
    title = "Confirm booking" if language == "en" else "예약 확정"
    return [{"title": title, "payload": payload("confirm_waitlist", waitlist_id=str(entry.id))}]
