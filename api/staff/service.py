"""Rules of staff accounts: argon2 passwords, lockout after repeated failures, admins' second factor, sessions,
permissions and the audit log."""

import hashlib
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import and_, case, delete, select, update
from sqlalchemy.orm import Session

from api.core.errors import Conflict, DomainError, InvalidInput, NotFound
from api.staff import second_factor
from api.staff.models import AuditEntry, ConsoleSession, SignInChallenge, StaffPermission, StaffSession, StaffUser
from api.staff.permissions import PERMISSIONS
from common.clock import utcnow

logger = logging.getLogger(__name__)
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=9)  # one working day
# Between an admin's right password and their code from the authenticator app.
CHALLENGE_LIFETIME = timedelta(minutes=5)
AUDIT_PAGE_SIZE = 200
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


class SecondFactorRequired(DomainError):
    status_code = 401
    code = "second_factor_required"


class SecondFactorNotEnrolled(DomainError):
    status_code = 403
    code = "second_factor_not_enrolled"


class SignInChallengeExpired(DomainError):
    status_code = 401
    code = "sign_in_expired"


def create_user(
    session: Session, email: str, name: str, password: str, role: str = "staff", permissions: Iterable[str] = ()
) -> StaffUser:
    email, name = email.strip().lower(), " ".join(name.split())
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidInput("Give a valid email address.", "올바른 이메일 주소를 입력해 주세요.")
    if not 1 <= len(name) <= 60:
        raise InvalidInput("Give a name of up to 60 characters.", "이름을 60자 이내로 입력해 주세요.")
    _check_role(role)
    _check_password(password)
    permissions = set(permissions)
    for permission in permissions:
        _check_permission(permission)
    if session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        raise EmailTaken("An account with this email exists already.", "이미 같은 이메일의 계정이 있어요.")
    user = StaffUser(email=email, name=name, password_hash=_hasher.hash(password), role=role)
    user.permissions = [StaffPermission(permission=p) for p in sorted(permissions)]
    session.add(user)
    session.commit()
    return user


def ensure_admin(session: Session, email: str, password: str) -> bool:
    """Creates the first admin from the settings once; returns whether one was created."""
    if not email or not password or session.scalar(select(StaffUser.id).where(StaffUser.email == email.lower())):
        return False
    create_user(session, email, "Administrator", password, role="admin")
    return True


def sign_in(
    session: Session,
    email: str,
    password: str,
    totp_code: str | None = None,
    totp_required: bool = False,
    now: datetime | None = None,
) -> tuple[str, StaffSession]:
    """A bearer token for the REST api. An admin also gives the current code of the authenticator app they
    enrolled in the console (`totp_required`: the ADMIN_TOTP_REQUIRED setting)."""
    now = now or utcnow()
    user = check_password(session, email, password, now)
    if second_factor.needed(user, totp_required):
        if not second_factor.enrolled(user):
            raise SecondFactorNotEnrolled(
                "Set up your authenticator app by signing in to the console first.",
                "먼저 상담 콘솔에 로그인해 인증 앱(2단계 인증)을 등록해 주세요.",
            )
        if not totp_code:
            raise SecondFactorRequired(
                "Give the 6-digit code of your authenticator app (totp_code).", "인증 앱의 6자리 코드를 입력해 주세요."
            )
        _check_code(session, user, totp_code, now)
    _signed_in(session, user)
    token = secrets.token_urlsafe(32)
    staff_session = StaffSession(
        token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + SESSION_LIFETIME
    )
    session.add(staff_session)
    session.commit()
    return token, staff_session


def authenticate(session: Session, email: str, password: str, now: datetime | None = None) -> StaffUser:
    """The active account with this email and password, for a sign-in that needs nothing more."""
    user = check_password(session, email, password, now)
    _signed_in(session, user)
    session.commit()
    return user


def check_password(session: Session, email: str, password: str, now: datetime | None = None) -> StaffUser:
    """The active account with this email and password; failures count towards a lockout.

    A right password alone does not clear the failures: for an admin the code still has to come, and
    clearing them here would let someone who knows the password guess codes without end.
    """
    now = now or utcnow()
    user = session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is not None:
        _refuse_if_locked(user, now)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        if user is None or not user.active:
            raise VerificationError
    except VerificationError:
        if user is not None:
            record_failed_sign_in(session, user.id, now)
        raise SignInFailed("Wrong email or password.", "이메일 또는 비밀번호가 맞지 않아요.") from None
    return user


