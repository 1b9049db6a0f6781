"""Rules of staff accounts: argon2 passwords, lockout after repeated failures, sessions, the audit log."""

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.core.errors import Conflict, DomainError, InvalidInput, NotFound
from api.staff.models import AuditEntry, ConsoleSession, StaffSession, StaffUser
from common.clock import utcnow

MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=9)  # one working day
ROLES = ("staff", "admin")
MIN_PASSWORD_CHARS = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Verifying against this when the email is unknown takes as long as a real check.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class SignInFailed(DomainError):
    status_code = 401
    code = "sign_in_failed"


class AccountLocked(DomainError):
    status_code = 423
    code = "account_locked"


class EmailTaken(Conflict):
    code = "email_taken"


class AccountNotFound(NotFound):
    pass


def create_user(session: Session, email: str, name: str, password: str, role: str = "staff") -> StaffUser:
    email, name = email.strip().lower(), " ".join(name.split())
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidInput("Give a valid email address.", "올바른 이메일 주소를 입력해 주세요.")
    if not 1 <= len(name) <= 60:
        raise InvalidInput("Give a name of up to 60 characters.", "이름을 60자 이내로 입력해 주세요.")
    _check_role(role)
    _check_password(password)
    if session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        raise EmailTaken("An account with this email exists already.", "이미 같은 이메일의 계정이 있어요.")
    user = StaffUser(email=email, name=name, password_hash=_hasher.hash(password), role=role)
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
    user = authenticate(session, email, password, now)
    token = secrets.token_urlsafe(32)
    staff_session = StaffSession(
        token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + SESSION_LIFETIME
    )
    session.add(staff_session)
    session.commit()
    return token, staff_session


def authenticate(session: Session, email: str, password: str, now: datetime | None = None) -> StaffUser:
    """The active account with this email and password; failures count towards a lockout."""
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
    return user


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


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput("A password needs at least 10 characters.", "비밀번호는 10자 이상이어야 해요.")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput("The role is staff or admin.", "역할은 staff 또는 admin이에요.")


# --- console sessions (a cookie with a CSRF token, for the web console) ------------------------


def start_console_session(session: Session, user: StaffUser, now: datetime | None = None) -> tuple[str, ConsoleSession]:
    """A new console session for a signed-in user: its cookie token (returned once) and its CSRF token."""
    now = now or utcnow()
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    console = ConsoleSession(
        token_hash=_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(console)
    session.commit()
    return token, console


def console_session_for_token(session: Session, token: str, now: datetime | None = None) -> ConsoleSession | None:
    console = session.get(ConsoleSession, _digest(token))
    if console is None or console.expires_at <= (now or utcnow()) or not console.user.active:
        return None
    return console


def end_console_session(session: Session, token: str) -> None:
    console = session.get(ConsoleSession, _digest(token))
    if console is not None:
        session.delete(console)
        session.commit()


# --- account management (admins) ---------------------------------------------------------------


def list_users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.name, StaffUser.id)))


def names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(user_ids))).all())


def get_user(session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise AccountNotFound(f"staff account {user_id} not found", f"직원 계정 {user_id}이(가) 없어요.")
    return user


def set_active(session: Session, admin: StaffUser, user_id: int, active: bool) -> StaffUser:
    """Deactivating signs the account out everywhere; an admin cannot deactivate themselves."""
    user = get_user(session, user_id)
    if user.id == admin.id and not active:
        raise InvalidInput("You cannot deactivate your own account.", "자신의 계정은 비활성화할 수 없어요.")
    user.active = active
    if not active:
        _end_all_sessions(session, user)
    audit(session, admin, "activate_account" if active else "deactivate_account", f"staff:{user.id}", "")
    session.commit()
    return user


def reset_password(session: Session, admin: StaffUser, user_id: int, password: str) -> StaffUser:
    """A new password set by an admin lifts a lockout and signs the account out everywhere."""
    _check_password(password)
    user = get_user(session, user_id)
    user.password_hash = _hasher.hash(password)
    user.failed_sign_ins, user.locked_until = 0, None
    _end_all_sessions(session, user)
    audit(session, admin, "reset_password", f"staff:{user.id}", "")
    session.commit()
    return user


def set_role(session: Session, admin: StaffUser, user_id: int, role: str) -> StaffUser:
    """An admin cannot take their own admin role away, so there is always one admin left."""
    _check_role(role)
    user = get_user(session, user_id)
    if user.id == admin.id and role != "admin":
        raise InvalidInput("You cannot remove your own admin role.", "자신의 관리자 권한은 없앨 수 없어요.")
    user.role = role
    audit(session, admin, "set_role", f"staff:{user.id}", role)
    session.commit()
    return user


def _end_all_sessions(session: Session, user: StaffUser) -> None:
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
