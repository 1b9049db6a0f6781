"""HTTP routes of the tours domain: the tour catalogue, departures, bookings and the waitlist."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.core.ids import Id
from api.core.rate_limits import RateLimits, RateLimitsDep, asker
from api.deps import ServiceCallDep, ServiceDep, SessionDep, StaffDep
from api.tours import messaging, service
from api.tours.models import Booking
from api.tours.schemas import (
    BookingChange,
    BookingCheck,
    BookingCheckOut,
    BookingIn,
    BookingLookup,
    BookingOut,
    CourseOut,
    CourseSummary,
    DayChoices,
    Manifest,
    ManifestLine,
    Option,
    PartOfDay,
    RunOut,
    TourKey,
    WaitlistConfirm,
    WaitlistIn,
    WaitlistOut,
)
from common.clock import utcnow
from common.masking import mask_name, mask_phone

router = APIRouter(prefix="/api", tags=["tours"])


def _booking_out(booking: Booking) -> BookingOut:
    return BookingOut(
        code=booking.code,
        status=booking.status,
        total_fee=booking.total_fee,
        party=booking.party,
        seats=booking.seats,
        run=RunOut.model_validate(booking.run),
        booker_name=mask_name(booking.booker_name or ""),
        booker_phone=mask_phone(booking.booker_phone or ""),
        created_at=booking.created_at,
    )


def _booker(body: BookingIn, service_call: bool) -> service.Booker:
    # Only the gateway and actions may tie a booking to a messenger user ("my bookings" trusts it).
    channel = (body.channel, body.channel_user_id) if service_call else (None, None)
    return service.Booker(body.name, body.phone, *channel)


def _count_booking_lookup(request: Request, limits: RateLimits, service_call: bool, code: str, phone: str) -> None:
    """A code and a phone are a guess until they match: each lookup, cancel or change counts as one, for
    the asker and for the code, so neither one address nor many can try codes and phones at length."""
    citizen = "phone:" + "".join(c for c in phone if c.isdigit())
    limits.hit(
        ("booking_lookup_per_client", asker(request, service_call, citizen)),
        ("booking_lookup_per_code", code.strip().upper()),
    )


@router.get("/tours", response_model=list[CourseSummary])
def list_tours(session: SessionDep) -> list[CourseSummary]:
    return [CourseSummary.model_validate(c) for c in service.list_courses(session)]


@router.get("/tours/{tour_id}", response_model=CourseOut)
def tour(tour_id: TourKey, session: SessionDep, request: Request) -> CourseOut:
    course = CourseOut.model_validate(service.get_course(session, tour_id))
    return course.model_copy(update={"booker_retention_days": request.app.state.settings.booker_retention_days})


@router.get("/tours/{tour_id}/runs", response_model=list[RunOut])
def runs(
    tour_id: TourKey,
    session: SessionDep,
    day: Annotated[date, Query(alias="date", description="YYYY-MM-DD, in Asia/Seoul")],
    option: Option | None = None,
) -> list[RunOut]:
    course = service.get_course(session, tour_id)
    return [RunOut.model_validate(r) for r in service.list_runs(session, course, day, option)]


@router.get("/tours/{tour_id}/runs/available", response_model=list[RunOut])
def available_runs(
    tour_id: TourKey,
    session: SessionDep,
    start: Annotated[date, Query(alias="from", description="first day to look at, YYYY-MM-DD")],
    seats: Annotated[int, Query(ge=1, le=10)] = 1,
    limit: Annotated[int, Query(ge=1, le=20)] = 6,
) -> list[RunOut]:
    course = service.get_course(session, tour_id)
    found = service.runs_with_seats(session, course, start, seats, utcnow(), limit)
    return [RunOut.model_validate(r) for r in found]


@router.get("/tours/{tour_id}/runs/choices", response_model=DayChoices)
def run_choices(
    tour_id: TourKey,
    session: SessionDep,
    day: Annotated[date, Query(alias="date", description="YYYY-MM-DD, in Asia/Seoul")],
    seats: Annotated[int, Query(ge=1, le=10)] = 1,
    option: Option | None = None,
    part_of_day: PartOfDay | None = None,
) -> DayChoices:
    """The departures of a day a citizen may pick for a party, labelled in Korean and English: 422 `past_date` for a
    day gone by, 422 `booking_closed` for one not open for booking yet or closed for the day."""
    course = service.get_course(session, tour_id)
    found = service.day_choices(session, course, day, seats, utcnow(), option, part_of_day)
    return DayChoices(
        date=day,
        day_ko=messaging.day_label(day, "ko"),
        day_en=messaging.day_label(day, "en"),
        closed=found.closed,
        runs=[RunOut.model_validate(r) for r in found.runs],
        nearest=[RunOut.model_validate(r) for r in found.nearest],
    )


@router.post("/bookings/check", response_model=BookingCheckOut)
def check_booking(body: BookingCheck, session: SessionDep) -> BookingCheckOut:
    return BookingCheckOut(total_fee=service.check(session, body.run_id, body.party, body.name, body.phone))


@router.post("/bookings", response_model=BookingOut, status_code=201)
async def create_booking(
    body: BookingIn,
    request: Request,
    session: SessionDep,
    service_call: ServiceCallDep,
    limits: RateLimitsDep,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=128, description="without one, a chat's booking gets one derived from its answers"),
    ] = None,
) -> BookingOut:
    # The busiest write takes one trip to a worker thread: a plain function's answer would take a second one,
    # as FastAPI checks it against the response model in a thread too.
    return await run_in_threadpool(_create_booking, body, request, session, service_call, limits, idempotency_key)


def _create_booking(
    body: BookingIn,
    request: Request,
    session: Session,
    service_call: bool,
    limits: RateLimits,
    idempotency_key: str | None,
) -> BookingOut:
    booker = f"{body.channel}:{body.channel_user_id}" if body.channel_user_id else f"phone:{body.phone}"
    limits.hit(("booking_create_per_client", asker(request, service_call, booker)))
    booker_of_chat = _booker(body, service_call)
    key = idempotency_key or service.chat_booking_key(booker_of_chat, body.run_id, body.party)
    booking, _created = service.book(session, body.run_id, body.party, booker_of_chat, key)
    return _booking_out(booking)


@router.get("/bookings", response_model=list[BookingOut], dependencies=[ServiceDep])
def bookings_of_user(
    session: SessionDep,
    channel: str,
    channel_user_id: Annotated[str, Query(max_length=128)],
    status: Literal["confirmed", "cancelled"] | None = None,
) -> list[BookingOut]:
    found = service.bookings_of_channel_user(session, channel, channel_user_id, status)
    return [_booking_out(b) for b in found]


@router.get("/bookings/{code}", response_model=BookingOut)
def booking(
    code: str,
    phone: Annotated[str, Query(max_length=40)],
    session: SessionDep,
    request: Request,
    service_call: ServiceCallDep,
    limits: RateLimitsDep,
) -> BookingOut:
    _count_booking_lookup(request, limits, service_call, code, phone)
    return _booking_out(service.find_booking(session, code, phone))


@router.post("/bookings/{code}/cancel", response_model=BookingOut)
def cancel_booking(
    code: str,
    body: BookingLookup,
    session: SessionDep,
    request: Request,
    service_call: ServiceCallDep,
    limits: RateLimitsDep,
) -> BookingOut:
    _count_booking_lookup(request, limits, service_call, code, body.phone)
    return _booking_out(service.cancel(session, code, body.phone))


@router.post("/bookings/{code}/change", response_model=BookingOut)
def change_booking(
    code: str,
    body: BookingChange,
    session: SessionDep,
    request: Request,
    service_call: ServiceCallDep,
    limits: RateLimitsDep,
) -> BookingOut:
    _count_booking_lookup(request, limits, service_call, code, body.phone)
    return _booking_out(service.change(session, code, body.phone, body.run_id, body.party))


@router.post("/runs/{run_id}/waitlist", response_model=WaitlistOut, status_code=201)
def join_waitlist(run_id: Id, body: WaitlistIn, session: SessionDep, service_call: ServiceCallDep) -> WaitlistOut:
    entry = service.join_waitlist(session, run_id, body.party, _booker(body, service_call))
    return WaitlistOut(
        id=entry.id,
        run_id=entry.run_id,
        status=entry.status,
        seats=entry.seats,
        position=service.waitlist_position(session, entry),
    )


@router.post("/waitlist/{entry_id}/confirm", response_model=BookingOut, dependencies=[ServiceDep])
def confirm_waitlist_offer(entry_id: Id, body: WaitlistConfirm, session: SessionDep) -> BookingOut:
    """A citizen pressed "confirm" on a waitlist offer (the automation job sent it): the held seats become a booking."""
    booking = service.confirm_offer_of(session, entry_id, body.channel, body.channel_user_id, utcnow())
    return _booking_out(booking)


@router.get("/staff/runs/{run_id}/manifest", response_model=Manifest, tags=["staff"])
def run_manifest(
    run_id: Id,
    session: SessionDep,
    user: StaffDep,
    reveal: bool = False,
    reason: Annotated[str | None, Query(max_length=300)] = None,
) -> Manifest:
    """Who is booked on a run; every read is audited. Names and phones are masked unless `reveal` with a `reason`,
    which needs the manifests.reveal permission."""
    run, bookings = service.manifest(session, run_id, user, (reason or "") if reveal else None)
    return Manifest(
        run=RunOut.model_validate(run),
        seats_booked=sum(b.seats for b in bookings),
        revealed=reveal,
        bookings=[
            ManifestLine(
                code=b.code,
                party=b.party,
                seats=b.seats,
                booker_name=(b.booker_name or "") if reveal else mask_name(b.booker_name or ""),
                booker_phone=(b.booker_phone or "") if reveal else mask_phone(b.booker_phone or ""),
            )
            for b in bookings
        ],
    )


@router.post("/staff/runs/{run_id}/close", response_model=RunOut, tags=["staff"])
def close_run(run_id: Id, session: SessionDep, user: StaffDep) -> RunOut:
    """Needs the runs.close permission."""
    return RunOut.model_validate(service.close_run(session, run_id, user))
