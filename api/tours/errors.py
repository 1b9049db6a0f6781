"""Typed errors of the tours domain, each with its reason in English and Korean."""

from api.core.errors import Conflict, InvalidInput, NotFound


class TourNotFound(NotFound):
    code = "tour_not_found"


class RunNotFound(NotFound):
    code = "run_not_found"


class BookingNotFound(NotFound):
    code = "booking_not_found"


class SoldOut(Conflict):
    code = "sold_out"


class DailyLimitReached(Conflict):
    code = "daily_limit_reached"


class RunNotOpen(Conflict):
    code = "run_not_open"


class AlreadyCancelled(Conflict):
    code = "already_cancelled"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class BookingClosed(InvalidInput):
    """Too late (departed or past the cut-off) or too early (the month is not open yet)."""

    code = "booking_closed"


class PastDate(InvalidInput):
    """A day before today: no booking can be for it."""

    code = "past_date"


class GroupBookingRequired(InvalidInput):
    code = "group_booking_required"


class InvalidParty(InvalidInput):
    code = "invalid_party"


class InvalidName(InvalidInput):
    code = "invalid_name"
