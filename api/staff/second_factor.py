"""Admins' second sign-in factor: an authenticator app (TOTP, RFC 6238, with pyotp) enrolled at the first
sign-in and confirmed by its first code; each code is accepted once."""

import hmac
import re
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from api.core.errors import Conflict, DomainError
from api.staff.models import StaffUser

ISSUER = "Paju City console"
# A code of the step before or after still counts: phone clocks drift by a few seconds.
DRIFT_STEPS = 1
_CODE = re.compile(r"^\d{6}$")


class WrongCode(DomainError):
    status_code = 401
    code = "wrong_second_factor"


class AlreadyEnrolled(Conflict):
    code = "second_factor_enrolled"


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str  # otpauth://, what a QR code would carry


def needed(user: StaffUser, required: bool) -> bool:
    """`required` is the ADMIN_TOTP_REQUIRED setting; staff sign in with their password alone."""
    return required and user.role == "admin"


def enrolled(user: StaffUser) -> bool:
    return user.totp_enrolled_at is not None


def enrolment(session: Session, user: StaffUser) -> Enrolment:
    """The secret to put into an authenticator app: the same one until its first code confirms it, and never
    shown again after that."""
    if enrolled(user):
        raise AlreadyEnrolled("The authenticator app is set up already.", "인증 앱이 이미 등록되어 있어요.")
    if user.totp_secret is None:
        user.totp_secret = pyotp.random_base32()
        session.commit()
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrolment(user.totp_secret, uri)


def accept(session: Session, user: StaffUser, code: str, now: datetime) -> None:
    """A right code, not used before: it confirms a pending enrolment. Anything else raises WrongCode."""
    step = _matching_step(user.totp_secret, code.replace(" ", ""), now)
    if step is None or not _claim_step(session, user, step):
        raise WrongCode(
            "Wrong or already used code: wait for the next one.",
            "인증 코드가 맞지 않거나 이미 쓴 코드예요. 다음 코드를 입력해 주세요.",
        )
    if not enrolled(user):
        user.totp_enrolled_at = now
    session.commit()


def _matching_step(secret: str | None, code: str, now: datetime) -> int | None:
    if not secret or not _CODE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(session: Session, user: StaffUser, step: int) -> bool:
    """Moves the last used step forward in one conditional UPDATE: of two sign-ins with one code, one wins."""
    claimed = session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    user.totp_last_step = step
    return True
