import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from api.core.database import make_engine, make_sessionmaker
from api.core.migrate import upgrade
from api.core.public_holidays import PublicHolidays
from api.identity.errors import InvalidPhone
from api.tours import service
from api.tours.errors import (
    AlreadyCancelled,
    BookingClosed,
    BookingNotFound,
    DailyLimitReached,
    GroupBookingRequired,
    IdempotencyKeyReused,
    InvalidName,
    InvalidParty,
    RunNotOpen,
    SoldOut,
)
from api.tours.models import Booking, DayQuota, Run, WaitlistEntry
from api.tours.seed import extend_runs
from common.clock import SEOUL
from tests.api.tours_fixtures import NOW, WEDNESDAY, leave_seats, run_at, seed
from tests.support.postgres import temporary_database

BOOKER = service.Booker("김민수", "010-1234-5678", "telegram", "111")


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    maker = make_sessionmaker(engine)
    with maker() as session:
        seed(session)
    yield maker
    engine.dispose()


@pytest.fixture
def session(sessions):
    with sessions() as session:
        yield session


@pytest.fixture
def run(session) -> Run:
    return run_at(session, WEDNESDAY, 9, 20)


def book(session, run, party=None, booker=BOOKER, key=None):
    return service.book(session, run.id, {"adult": 2} if party is None else party, booker, key, now=NOW)[0]


def test_a_booking_takes_its_seats_and_charges_by_fare_type(session, run):
    booking = book(session, run, {"adult": 2, "child": 1})
    assert (booking.status, booking.seats, booking.total_fee) == ("confirmed", 3, 2 * 9200 + 6200)
    assert len(booking.code) == 6
    assert session.get(Run, run.id).seats_left == run.capacity - 3
    assert booking.booker_phone == "01012345678"


def test_the_monorail_costs_more_and_paju_residents_pay_half_the_facility_fee(session):
    monorail = run_at(session, WEDNESDAY, 9, 20, "monorail")
    assert book(session, monorail, {"adult": 1}).total_fee == 12200
    walk = run_at(session, WEDNESDAY, 10, 30)
    assert book(session, walk, {"resident": 1}).total_fee == 6200 + 1500


def test_mondays_and_weekday_holidays_have_no_runs(session):
    monday, christmas = date(2026, 12, 7), date(2026, 12, 25)
    course = service.get_course(session, "dmz-peace")
    assert service.list_runs(session, course, monday) == []
    assert service.list_runs(session, course, christmas) == []
    assert len(service.list_runs(session, course, date(2026, 12, 5))) == 14  # Saturday: 7 times x 2 options


def test_the_same_idempotency_key_never_makes_two_bookings(session, run):
    first = book(session, run, key="key-1")
    again, created = service.book(session, run.id, {"adult": 2}, BOOKER, "key-1", now=NOW)
    assert (again.code, created) == (first.code, False)
    assert session.scalar(select(func.count()).select_from(Booking)) == 1
    assert session.get(Run, run.id).seats_sold == 2
    with pytest.raises(IdempotencyKeyReused):
        service.book(session, run.id, {"adult": 3}, BOOKER, "key-1", now=NOW)


def test_a_retried_booking_gets_its_booking_back_after_the_run_sold_out_or_closed(session, run):
    first = book(session, run, key="key-1")
    leave_seats(session, run, 0)
    assert service.book(session, run.id, {"adult": 2}, BOOKER, "key-1", now=NOW) == (first, False)
    after_cut_off = run.starts_at
    assert service.book(session, run.id, {"adult": 2}, BOOKER, "key-1", now=after_cut_off) == (first, False)
    with pytest.raises(SoldOut):
        service.book(session, run.id, {"adult": 2}, BOOKER, "key-2", now=NOW)
    assert session.scalar(select(func.count()).select_from(Booking)) == 1


def test_a_booking_whose_random_code_is_taken_is_made_under_another(session, run, monkeypatch):
    taken = book(session, run).code
    codes = iter([taken, "NEWONE"])
    monkeypatch.setattr(service, "_random_code", lambda: next(codes))
    again = book(session, run, {"adult": 1})
    assert again.code == "NEWONE"
    assert session.get(Run, run.id).seats_sold == 3  # the refused INSERT gave its seat back before the retry


def test_a_full_run_refuses_with_sold_out_and_changes_nothing(session, run):
    leave_seats(session, run, 1)
    with pytest.raises(SoldOut):
        book(session, run, {"adult": 2})
    assert session.get(Run, run.id).seats_left == 1
    assert session.scalar(select(func.count()).select_from(Booking)) == 0


