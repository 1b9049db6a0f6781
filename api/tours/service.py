"""Rules of the tours domain: seats, fares, bookings, changes, cancellations and the waitlist."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from api.core.errors import DomainError, InvalidInput
from api.core.public_holidays import PublicHolidays
from api.identity.errors import InvalidPhone
from api.identity.service import normalize_phone
from api.staff import permissions
from api.staff.service import audit
from api.tours.errors import (
    AlreadyCancelled,
    BookingClosed,
    BookingNotFound,
    DailyLimitReached,
    GroupBookingRequired,
    IdempotencyKeyReused,
    InvalidName,
    InvalidParty,
    PastDate,
    RunNotFound,
    RunNotOpen,
    SoldOut,
    TourNotFound,
)
from api.tours.models import FARE_TYPES, Booking, Course, DayQuota, Fare, Run, WaitlistEntry
from common.clock import SEOUL, utcnow

if TYPE_CHECKING:  # types only: other domains' tables are not read here
    from api.staff.models import StaffUser

MAX_INDIVIDUAL_PARTY = 10
WAITLIST_OFFER_MINUTES = 30
# Booking codes avoid letters and digits people confuse (0/O, 1/I).
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
# "오전" is a departure before noon in Asia/Seoul, "오후" one from noon on.
NOON = time(12, 0)
_NAME = re.compile(r"^[^\W\d_]+(?:[ .'-][^\W\d_]+)*\.?$")


@dataclass(frozen=True)
class Booker:
    name: str
    phone: str
    channel: str | None = None
    channel_user_id: str | None = None


# --- validation ---------------------------------------------------------------------------------


def validate_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= 40 or not _NAME.match(name):
        raise InvalidName(
            "Please give the booker's name in letters, up to 40 characters.",
            "예약자 이름을 글자로 40자 이내로 알려 주세요.",
        )
    return name


def validate_party(party: dict[str, int]) -> int:
    """Returns the number of seats; refuses unknown fare types, bad counts and large groups."""
    unknown = sorted(set(party) - set(FARE_TYPES))
    if unknown:
        raise InvalidParty(
            f"Unknown fare type: {', '.join(unknown)}. Use {', '.join(FARE_TYPES)}.",
            f"알 수 없는 요금 구분입니다: {', '.join(unknown)}.",
        )
    if any(not isinstance(count, int) or count < 0 for count in party.values()):
        raise InvalidParty("Each count must be a whole number, 0 or more.", "인원은 0 이상의 정수로 알려 주세요.")
    seats = sum(party.values())
    if seats == 0:
        raise InvalidParty("A booking needs at least one person.", "최소 1명 이상 예약해 주세요.")
    if seats > MAX_INDIVIDUAL_PARTY:
        raise GroupBookingRequired(
            f"Individual bookings are for up to {MAX_INDIVIDUAL_PARTY} people; {seats} is a group booking.",
            f"개인 예약은 {MAX_INDIVIDUAL_PARTY}명까지예요. {seats}명은 단체 예약으로 신청해 주세요.",
        )
    if party.get("child") and seats == party["child"]:
        raise InvalidParty("Children must be accompanied by an adult.", "어린이는 보호자(성인)와 함께 예약해 주세요.")
    return seats


def is_closed(day: date, holidays: PublicHolidays) -> bool:
    """The tour does not run on Mondays and public holidays."""
    return day.weekday() == 0 or day in holidays


def booking_window_end(now: datetime) -> date:
    """Last bookable day: the end of next month (next month's dates open on the 1st)."""
    today = now.astimezone(SEOUL).date()
    first_of_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return (first_of_next + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _check_bookable(departure: _Departure, now: datetime) -> None:
    run, cutoff_minutes = departure.run, departure.cutoff_minutes
    if run.status != "open":
        raise RunNotOpen("This departure is closed for booking.", "이 회차는 운영하지 않아 예약할 수 없어요.")
    if run.starts_at - timedelta(minutes=cutoff_minutes) <= now:
        raise BookingClosed(
            f"Booking for this departure has closed ({cutoff_minutes} minutes before it leaves).",
            f"이 회차는 출발 {cutoff_minutes}분 전에 예약이 마감되었어요.",
        )
    if run.date > booking_window_end(now):
        raise _not_open_yet(run.date)


def _not_open_yet(day: date) -> BookingClosed:
    # A month's dates open on the 1st of the month before.
    opens = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    return BookingClosed(
        f"Bookings for {day:%B %Y} open on {opens:%B} 1, {opens.year}.",
        f"{day.year}년 {day.month}월 예약은 {opens.month}월 1일부터 열려요.",
    )


def check_day(day: date, now: datetime) -> None:
    """Refuses a day no booking can be for: one already past, or one beyond the booking window."""
    if day < now.astimezone(SEOUL).date():
        raise PastDate("That day has passed.", "이미 지난 날짜예요.")
    if day > booking_window_end(now):
        raise _not_open_yet(day)


def part_of_day(starts_at: datetime) -> str:
    """A departure before noon in Asia/Seoul is in the "morning", one from noon on in the "afternoon"."""
    return "morning" if starts_at.astimezone(SEOUL).time() < NOON else "afternoon"


# --- reading ------------------------------------------------------------------------------------


def list_courses(session: Session) -> list[Course]:
    return list(session.scalars(select(Course).order_by(Course.id)))


def get_course(session: Session, tour_id: int | str) -> Course:
    """A tour by its id (an int) or its code (a str): the caller says which, so no text is taken for a number."""
    course = (
        session.get(Course, tour_id)
        if isinstance(tour_id, int)
        else session.scalar(select(Course).where(Course.code == tour_id))
    )
    if course is None:
        # Said to citizens as it is: the internal code or id they never typed stays out of it.
        raise TourNotFound(
            "That tour does not exist or is not offered now.", "찾으시는 투어가 없거나 지금은 운영하지 않아요."
        )
    return course


def list_runs(session: Session, course: Course, day: date, option: str | None = None) -> list[Run]:
    query = select(Run).where(Run.course_id == course.id, Run.date == day)
    if option:
        query = query.where(Run.option == option)
    # Walking before monorail at the same time: the cheaper, larger option first.
    return list(session.scalars(query.order_by(Run.starts_at, Run.option.desc())))


def get_run(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise RunNotFound(f"No departure {run_id}.", f"{run_id}번 회차를 찾을 수 없어요.")
    return run


class _Departure(NamedTuple):
    """A run with all a booking reads of its course: when booking closes, and the fare of each fare type."""

    run: Run
    cutoff_minutes: int
    fares: dict[str, int]


# The statements every booking runs are built once, with their values as parameters: SQLAlchemy takes longer
# to build a statement and find it compiled than PostgreSQL takes to run it.
_DEPARTURE = (
    select(Run, Course.booking_cutoff_minutes, Fare.fare_type, Fare.transport_won + Fare.facility_won)
    .join(Run.course)
    .outerjoin(Fare, (Fare.course_id == Run.course_id) & (Fare.option == Run.option))
    .where(Run.id == bindparam("run_id"))
)
_BOOKING_BY_KEY = select(Booking).where(Booking.idempotency_key == bindparam("key"))
# On the tables rather than the classes: these change no loaded object, and the ORM's UPDATE takes longer.
_runs, _day_quotas, _bookings = Run.__table__, DayQuota.__table__, Booking.__table__
_INSERT_BOOKING = insert(_bookings).returning(_bookings.c.id)
_CLAIM_RUN_SEATS = (
    update(_runs)
    .where(
        _runs.c.id == bindparam("run_id"),
        _runs.c.status == "open",
        _runs.c.seats_sold + bindparam("seats") <= _runs.c.capacity,
    )
    .values(seats_sold=_runs.c.seats_sold + bindparam("seats"))
    .returning(_runs.c.seats_sold)
)
_CLAIM_DAY_SEATS = (
    update(_day_quotas)
    .where(
        _day_quotas.c.course_id == bindparam("course"),
        _day_quotas.c.date == bindparam("day"),
        _day_quotas.c.seats_sold + bindparam("seats") <= _day_quotas.c.capacity,
    )
    .values(seats_sold=_day_quotas.c.seats_sold + bindparam("seats"))
)


def _departure(session: Session, run_id: int) -> _Departure:
    """The run to book, its course's cut-off and its option's fares, in one query."""
    rows = session.execute(_DEPARTURE, {"run_id": run_id}).all()
    if not rows:
        raise RunNotFound(f"No departure {run_id}.", f"{run_id}번 회차를 찾을 수 없어요.")
    run, cutoff_minutes = rows[0][0], rows[0][1]
    return _Departure(run, cutoff_minutes, {fare_type: won for _, _, fare_type, won in rows if fare_type})


def quote(fares: dict[str, int], party: dict[str, int]) -> int:
    """Total fee in won for a party, from the fares of the run's option."""
    return sum(fares[fare_type] * count for fare_type, count in party.items() if count)


def find_booking(session: Session, code: str, phone: str) -> Booking:
    """A booking by its code, shown only to someone who also knows the booker's phone."""
    booking = session.scalar(select(Booking).where(Booking.code == code.strip().upper()))
    try:
        matches = booking is not None and booking.booker_phone == normalize_phone(phone)
    except InvalidPhone:
        matches = False
    if not matches:
        raise BookingNotFound(
            "No booking matches that code and phone number.", "예약번호와 전화번호가 일치하는 예약이 없어요."
        )
    return booking


def bookings_of_channel_user(
    session: Session, channel: str, channel_user_id: str, status: str | None = None
) -> list[Booking]:
    """A messenger user's latest bookings, newest first; only those in `status` when given."""
    query = select(Booking).where(Booking.channel == channel, Booking.channel_user_id == channel_user_id)
    if status:
        query = query.where(Booking.status == status)
    return list(session.scalars(query.order_by(Booking.created_at.desc()).limit(20)))


# --- seats --------------------------------------------------------------------------------------


def _try_claim(session: Session, run: Run, seats: int) -> type[SoldOut] | type[DailyLimitReached] | None:
    """Takes seats on the run and in the day's quota; returns why not, or None when taken.

    Each claim is one conditional UPDATE, so the check and the change are a single step in the
    database, on SQLite (writers queue on the database lock) and on PostgreSQL (an UPDATE
    re-checks its condition after waiting for a concurrent writer's row lock). After a failure
    the caller rolls back: the run's seats may have been taken before the quota said no.
    The run's seats sold come back from the UPDATE, so showing the run reads nothing again.
    """
    seats_sold = session.execute(_CLAIM_RUN_SEATS, {"run_id": run.id, "seats": seats}).scalar()
    if seats_sold is None:
        return SoldOut
    quota = session.execute(_CLAIM_DAY_SEATS, {"course": run.course_id, "day": run.date, "seats": seats})
    if quota.rowcount != 1:
        session.expire(run, ["seats_sold"])
        return DailyLimitReached
    set_committed_value(run, "seats_sold", seats_sold)
    return None


def _sold_out() -> SoldOut:
    return SoldOut("Not enough seats left on this departure.", "이 회차에는 남은 좌석이 부족해요.")


def _claim_seats(session: Session, run: Run, seats: int) -> None:
    failure = _try_claim(session, run, seats)
    if failure is SoldOut:
        session.rollback()
        raise _sold_out()
    if failure is DailyLimitReached:
        session.rollback()
        raise DailyLimitReached(
            "The daily visitor limit for this day has been reached.", "이 날은 하루 방문 인원이 모두 찼어요."
        )


def _release_seats(session: Session, run: Run, seats: int) -> None:
    session.execute(
        update(Run)
        .where(Run.id == run.id)
        .values(seats_sold=Run.seats_sold - seats)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(DayQuota)
        .where(DayQuota.course_id == run.course_id, DayQuota.date == run.date)
        .values(seats_sold=DayQuota.seats_sold - seats)
        .execution_options(synchronize_session=False)
    )
    session.expire(run, ["seats_sold"])


def _update_if_unchanged(session: Session, booking: Booking, **values: object) -> bool:
    """Writes `values` to a booking only if it is still confirmed on the run and seats it was read with.

    Like a seat claim, the check and the write are one conditional UPDATE, and the row stays locked
    until commit: of two requests that read the same booking, the second finds it changed, does
    nothing, and the seats are released once. The booking is reloaded when next read.
    """
    updated = session.execute(
        update(Booking)
        .where(
            Booking.id == booking.id,
            Booking.status == "confirmed",
            Booking.run_id == booking.run_id,
            Booking.seats == booking.seats,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.expire(booking)
    return updated.rowcount == 1


def _random_code() -> str:
    # One draw for all the letters: 256 byte values fall evenly on the 32 letters, so every code is as likely.
    return "".join(CODE_ALPHABET[byte % len(CODE_ALPHABET)] for byte in secrets.token_bytes(CODE_LENGTH))


def _new_code(session: Session) -> str:
    while True:
        code = _random_code()
        if not _code_taken(session, code):
            return code


def _code_taken(session: Session, code: str) -> bool:
    return session.scalar(select(Booking.id).where(Booking.code == code)) is not None


# --- booking ------------------------------------------------------------------------------------


def book(
    session: Session,
    run_id: int,
    party: dict[str, int],
    booker: Booker,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> tuple[Booking, bool]:
    """Books seats; returns the booking and whether it is new (False: the key was used before).

    The key is looked up only when no booking could be made: a retry (a double tap, a timeout) meets the unique
    key at the latest, or a rule first (the seats it took are gone, the departure has closed), and is then
    answered with the booking its key made. The first request, nearly every one, spends no query on it.
    """
    try:
        return _book_new(session, run_id, party, booker, idempotency_key, now or utcnow()), True
    except (DomainError, IntegrityError):  # refused seats and a refused INSERT are rolled back already
        earlier = session.scalar(_BOOKING_BY_KEY, {"key": idempotency_key}) if idempotency_key else None
        if earlier is None:
            raise
        return _same_request(earlier, run_id, party), False


def _book_new(
    session: Session, run_id: int, party: dict[str, int], booker: Booker, idempotency_key: str | None, now: datetime
) -> Booking:
    party = {fare_type: count for fare_type, count in party.items() if count}
    seats = validate_party(party)
    name, phone = validate_name(booker.name), normalize_phone(booker.phone)
    departure = _departure(session, run_id)
    _check_bookable(departure, now)
    fee = quote(departure.fares, party)

    _claim_seats(session, departure.run, seats)
    # A code already taken is not looked for first: it is that rare (32⁶ codes), and the unique index refuses it.
    booking = Booking(
        code=_random_code(),
        run_id=run_id,
        party=party,
        seats=seats,
        booker_name=name,
        booker_phone=phone,
        status="confirmed",
        total_fee=fee,
        channel=booker.channel,
        channel_user_id=booker.channel_user_id,
        idempotency_key=idempotency_key,
        created_at=now,
        updated_at=now,
        cancelled_at=None,
    )
    try:
        _insert(session, booking)
    except IntegrityError:
        # The same key arrived twice at once (the other request won), or the code was taken: ours gives its
        # seats back either way, and in the second case books them again under another code.
        session.rollback()
        if not _code_taken(session, booking.code):
            raise
        return _book_new(session, run_id, party, booker, idempotency_key, now)
    set_committed_value(booking, "run", departure.run)  # shown with the booking, and nothing of it to write
    session.commit()
    return booking


def _insert(session: Session, booking: Booking) -> None:
    """Writes a new booking, every column given, with one INSERT, and adds it to the session as the row it now is.

    The session's flush would write the same row, but its unit of work takes longer than the statement.
    """
    values = {column.key: getattr(booking, column.key) for column in _bookings.columns if column.key != "id"}
    booking.id = session.execute(_INSERT_BOOKING, values).scalar_one()
    make_transient_to_detached(booking)
    session.add(booking)


def _same_request(earlier: Booking, run_id: int, party: dict[str, int]) -> Booking:
    if earlier.run_id != run_id or earlier.party != {k: v for k, v in party.items() if v}:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different booking.",
            "이 요청 키는 다른 예약에 이미 사용되었어요.",
        )
    return earlier


def cancel(session: Session, code: str, phone: str, now: datetime | None = None) -> Booking:
    """Cancels a booking; its seats are free at once and offered to the run's waitlist in order."""
    now = now or utcnow()
    booking = find_booking(session, code, phone)
    if booking.status == "cancelled":
        raise AlreadyCancelled("This booking is already cancelled.", "이미 취소된 예약이에요.")
    if booking.run.starts_at <= now:
        raise BookingClosed("This tour has already left.", "이미 출발한 투어는 취소할 수 없어요.")
    run, seats = booking.run, booking.seats
    if not _update_if_unchanged(session, booking, status="cancelled", cancelled_at=now, updated_at=now):
        # Another request cancelled or changed it after we read it: answer as if ours came after that one.
        session.rollback()
        return cancel(session, code, phone, now)
    _release_seats(session, run, seats)
    _offer_to_waitlist(session, run, now)
    session.commit()
    return booking


def change(
    session: Session,
    code: str,
    phone: str,
    run_id: int | None = None,
    party: dict[str, int] | None = None,
    now: datetime | None = None,
) -> Booking:
    """Moves a booking to another run and/or party, all or nothing: if the new seats cannot be
    had, the booking keeps its old seats."""
    now = now or utcnow()
    booking = find_booking(session, code, phone)
    if booking.status != "confirmed":
        raise AlreadyCancelled("A cancelled booking cannot be changed.", "취소된 예약은 변경할 수 없어요.")
    old_run = booking.run
    departure = _departure(session, run_id or booking.run_id)
    new_run = departure.run
    new_party = {k: v for k, v in (party or booking.party).items() if v}
    seats = validate_party(new_party)
    _check_bookable(departure, now)
    fee = quote(departure.fares, new_party)

    old_seats = booking.seats
    moved = _update_if_unchanged(
        session, booking, run_id=new_run.id, party=new_party, seats=seats, total_fee=fee, updated_at=now
    )
    if not moved:
        # Another request cancelled or changed it after we read it: apply ours to what it is now.
        session.rollback()
        return change(session, code, phone, run_id, party, now)
    _release_seats(session, old_run, old_seats)
    _claim_seats(session, new_run, seats)  # rolls back the release and the move too when it fails
    _offer_to_waitlist(session, old_run, now)
    session.commit()
    return booking


# --- waitlist -----------------------------------------------------------------------------------


def join_waitlist(session: Session, run_id: int, party: dict[str, int], booker: Booker) -> WaitlistEntry:
    party = {k: v for k, v in party.items() if v}
    seats = validate_party(party)
    entry = WaitlistEntry(
        run_id=get_run(session, run_id).id,
        party=party,
        seats=seats,
        booker_name=validate_name(booker.name),
        booker_phone=normalize_phone(booker.phone),
        channel=booker.channel,
        channel_user_id=booker.channel_user_id,
    )
    session.add(entry)
    session.commit()
    return entry


def _offer_to_waitlist(session: Session, run: Run, now: datetime) -> list[WaitlistEntry]:
    """Holds freed seats for waiting people, first come first served, for a limited time."""
    offered = []
    waiting = session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.run_id == run.id, WaitlistEntry.status == "waiting")
        .order_by(WaitlistEntry.id)
    )
    for entry in list(waiting):
        savepoint = session.begin_nested()
        if _try_claim(session, run, entry.seats):
            savepoint.rollback()
            continue
        savepoint.commit()
        entry.status = "offered"
        entry.offered_until = now + timedelta(minutes=WAITLIST_OFFER_MINUTES)
        offered.append(entry)
    return offered


def confirm_offer(session: Session, entry_id: int, now: datetime | None = None) -> Booking:
    """Turns a waitlist offer into a booking on the seats held for it."""
    now = now or utcnow()
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or entry.status != "offered" or entry.offered_until <= now:
        raise _no_open_offer()
    booking = Booking(
        code=_new_code(session),
        run_id=entry.run_id,
        party=entry.party,
        seats=entry.seats,
        booker_name=entry.booker_name,
        booker_phone=entry.booker_phone,
        total_fee=quote(_departure(session, entry.run_id).fares, entry.party),
        channel=entry.channel,
        channel_user_id=entry.channel_user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(booking)
    session.flush()
    if not _end_offer(session, entry, "booked", now, booking_id=booking.id):
        # The offer ran out and was passed on after we read it: the booking is not made.
        session.rollback()
        raise _no_open_offer()
    session.commit()
    return booking


def _no_open_offer() -> BookingNotFound:
    return BookingNotFound("There is no open offer for this waitlist place.", "유효한 대기 예약 제안이 없어요.")


def _end_offer(session: Session, entry: WaitlistEntry, status: str, now: datetime, **values: object) -> bool:
    """Moves an offer to "booked" while it runs or to "expired" once it has run out; False if it is no longer an offer.

    One conditional UPDATE, like a seat claim: an offer confirmed and expired at the same moment ends
    in one of the two, so its held seats become a booking or go back, never both.
    """
    in_time = WaitlistEntry.offered_until > now if status == "booked" else WaitlistEntry.offered_until <= now
    ended = session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == "offered", in_time)
        .values(status=status, **values)
        .execution_options(synchronize_session=False)
    )
    session.expire(entry)
    return ended.rowcount == 1


def expire_offers(session: Session, now: datetime) -> list[WaitlistEntry]:
    """Ends the offers not confirmed in time and offers their seats to the next in line; the caller commits."""
    due = session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.status == "offered", WaitlistEntry.offered_until <= now)
        .order_by(WaitlistEntry.id)
    )
    expired = []
    for entry in list(due):
        run, seats = entry.run, entry.seats
        if not _end_offer(session, entry, "expired", now):
            continue  # confirmed after we read it: its seats are a booking's now
        _release_seats(session, run, seats)
        _offer_to_waitlist(session, run, now)
        expired.append(entry)
    return expired


