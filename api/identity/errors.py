"""Typed errors of the identity domain, each with its reason in English and Korean."""

from api.core.errors import Conflict, DomainError, InvalidInput


class InvalidPhone(InvalidInput):
    code = "invalid_phone"


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


class SmsNotSent(DomainError):
    """The SMS provider could not be reached or refused the message: no code was issued."""

    status_code = 503
    code = "sms_not_sent"
