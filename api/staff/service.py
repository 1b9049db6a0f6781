"""Rules of staff accounts: argon2 passwords, lockout after repeated failures, sessions, the audit log."""

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.database import utcnow
from api.core.errors import DomainError, InvalidInput
from api.staff.models import AuditEntry, StaffSession, StaffUser

MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=9)  # one working day
_hasher = PasswordHasher()
# Verifying against this when the email is unknown takes as long as a real check.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class SignInFailed(DomainError):
    status_code = 401
    code = "sign_in_failed"


class AccountLocked(DomainError):
    status_code = 423
    code = "account_locked"


def create_user(session: Session, email: str, name: str, password: str, role: str = "staff") -> StaffUser:
    if len(password) < 10:
        raise InvalidInput("A password needs at least 10 characters.", "비밀번호는 10자 이상이어야 해요.")
    user = StaffUser(email=email.strip().lower(), name=name, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.commit()
    return user


def ensure_admin(session: Session, email: str, password: str) -> bool:
    """Creates the first admin from the settings once; returns whether one was created."""
    if not email or not password or session.scalar(select(StaffUser.id).where(StaffUser.email == email.lower())):
        return False
    create_user(session, email, "Administrator", password, role="admin")
    return True


def sign_in(session: Session, email: str, password: str, now: datetime | None = None) -> tuple[str, StaffSession]:
    now = now or utcnow()
    user = session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is not None and user.locked_until and user.locked_until > now:
        raise AccountLocked(
            "Too many failed sign-ins: try again in 15 minutes.", "로그인에 여러 번 실패해 15분 동안 잠겼어요."
        )
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        if user is None or not user.active:
            raise VerificationError
    except VerificationError:
        if user is not None:
            user.failed_sign_ins += 1
            if user.failed_sign_ins >= MAX_FAILED_SIGN_INS:
                user.locked_until, user.failed_sign_ins = now + LOCKOUT, 0
            session.commit()
        raise SignInFailed("Wrong email or password.", "이메일 또는 비밀번호가 맞지 않아요.") from None
    user.failed_sign_ins, user.locked_until = 0, None
    token = secrets.token_urlsafe(32)
    staff_session = StaffSession(
        token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + SESSION_LIFETIME
    )
    session.add(staff_session)
    session.commit()
    return token, staff_session


def user_for_token(session: Session, token: str, now: datetime | None = None) -> StaffUser | None:
    staff_session = session.get(StaffSession, _digest(token))
    if staff_session is None or staff_session.expires_at <= (now or utcnow()) or not staff_session.user.active:
        return None
    return staff_session.user


def sign_out(session: Session, token: str) -> None:
    staff_session = session.get(StaffSession, _digest(token))
    if staff_session is not None:
        session.delete(staff_session)
        session.commit()


def audit(session: Session, user: StaffUser, action: str, subject: str, reason: str) -> AuditEntry:
    entry = AuditEntry(user_id=user.id, action=action, subject=subject, reason=reason)
    session.add(entry)
    session.flush()
    return entry


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
