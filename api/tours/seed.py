"""Seed data for the DMZ peace tour: the course, its fares and its runs through the end of the booking window.

Sample data shaped on the real tour (Imjingak → 3rd Tunnel → Dora Observatory → Tongil-chon,
closed on Mondays and public holidays; adult fares of 2023: 9,200 won on foot, 12,200
won with the monorail). Other fares, times and capacities are plausible sample values.
"""

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.public_holidays import PublicHolidays
from api.tours.models import Course, DayQuota, Fare, Run
from api.tours.service import booking_window_end, is_closed
from common.clock import SEOUL, utcnow

COURSE_CODE = "dmz-peace"
WEEKDAY_TIMES = (time(9, 20), time(10, 30), time(13, 30), time(14, 40))
WEEKEND_TIMES = (time(9, 20), time(10, 10), time(11, 0), time(12, 30), time(13, 20), time(14, 10), time(15, 0))
CAPACITY = {"walk": 250, "monorail": 200}
DAILY_CAPACITY = 3000
# (transport, facility) in won. Paju residents pay half the facility fee.
FARES = {
    "walk": {"adult": (6200, 3000), "youth": (5200, 2500), "child": (4200, 2000), "senior": (5200, 1500)},
    "monorail": {"adult": (6200, 6000), "youth": (5200, 5000), "child": (4200, 4000), "senior": (5200, 4500)},
}


def _course() -> Course:
    return Course(
        code=COURSE_CODE,
        name_ko="DMZ 평화관광 (임진각 출발)",
        name_en="DMZ Peace Tour (from Imjingak)",
        summary_ko="임진각에서 셔틀버스로 제3땅굴, 도라전망대, 통일촌을 돌아보는 약 3시간 코스예요.",
        summary_en="A shuttle tour of about 3 hours from Imjingak to the 3rd Tunnel, Dora Observatory and Tongil-chon.",
        itinerary=[
            {"ko": "임진각 관광지 출발", "en": "Depart Imjingak"},
            {"ko": "제3땅굴 (도보 또는 모노레일)", "en": "3rd Infiltration Tunnel (on foot or by monorail)"},
            {"ko": "도라전망대", "en": "Dora Observatory"},
            {"ko": "통일촌 (마을 장터)", "en": "Tongil-chon village"},
            {"ko": "임진각 도착", "en": "Back at Imjingak"},
        ],
        duration_minutes=180,
        meeting_point_ko="임진각 관광지 DMZ 평화관광 매표소 앞 (출발 20분 전까지 도착)",
        meeting_point_en="In front of the DMZ Peace Tour ticket office at Imjingak (arrive 20 minutes early)",
        what_to_bring_ko="예약번호와 신분증 원본. 땅굴은 경사가 가파르니 편한 신발을 신어 주세요.",
        what_to_bring_en="Your booking number and an original ID. The tunnel is steep: wear comfortable shoes.",
        id_rules_ko="민간인 통제구역에 들어가므로 모든 방문객은 신분증 원본이 필요해요(외국인은 여권). "
        "사본·사진은 안 돼요.",
        id_rules_en="The tour enters the civilian control zone: every visitor needs an original ID "
        "(foreigners: passport). Copies or photos are not accepted.",
        group_booking_ko="11명 이상 단체는 개인 예약이 아닌 단체 예약으로 신청해 주세요. "
        "상담원 연결을 요청하시면 안내해 드려요.",
        group_booking_en="Groups of 11 or more book as a group, not here. Ask to talk to a person and staff will help.",
        daily_capacity=DAILY_CAPACITY,
        booking_cutoff_minutes=60,
    )


def _fares(course: Course) -> list[Fare]:
    rows = []
    for option, by_type in FARES.items():
        for fare_type, (transport, facility) in by_type.items():
            rows.append(
                Fare(course=course, option=option, fare_type=fare_type, transport_won=transport, facility_won=facility)
            )
        adult_transport, adult_facility = by_type["adult"]
        rows.append(
            Fare(
                course=course,
                option=option,
                fare_type="resident",
                transport_won=adult_transport,
                facility_won=adult_facility // 2,
            )
        )
    return rows


def add_runs(session: Session, course: Course, first: date, days: int, holidays: PublicHolidays) -> int:
    """Creates the runs and day quotas that are missing in [first, first + days), skipping closed days."""
    existing = set(
        session.execute(select(Run.starts_at, Run.option).where(Run.course_id == course.id, Run.date >= first)).all()
    )
    quotas = set(session.scalars(select(DayQuota.date).where(DayQuota.course_id == course.id, DayQuota.date >= first)))
    added = 0
    for offset in range(days):
        day = first + timedelta(days=offset)
        if is_closed(day, holidays):
            continue
        if day not in quotas:
            session.add(DayQuota(course_id=course.id, date=day, capacity=course.daily_capacity))
        for departure in WEEKEND_TIMES if day.weekday() >= 5 else WEEKDAY_TIMES:
            starts_at = datetime.combine(day, departure, SEOUL)
            for option, capacity in CAPACITY.items():
                if (starts_at, option) not in existing:  # aware datetimes compare by instant
                    session.add(
                        Run(course_id=course.id, date=day, starts_at=starts_at, option=option, capacity=capacity)
                    )
                    added += 1
    return added


def seed_tours(session: Session, now: datetime | None = None, holidays: PublicHolidays | None = None) -> int:
    """The course and its fares once, and runs from today through the last bookable day (never twice)."""
    if session.scalar(select(Course.id).where(Course.code == COURSE_CODE)) is None:
        course = _course()
        session.add(course)
        session.add_all(_fares(course))
        session.flush()
    return extend_runs(session, now or utcnow(), holidays or PublicHolidays())


def extend_runs(session: Session, now: datetime, holidays: PublicHolidays) -> int:
    """Keeps the timetable open through the end of the booking window, so every bookable day has its runs."""
    course = session.scalar(select(Course).where(Course.code == COURSE_CODE))
    if course is None:
        return 0
    today = now.astimezone(SEOUL).date()
    return add_runs(session, course, today, (booking_window_end(now) - today).days + 1, holidays)
