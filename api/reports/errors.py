"""Typed errors of the citizen reports domain; each is raised with its reason in English and Korean."""

from api.core.errors import Conflict, DomainError, InvalidInput, NotFound


class ReportCaseNotFound(NotFound):
    code = "report_not_found"


class ReportPhotoNotFound(InvalidInput):
    code = "report_photo_not_found"


class UnknownReportKind(InvalidInput):
    code = "unknown_report_kind"


class UnknownDepartment(InvalidInput):
    code = "unknown_department"


class InvalidReport(InvalidInput):
    """A description, message, note or reason that is empty or too long, or a kind code that is malformed."""

    code = "invalid_report"


class ConsentRequired(InvalidInput):
    code = "consent_required"


class TooManyReports(DomainError):
    status_code = 429
    code = "too_many_reports"


class TooManyPhotos(DomainError):
    """Over the photos of one case, or the unfiled photos of one conversation in a day."""

    status_code = 429
    code = "too_many_photos"


class PhotoTooLarge(DomainError):
    status_code = 413
    code = "photo_too_large"


class PhotoNotImage(InvalidInput):
    code = "photo_not_image"


class NotYourReport(DomainError):
    status_code = 403
    code = "not_your_report"


class ReportNotDone(Conflict):
    code = "report_not_done"


class AlreadyRated(Conflict):
    code = "already_rated"


class InvalidRating(InvalidInput):
    code = "invalid_rating"


class ReportClosed(Conflict):
    """A staff action on a case that is done or rejected."""

    code = "report_closed"


class InvalidStatusChange(Conflict):
    code = "invalid_status_change"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class ReportKindExists(Conflict):
    code = "report_kind_exists"


class PlaceNotFound(InvalidInput):
    """A place named in words that the city gazetteer does not know."""

    code = "place_not_found"


class PlaceRequired(InvalidInput):
    code = "place_required"
