"""Tables of staff accounts, their permissions and sign-in sessions, and the audit log of what staff read and did."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core.database import Base, UTCDateTime
from common.clock import utcnow


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2
    role: Mapped[str] = mapped_column(String(8), default="staff")  # staff, admin
    active: Mapped[bool] = mapped_column(default=True)
    # The department (a code of api/conversations/departments.py) whose queue this person works; None: any.
    department: Mapped[str | None] = mapped_column(String(20))
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An admin's second factor (TOTP, base32). Shown only while enrolling, until the first code confirms it.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The time step of the last code accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column()

    permissions: Mapped[list["StaffPermission"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", foreign_keys="StaffPermission.user_id"
    )

    def may(self, permission: str) -> bool:
        """Admins may do everything; staff what an admin granted them."""
        return self.role == "admin" or any(p.permission == permission for p in self.permissions)


class StaffPermission(Base):
    """One named permission (api/staff/permissions.py) an admin granted to a staff account."""

    __tablename__ = "staff_permissions"

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(40), primary_key=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    # Only a hash of the token is stored: a leaked table does not sign anyone in.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[StaffUser] = relationship()


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_user_id_at", "user_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    action: Mapped[str] = mapped_column(String(40))  # e.g. "reveal_manifest"
    subject: Mapped[str] = mapped_column(String(120))  # whose data: e.g. "run:123"
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[StaffUser] = relationship()


class ConsoleSession(Base):
    """A staff console sign-in, kept in a cookie; its CSRF token must come back with every form."""

    __tablename__ = "console_sessions"

    # Only a hash of the cookie's token is stored: a leaked table does not sign anyone in.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[StaffUser] = relationship()


class SignInChallenge(Base):
    """An admin's password was right: the second factor is still to come, within a few minutes, from this browser."""

    __tablename__ = "staff_sign_in_challenges"

    # Only a hash of the cookie's token is stored, as for sessions.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[StaffUser] = relationship()