def test_the_daily_cap_across_runs_is_never_passed(session, run):
    quota = session.get(DayQuota, (run.course_id, WEDNESDAY))
    quota.seats_sold = quota.capacity - 1
    session.commit()
    with pytest.raises(DailyLimitReached):
        book(session, run, {"adult": 2})
    assert session.get(Run, run.id).seats_sold == 0  # the run's seats were given back too


@pytest.mark.parametrize(
    ("party", "error"),
    [
        ({"adult": 11}, GroupBookingRequired),
        ({"adult": 6, "child": 5}, GroupBookingRequired),
        ({}, InvalidParty),
        ({"adult": 0}, InvalidParty),
        ({"child": 2}, InvalidParty),
        ({"adult": -1, "child": 2}, InvalidParty),
        ({"pet": 1}, InvalidParty),
    ],
)
def test_party_rules_are_refused_with_a_reason(session, run, party, error):
    with pytest.raises(error) as refused:
        book(session, run, party)
    assert refused.value.detail and refused.value.detail_ko


def test_group_bookings_are_told_how_to_book_in_both_languages(session, run):
    with pytest.raises(GroupBookingRequired) as refused:
        book(session, run, {"adult": 12})
    assert "group" in refused.value.detail
    assert "단체" in refused.value.detail_ko


@pytest.mark.parametrize("phone", ["010-123", "02-123-4567", "phone", "", "010-1234-56789"])
def test_a_bad_phone_number_is_refused(session, run, phone):
    with pytest.raises(InvalidPhone):
        book(session, run, booker=service.Booker("김민수", phone))


@pytest.mark.parametrize("phone", ["01012345678", "010 1234 5678", "010.1234.5678", "+82 10-1234-5678"])
def test_phone_numbers_are_accepted_in_the_usual_spellings(session, run, phone):
    assert book(session, run, booker=service.Booker("Anna Lee", phone)).booker_phone == "01012345678"


@pytest.mark.parametrize("name", ["", "   ", "김" * 41, "R2D2", "<script>"])
def test_a_bad_name_is_refused(session, run, name):
    with pytest.raises(InvalidName):
        book(session, run, booker=service.Booker(name, "010-1234-5678"))


def test_departed_runs_and_runs_past_the_cut_off_are_refused(session):
    today_run = run_at(session, date(2026, 12, 1), 9, 20)
    with pytest.raises(BookingClosed):  # leaves at 09:20, the cut-off is 60 minutes before
        service.book(session, today_run.id, {"adult": 1}, BOOKER, now=NOW.replace(hour=8, minute=30))
    with pytest.raises(BookingClosed):
        service.book(session, today_run.id, {"adult": 1}, BOOKER, now=NOW.replace(hour=11))


def test_next_months_dates_open_on_the_first(session):
    january_run = run_at(session, date(2027, 1, 5), 9, 20)
    assert service.book(session, january_run.id, {"adult": 1}, BOOKER, now=NOW)[1]  # December 1: January is open
    with pytest.raises(BookingClosed) as refused:
        service.book(session, january_run.id, {"adult": 1}, BOOKER, now=NOW - timedelta(days=1))
    assert "December 1" in refused.value.detail
    assert "12월 1일" in refused.value.detail_ko


def _seoul(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SEOUL)


def test_the_booking_window_moves_at_midnight_on_the_first_of_the_month_in_seoul(session):
    new_year = _seoul(2027, 1, 1, 0, 0)
    extend_runs(session, new_year, PublicHolidays())  # the daily job opens February's runs
    february_run = run_at(session, date(2027, 2, 2), 9, 20)
    with pytest.raises(BookingClosed) as refused:
        service.book(session, february_run.id, {"adult": 1}, BOOKER, now=_seoul(2026, 12, 31, 23, 59))
    assert "February 2027 open on January 1, 2027" in refused.value.detail
    assert service.book(session, february_run.id, {"adult": 1}, BOOKER, now=new_year)[1]
    assert service.booking_window_end(_seoul(2026, 12, 31, 23, 59)) == date(2027, 1, 31)
    assert service.booking_window_end(new_year) == date(2027, 2, 28)