def open_offers(session: Session, now: datetime) -> list[WaitlistEntry]:
    """The waitlist offers that can still be confirmed, oldest first."""
    return list(
        session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.status == "offered", WaitlistEntry.offered_until > now)
            .order_by(WaitlistEntry.id)
        )
    )


def confirm_offer_of(session: Session, entry_id: int, channel: str, channel_user_id: str, now: datetime) -> Booking:
    """Confirms an offer for the messenger user it was made to; to anyone else it does not exist."""
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or (entry.channel, entry.channel_user_id) != (channel, channel_user_id):
        raise _no_open_offer()
    return confirm_offer(session, entry_id, now)


def bookings_on(session: Session, day: date) -> list[Booking]:
    """The confirmed bookings of the departures on a day that are not cancelled, by departure."""
    return list(
        session.scalars(
            select(Booking)
            .join(Run, Run.id == Booking.run_id)
            .where(Run.date == day, Run.status != "cancelled", Booking.status == "confirmed")
            .order_by(Run.starts_at, Booking.id)
        )
    )


def erase_bookers(session: Session, before: date) -> int:
    """Erases booker names and phones of bookings and waitlist places of departures before a day; the caller commits."""
    past_runs = select(Run.id).where(Run.date < before)
    erased = 0
    for table in (Booking, WaitlistEntry):
        erased += session.execute(
            update(table)
            .where(table.run_id.in_(past_runs), (table.booker_name.is_not(None)) | (table.booker_phone.is_not(None)))
            .values(booker_name=None, booker_phone=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    return erased


def chat_booking_key(booker: Booker, run_id: int, party: dict[str, int]) -> str | None:
    """The Idempotency-Key of a booking made in a chat that sent none: the same answers from the same messenger user
    (a double tap on "confirm", a retry after a timeout) make one booking. None outside a chat."""
    if not booker.channel_user_id:
        return None
    answers = [f"{booker.channel}:{booker.channel_user_id}", run_id, party, booker.phone]
    return hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()[:40]


def forget_idempotency_keys(session: Session, before: datetime) -> int:
    """Clears the Idempotency-Keys of bookings made before `before`: a chat's key is derived from the phone
    (`chat_booking_key`), and they only need to outlive a double tap; the caller commits."""
    return session.execute(
        update(Booking)
        .where(Booking.created_at < before, Booking.idempotency_key.is_not(None))
        .values(idempotency_key=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def waitlist_position(session: Session, entry: WaitlistEntry) -> int:
    """1 for the first in line among those still waiting for the run."""
    ahead = session.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(WaitlistEntry.run_id == entry.run_id, WaitlistEntry.status == "waiting", WaitlistEntry.id < entry.id)
    )
    return ahead + 1


def check(
    session: Session,
    run_id: int | None = None,
    party: dict[str, int] | None = None,
    name: str | None = None,
    phone: str | None = None,
    now: datetime | None = None,
) -> int | None:
    """Checks the parts of a booking given so far, as `book` would, without taking seats.

    Lets a conversation re-ask one answer at a time with the reason. Returns the fee once both
    the run and the party are known.
    """
    now = now or utcnow()
    if name is not None:
        validate_name(name)
    if phone is not None:
        normalize_phone(phone)
    seats = validate_party({k: v for k, v in party.items() if v}) if party is not None else None
    if run_id is None:
        return None
    departure = _departure(session, run_id)
    _check_bookable(departure, now)
    if departure.run.seats_left < (seats or 1):
        raise _sold_out()
    return quote(departure.fares, party) if party else None


def runs_with_seats(
    session: Session,
    course: Course,
    start: date,
    seats: int,
    now: datetime,
    limit: int | None = 6,
    until: date | None = None,
) -> list[Run]:
    """The next bookable runs from `start` (to `until`, if given) with room for `seats`, soonest first."""
    last = min(until, booking_window_end(now)) if until else booking_window_end(now)
    query = (
        select(Run)
        .join(DayQuota, (DayQuota.course_id == Run.course_id) & (DayQuota.date == Run.date))
        .where(
            Run.course_id == course.id,
            Run.date >= start,
            Run.date <= last,
            Run.status == "open",
            Run.starts_at > now + timedelta(minutes=course.booking_cutoff_minutes),
            Run.capacity - Run.seats_sold >= seats,
            DayQuota.capacity - DayQuota.seats_sold >= seats,
        )
        .order_by(Run.starts_at, Run.option.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class DayChoices:
    """The departures of one day a citizen may pick, or why there are none."""

    day: date
    closed: bool  # no tour that day (Mondays, public holidays)
    runs: list[Run]
    # When `runs` is empty: the nearest departures from that day with room for the party.
    nearest: list[Run]


def day_choices(
    session: Session,
    course: Course,
    day: date,
    seats: int = 1,
    now: datetime | None = None,
    option: str | None = None,
    part: str | None = None,
) -> DayChoices:
    """The departures of `day` bookable for `seats` people, narrowed to the option and the part of the day the
    citizen named unless that leaves none. Refuses a past day, one not open for booking yet, and a day whose
    departures have all passed their cut-off."""
    now = now or utcnow()
    check_day(day, now)
    timetable = list_runs(session, course, day)
    cutoff = now + timedelta(minutes=course.booking_cutoff_minutes)
    if timetable and all(run.starts_at <= cutoff for run in timetable):
        minutes = course.booking_cutoff_minutes
        raise BookingClosed(
            f"Booking for {day:%B} {day.day} has closed ({minutes} minutes before each departure).",
            f"{day.month}월 {day.day}일 예약은 마감되었어요 (출발 {minutes}분 전 마감).",
        )
    bookable = runs_with_seats(session, course, day, seats, now, limit=None, until=day)
    if not bookable:
        return DayChoices(day, not timetable, [], runs_with_seats(session, course, day, seats, now))
    if option:
        bookable = [run for run in bookable if run.option == option] or bookable
    if part:
        bookable = [run for run in bookable if part_of_day(run.starts_at) == part] or bookable
    return DayChoices(day, False, bookable, [])


def manifest(
    session: Session, run_id: int, reader: StaffUser, reveal_reason: str | None = None
) -> tuple[Run, list[Booking]]:
    """Who is booked on a run, read by a staff member (audited). `reveal_reason` given: the caller shows names and
    phones in full, which needs manifests.reveal and a reason, both in the audit log."""
    if reveal_reason is not None:
        permissions.require(reader, permissions.MANIFESTS_REVEAL)
        if not reveal_reason.strip():
            raise InvalidInput("Say why you need the full names and phones.", "개인정보를 보는 이유를 적어 주세요.")
    run = get_run(session, run_id)
    bookings = session.scalars(
        select(Booking).where(Booking.run_id == run.id, Booking.status == "confirmed").order_by(Booking.created_at)
    )
    action = "view_manifest" if reveal_reason is None else "reveal_manifest"
    audit(session, reader, action, f"run:{run.id}", (reveal_reason or "").strip())
    session.commit()
    return run, list(bookings)


def close_run(session: Session, run_id: int, by: StaffUser) -> Run:
    """Stops sales on a run, for a staff member with runs.close; the bookings it has stay valid."""
    permissions.require(by, permissions.RUNS_CLOSE)
    run = get_run(session, run_id)
    run.status = "closed"
    audit(session, by, "close_run", f"run:{run.id}")
    session.commit()
    return run


# --- figures for the daily report -----------------------------------------------------------------------------


def bookings_made_between(session: Session, start: datetime, end: datetime) -> list[tuple[str, datetime, int]]:
    """The bookings made in [start, end): their course (Korean name), when they were made and their seats."""
    return list(
        session.execute(
            select(Course.name_ko, Booking.created_at, Booking.seats)
            .join(Run, Booking.run_id == Run.id)
            .join(Course, Run.course_id == Course.id)
            .where(Booking.created_at >= start, Booking.created_at < end)
        ).tuples()
    )


def visitors_by_course(session: Session, day: date) -> dict[str, int]:
    """Seats of the confirmed bookings on the day's departures, by course (Korean name)."""
    visited = session.execute(
        select(Course.name_ko, func.sum(Booking.seats))
        .join(Run, Booking.run_id == Run.id)
        .join(Course, Run.course_id == Course.id)
        .where(Run.date == day, Booking.status == "confirmed")
        .group_by(Course.name_ko)
    )
    return {course: int(seats or 0) for course, seats in visited}


def cancellations_between(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """How many bookings were cancelled in [start, end), and their seats."""
    count, seats = session.execute(
        select(func.count(Booking.id), func.coalesce(func.sum(Booking.seats), 0)).where(
            Booking.status == "cancelled", Booking.cancelled_at >= start, Booking.cancelled_at < end
        )
    ).one()
    return count, int(seats)


def seats_by_day(session: Session, first: date, last: date) -> dict[date, tuple[int, int]]:
    """Seats sold and seats offered on each day's departures from `first` to `last` (cancelled runs left out)."""
    rows = session.execute(
        select(Run.date, func.sum(Run.seats_sold), func.sum(Run.capacity))
        .where(Run.date >= first, Run.date <= last, Run.status != "cancelled")
        .group_by(Run.date)
    )
    return {day: (int(sold or 0), int(capacity or 0)) for day, sold, capacity in rows}