def record_failed_sign_in(session: Session, user_id: int, now: datetime | None = None) -> bool:
    """Counts one failure in a single UPDATE; returns whether it was the one that locked the account.

    Counting in the database (failed = failed + 1) rather than in Python means concurrent failures all
    count, and exactly one of them reaches the limit and sets the lock. The count goes on past the limit;
    the first failure after a lockout ended starts counting again from one.
    """
    now = now or utcnow()
    lock_over = and_(StaffUser.locked_until.is_not(None), StaffUser.locked_until <= now)
    failures = case((lock_over, 1), else_=StaffUser.failed_sign_ins + 1)
    counted = session.execute(
        update(StaffUser)
        .where(StaffUser.id == user_id)
        .values(
            failed_sign_ins=failures,
            locked_until=case(
                (failures == MAX_FAILED_SIGN_INS, now + LOCKOUT), (lock_over, None), else_=StaffUser.locked_until
            ),
        )
        .returning(StaffUser.failed_sign_ins)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    session.commit()
    locked = counted == MAX_FAILED_SIGN_INS
    if locked:
        logger.warning("staff account locked after failed sign-ins", extra={"staff_id": user_id})
    return locked


def _refuse_if_locked(user: StaffUser, now: datetime) -> None:
    if user.locked_until and user.locked_until > now:
        raise AccountLocked(
            "Too many failed sign-ins: try again in 15 minutes.", "로그인에 여러 번 실패해 15분 동안 잠겼어요."
        )


def signed_in(session: Session, user: StaffUser) -> None:
    """The sign-in is complete: the failures counted so far are forgiven."""
    _signed_in(session, user)
    session.commit()


def _signed_in(session: Session, user: StaffUser) -> None:
    session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id)
        .values(failed_sign_ins=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    user.failed_sign_ins, user.locked_until = 0, None


def _check_code(session: Session, user: StaffUser, code: str, now: datetime) -> None:
    try:
        second_factor.accept(session, user, code, now)
    except second_factor.WrongCode:
        record_failed_sign_in(session, user.id, now)
        raise


# --- an admin's second factor in the console: a short challenge between password and code -------------------


def start_challenge(session: Session, user: StaffUser, now: datetime | None = None) -> str:
    """The password was right and a code must follow: the token of this half-done sign-in (returned once)."""
    now = now or utcnow()
    session.execute(delete(SignInChallenge).where(SignInChallenge.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        SignInChallenge(token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + CHALLENGE_LIFETIME)
    )
    session.commit()
    return token


def challenged_user(session: Session, token: str, now: datetime | None = None) -> StaffUser:
    """The admin whose password was right in this browser a few minutes ago."""
    challenge = session.get(SignInChallenge, _digest(token)) if token else None
    if challenge is None or challenge.expires_at <= (now or utcnow()) or not challenge.user.active:
        raise SignInChallengeExpired(
            "The sign-in took too long: give your email and password again.",
            "로그인 시간이 지났어요. 이메일과 비밀번호를 다시 입력해 주세요.",
        )
    return challenge.user


def pass_second_factor(session: Session, token: str, code: str, now: datetime | None = None) -> StaffUser:
    """The code of the challenged admin's app: its first code also confirms the enrolment. Wrong codes count
    towards the same lockout as wrong passwords."""
    now = now or utcnow()
    user = challenged_user(session, token, now)
    _refuse_if_locked(user, now)
    _check_code(session, user, code, now)
    session.execute(delete(SignInChallenge).where(SignInChallenge.token_hash == _digest(token)))
    _signed_in(session, user)
    session.commit()
    return user


def reset_second_factor(session: Session, admin: StaffUser, user_id: int) -> StaffUser:
    """A lost phone: the admin enrols a new app at their next sign-in."""
    user = get_user(session, user_id)
    user.totp_secret, user.totp_enrolled_at, user.totp_last_step = None, None, None
    _end_all_sessions(session, user)
    audit(session, admin, "reset_second_factor", f"staff:{user.id}", "")
    session.commit()
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


def audit(session: Session, user: StaffUser, action: str, subject: str, reason: str = "") -> AuditEntry:
    """Who read or did what, to whose data, and why: written in the caller's transaction."""
    entry = AuditEntry(user_id=user.id, action=action, subject=subject, reason=reason, at=utcnow())
    session.add(entry)
    session.flush()
    return entry


def audit_log(
    session: Session, user_id: int | None = None, action: str | None = None, limit: int = AUDIT_PAGE_SIZE
) -> list[AuditEntry]:
    """The newest entries first, of one staff member and one action when given."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if user_id is not None:
        query = query.where(AuditEntry.user_id == user_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query))


def audited_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput("A password needs at least 10 characters.", "비밀번호는 10자 이상이어야 해요.")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput("The role is staff or admin.", "역할은 staff 또는 admin이에요.")


def _check_permission(permission: str) -> None:
    if permission not in PERMISSIONS:
        raise InvalidInput(f"There is no permission {permission!r}.", f"'{permission}' 권한은 없어요.")


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


def set_department(
    session: Session, admin: StaffUser, user_id: int, department: str | None, known: Iterable[str]
) -> StaffUser:
    """The department whose queue this person works (`known`: the codes the conversations domain defines), or
    None for someone who takes any department's requests."""
    if department is not None and department not in set(known):
        raise InvalidInput(f"There is no department {department!r}.", "알 수 없는 부서예요. 목록에서 골라 주세요.")
    user = get_user(session, user_id)
    user.department = department
    audit(session, admin, "set_department", f"staff:{user.id}", department or "")
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


def set_permissions(session: Session, admin: StaffUser, user_id: int, wanted: Iterable[str]) -> StaffUser:
    """Gives a staff account exactly these named permissions; each grant and each withdrawal is in the audit log."""
    wanted = set(wanted)
    for permission in wanted:
        _check_permission(permission)
    user = get_user(session, user_id)
    held = {p.permission: p for p in user.permissions}
    for permission in sorted(wanted - held.keys()):
        user.permissions.append(StaffPermission(permission=permission, granted_by_id=admin.id, granted_at=utcnow()))
        audit(session, admin, "grant_permission", f"staff:{user.id}", permission)
    for permission in sorted(held.keys() - wanted):
        user.permissions.remove(held[permission])
        audit(session, admin, "revoke_permission", f"staff:{user.id}", permission)
    session.commit()
    return user


def _end_all_sessions(session: Session, user: StaffUser) -> None:
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    session.execute(delete(SignInChallenge).where(SignInChallenge.user_id == user.id))