def test_booking_closes_exactly_sixty_minutes_before_departure(session, run):
    departure = run.starts_at.astimezone(SEOUL)
    assert service.book(session, run.id, {"adult": 1}, BOOKER, now=departure - timedelta(minutes=60, seconds=1))[1]
    with pytest.raises(BookingClosed):
        service.book(session, run.id, {"adult": 1}, BOOKER, now=departure - timedelta(minutes=60))


def test_a_leap_day_tour_is_seeded_and_booked_and_february_2027_has_no_29th(session):
    extend_runs(session, _seoul(2028, 2, 1, 9, 0), PublicHolidays())
    leap_day = run_at(session, date(2028, 2, 29), 9, 20)  # a Tuesday
    assert leap_day is not None
    booking, created = service.book(session, leap_day.id, {"adult": 2}, BOOKER, now=_seoul(2028, 2, 28, 23, 0))
    assert created and booking.run.date == date(2028, 2, 29)
    assert service.booking_window_end(_seoul(2028, 1, 15, 12, 0)) == date(2028, 2, 29)
    assert service.booking_window_end(_seoul(2027, 1, 15, 12, 0)) == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("day", "closed"),
    [
        (date(2028, 10, 2), True),  # a Monday (and the eve of Chuseok)
        (date(2028, 10, 3), True),  # Chuseok and National Foundation Day
        (date(2028, 10, 5), True),  # Chuseok's substitute holiday
        (date(2028, 10, 6), False),  # an ordinary Friday
        (date(2028, 10, 7), False),  # a Saturday
    ],
)
def test_the_tour_is_closed_on_mondays_and_public_holidays_of_any_year(session, day, closed):
    extend_runs(session, _seoul(2028, 9, 10, 9, 0), PublicHolidays())
    assert service.is_closed(day, PublicHolidays()) is closed
    course = service.get_course(session, "dmz-peace")
    assert bool(service.list_runs(session, course, day)) is not closed


def test_a_day_the_city_adds_as_a_holiday_gets_no_runs(session):
    extra = PublicHolidays.with_extra([date(2028, 10, 6)])
    extend_runs(session, _seoul(2028, 9, 10, 9, 0), extra)
    assert service.list_runs(session, service.get_course(session, "dmz-peace"), date(2028, 10, 6)) == []


def test_seeding_again_on_a_later_day_adds_only_the_new_days(session):
    course = service.get_course(session, "dmz-peace")
    assert extend_runs(session, NOW, PublicHolidays()) == 0  # the fixture seeded this day already
    added = extend_runs(session, NOW + timedelta(days=31), PublicHolidays())  # 1 January: February opens
    february = [service.list_runs(session, course, date(2027, 2, 1) + timedelta(days=d)) for d in range(28)]
    assert added == sum(len(runs) for runs in february) > 0


def test_a_closed_run_refuses_bookings(session, run):
    run.status = "closed"
    session.commit()
    with pytest.raises(RunNotOpen):
        book(session, run)


def test_a_booking_is_found_only_with_its_phone(session, run):
    booking = book(session, run)
    assert service.find_booking(session, booking.code.lower(), "010 1234 5678").id == booking.id
    with pytest.raises(BookingNotFound):
        service.find_booking(session, booking.code, "010-9999-9999")
    with pytest.raises(BookingNotFound):
        service.find_booking(session, "ZZZZZZ", "010-1234-5678")


def test_cancelling_frees_the_seats_at_once_and_offers_them_to_the_waitlist_in_order(session, run):
    leave_seats(session, run, 3)
    booking = book(session, run, {"adult": 3})
    first = service.join_waitlist(session, run.id, {"adult": 2}, service.Booker("이서연", "010-2222-3333"))
    second = service.join_waitlist(session, run.id, {"adult": 3}, service.Booker("박지훈", "010-4444-5555"))
    third = service.join_waitlist(session, run.id, {"adult": 1}, service.Booker("최유나", "010-6666-7777"))

    service.cancel(session, booking.code, "010-1234-5678", now=NOW)

    statuses = {e.id: e.status for e in session.scalars(select(WaitlistEntry))}
    # 3 seats came free: the first (2) is offered, the second (3) no longer fits, the third (1) does.
    assert statuses == {first.id: "offered", second.id: "waiting", third.id: "offered"}
    assert session.get(Run, run.id).seats_left == 0  # held for the offers
    offered = service.confirm_offer(session, first.id, now=NOW)
    assert (offered.status, offered.seats, offered.total_fee) == ("confirmed", 2, 18400)


