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


class PhoneNotLinked(Conflict):
    code = "phone_not_linked"


class NoCodeRequested(Conflict):
    code = "code_not_requested"


class CodeExpired(InvalidInput):
    code = "code_expired"


class WrongCode(InvalidInput):
    code = "wrong_code"


class CodeLocked(DomainError):
    status_code = 429
    code = "code_locked"


class TooManyCodes(DomainError):
    status_code = 429
    code = "too_many_codes"


class IdentityNotConfirmed(DomainError):
    status_code = 403
    code = "identity_not_confirmed"


class SmsNotSent(DomainError):
    """The SMS provider could not be reached or refused the message: no code was issued."""

    status_code = 503
    code = "sms_not_sent"
