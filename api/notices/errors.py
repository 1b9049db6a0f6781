"""Typed errors of the notices domain, each with its reason in English and Korean."""

from api.core.errors import Conflict, DomainError, InvalidInput, NotFound


class NoticeNotFound(NotFound):
    code = "notice_not_found"


class NoticeWithdrawn(Conflict):
    code = "notice_withdrawn"


class InvalidNotice(InvalidInput):
    code = "invalid_notice"


class UnknownCategory(InvalidInput):
    code = "unknown_category"


class PersonalNoticeNotFound(NotFound):
    """Also what a conversation hears about a notice addressed to someone else: it learns nothing."""

    code = "personal_notice_not_found"


class IdentityNotConfirmed(DomainError):
    status_code = 403
    code = "identity_not_confirmed"