def test_cancelling_without_a_waitlist_returns_the_seats_to_sale(session, run):
    booking = book(session, run, {"adult": 2})
    service.cancel(session, booking.code, "01012345678", now=NOW)
    assert session.get(Run, run.id).seats_left == run.capacity
    assert session.get(DayQuota, (run.course_id, WEDNESDAY)).seats_sold == 0


def test_changing_to_a_full_run_keeps_the_old_seats(session, run):
    booking = book(session, run, {"adult": 2})
    full = run_at(session, WEDNESDAY, 13, 30)
    leave_seats(session, full, 1)
    with pytest.raises(SoldOut):
        service.change(session, booking.code, "010-1234-5678", run_id=full.id, now=NOW)
    session.expire_all()
    kept = session.get(Booking, booking.id)
    assert (kept.run_id, kept.seats) == (run.id, 2)
    assert session.get(Run, run.id).seats_sold == 2
    assert session.get(Run, full.id).seats_left == 1


def test_changing_date_and_party_moves_the_seats_and_the_fee(session, run):
    booking = book(session, run, {"adult": 2})
    saturday = run_at(session, date(2026, 12, 5), 11, 0, "monorail")
    changed = service.change(session, booking.code, "010-1234-5678", saturday.id, {"adult": 1, "child": 1}, NOW)
    assert (changed.run_id, changed.seats, changed.total_fee) == (saturday.id, 2, 12200 + 8200)
    assert session.get(Run, run.id).seats_sold == 0
    assert session.get(Run, saturday.id).seats_sold == 2


def _race_for_last_seats(sessions, run_id: int, bookers: int = 50) -> tuple[int, int]:
    def attempt(n: int) -> str:
        with sessions() as session:
            try:
                service.book(session, run_id, {"adult": 1}, service.Booker("김민수", f"010-1000-{n:04d}"), now=NOW)
                return "booked"
            except SoldOut:
                return "sold out"

    with ThreadPoolExecutor(max_workers=bookers) as pool:
        outcomes = list(pool.map(attempt, range(bookers)))
    return outcomes.count("booked"), outcomes.count("sold out")


def _assert_exactly_five_sold(sessions, run_id: int) -> None:
    with sessions() as session:
        run = session.get(Run, run_id)
        assert run.seats_left == 0
        assert session.scalar(select(func.count()).select_from(Booking).where(Booking.run_id == run_id)) == 5


def test_last_five_seats_go_to_exactly_five_of_fifty_concurrent_bookers_on_sqlite(sessions, session, run):
    leave_seats(session, run, 5)
    assert _race_for_last_seats(sessions, run.id) == (5, 45)
    _assert_exactly_five_sold(sessions, run.id)


@pytest.mark.postgres
def test_last_five_seats_go_to_exactly_five_of_fifty_concurrent_bookers_on_postgres():
    with temporary_database() as url:
        upgrade(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            seed(session)
            run = run_at(session, WEDNESDAY, 9, 20)
            leave_seats(session, run, 5)
            run_id = run.id
        assert _race_for_last_seats(sessions, run_id) == (5, 45)
        _assert_exactly_five_sold(sessions, run_id)
        engine.dispose()


# --- races on one booking or one offer ----------------------------------------------------------
# Each test runs on SQLite and on PostgreSQL: SQLite's single writer queues the requests, while
# PostgreSQL really runs them side by side, which is where a check made in Python goes stale.


@pytest.fixture
def postgres_sessions():
    with temporary_database() as url:
        upgrade(url)
        engine = make_engine(url)
        maker = make_sessionmaker(engine)
        with maker() as session:
            seed(session)
        yield maker
        engine.dispose()


def _at_once(count: int, attempt) -> list[str]:
    """Runs `attempt(n)` in `count` threads released together; each returns what happened to it."""
    start = threading.Barrier(count)

    def released(n: int) -> str:
        start.wait()
        return attempt(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))


def _eight_cancels_of_one_of_ten_bookings(sessions) -> None:
    with sessions() as session:
        run = run_at(session, WEDNESDAY, 9, 20)
        codes = [
            book(session, run, {"adult": 2}, service.Booker("김민수", f"010-1000-{n:04d}")).code for n in range(10)
        ]
        run_id, course_id = run.id, run.course_id

    def cancel(_n: int) -> str:
        with sessions() as session:
            try:
                return service.cancel(session, codes[0], "010-1000-0000", now=NOW).status
            except AlreadyCancelled as refusal:
                return refusal.code

    assert sorted(_at_once(8, cancel)) == ["already_cancelled"] * 7 + ["cancelled"]
    with sessions() as session:
        assert session.get(Run, run_id).seats_sold == 18
        assert session.get(DayQuota, (course_id, WEDNESDAY)).seats_sold == 18


def test_eight_concurrent_cancels_of_one_booking_release_its_seats_once_on_sqlite(sessions):
    _eight_cancels_of_one_of_ten_bookings(sessions)


@pytest.mark.postgres
def test_eight_concurrent_cancels_of_one_booking_release_its_seats_once_on_postgres(postgres_sessions):
    _eight_cancels_of_one_of_ten_bookings(postgres_sessions)


def _eight_changes_of_one_booking_to_two_runs(sessions) -> None:
    with sessions() as session:
        course = service.get_course(session, "dmz-peace")
        first, second, third = service.list_runs(session, course, WEDNESDAY, "walk")[:3]
        code = book(session, first, {"adult": 2}).code
        targets = [second.id, third.id]
        run_ids = [first.id, second.id, third.id]

    def change(n: int) -> str:
        with sessions() as session:
            try:
                service.change(session, code, "010-1234-5678", run_id=targets[n % 2], now=NOW)
                return "changed"
            except AlreadyCancelled as refusal:
                return refusal.code

    # Each change is applied after the one before it, as if they had come one by one.
    assert _at_once(8, change) == ["changed"] * 8
    with sessions() as session:
        booking = session.scalar(select(Booking).where(Booking.code == code))
        sold = {run_id: session.get(Run, run_id).seats_sold for run_id in run_ids}
        assert booking.run_id in targets
        assert sold == {run_id: 2 if run_id == booking.run_id else 0 for run_id in run_ids}
        assert session.get(DayQuota, (course.id, WEDNESDAY)).seats_sold == 2


def test_concurrent_changes_of_one_booking_move_its_seats_once_on_sqlite(sessions):
    _eight_changes_of_one_booking_to_two_runs(sessions)


@pytest.mark.postgres
def test_concurrent_changes_of_one_booking_move_its_seats_once_on_postgres(postgres_sessions):
    _eight_changes_of_one_booking_to_two_runs(postgres_sessions)


def _an_offer_confirmed_and_expired_at_once(sessions) -> None:
    with sessions() as session:
        run = run_at(session, WEDNESDAY, 9, 20)
        leave_seats(session, run, 2)
        code = book(session, run, {"adult": 2}).code
        entry = service.join_waitlist(session, run.id, {"adult": 2}, service.Booker("이서연", "010-2222-3333"))
        service.cancel(session, code, "010-1234-5678", now=NOW)
        session.refresh(entry)
        assert entry.status == "offered"
        entry_id, run_id, deadline = entry.id, run.id, entry.offered_until

    def confirm_or_expire(n: int) -> str:
        with sessions() as session:
            if n % 2:
                expired = service.expire_offers(session, deadline)
                session.commit()
                return f"expired {len(expired)}"
            try:
                service.confirm_offer(session, entry_id, now=deadline - timedelta(seconds=1))
                return "booked"
            except BookingNotFound as refusal:
                return refusal.code

    outcomes = _at_once(8, confirm_or_expire)
    assert outcomes.count("expired 1") + outcomes.count("booked") == 1
    assert outcomes.count("expired 0") + outcomes.count("booking_not_found") == 7
    with sessions() as session:
        entry = session.get(WaitlistEntry, entry_id)
        bookings = session.scalars(select(Booking).where(Booking.run_id == run_id, Booking.status == "confirmed"))
        seats_booked = sum(b.seats for b in bookings)
        if "booked" in outcomes:
            assert (entry.status, seats_booked) == ("booked", 2)
            assert entry.booking_id is not None
        else:
            assert (entry.status, seats_booked, entry.booking_id) == ("expired", 0, None)
        run = session.get(Run, run_id)
        assert run.seats_sold == run.capacity - 2 + seats_booked


def test_an_offer_confirmed_and_expired_at_once_ends_in_one_state_with_its_seats_counted_once_on_sqlite(sessions):
    _an_offer_confirmed_and_expired_at_once(sessions)


@pytest.mark.postgres
def test_an_offer_confirmed_and_expired_at_once_ends_in_one_state_with_its_seats_counted_once_on_postgres(
    postgres_sessions,
):
    _an_offer_confirmed_and_expired_at_once(postgres_sessions)
