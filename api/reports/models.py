"""Tables of the citizen reports domain (생활불편 신고): kinds, cases, their reporters, events and photos."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core.database import Base, UTCDateTime
from api.staff.models import StaffUser
from common.clock import utcnow

# received → assigned → in_progress → done; or transferred (open, in another department's queue), or rejected.
OPEN_STATUSES = ("received", "assigned", "in_progress", "transferred")
CLOSED_STATUSES = ("done", "rejected")
STATUSES = OPEN_STATUSES + CLOSED_STATUSES
EVENT_ACTIONS = ("filed", "merged", "assigned", "status", "transferred", "note", "message", "rated", "purged")


class ReportKind(Base):
    """What a report is about (불법 주정차, 가로등 고장, ...) and the field department that handles it."""

    __tablename__ = "report_kinds"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name_ko: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    department: Mapped[str] = mapped_column(String(20))  # a code of api/reports/departments.py
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def name(self, language: str) -> str:
        return self.name_ko if language == "ko" else self.name_en


class ReportCase(Base):
    """One citizen report: where, what, who handles it and what it came to.

    The personal parts (callback phone, description, photos, reporter links) are deleted at `purge_after`;
    the kind, district, times, status history and rating stay for statistics.
    """

    __tablename__ = "report_cases"
    __table_args__ = (
        Index("ix_report_cases_status_department", "status", "department"),
        Index("ix_report_cases_kind_created", "kind", "created_at"),
        Index("ix_report_cases_purge_after", "purge_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # PJ-<Seoul year of filing>-<id:06d>; set right after the row has its id.
    receipt_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(ForeignKey("report_kinds.code"))
    department: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="received")
    language: Mapped[str] = mapped_column(String(2), default="ko")  # of the citizen who filed it
    description: Mapped[str | None] = mapped_column(Text)  # at most 500 characters; deleted at purge
    place_name: Mapped[str | None] = mapped_column(String(120))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    district: Mapped[str | None] = mapped_column(String(40))  # the 읍면동 nearest the point
    callback_phone: Mapped[str | None] = mapped_column(String(20))  # normalised; only with consent
    consent_text: Mapped[str | None] = mapped_column(Text)  # the statement the citizen agreed to
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the first-answer deadline
    first_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    kind_row: Mapped[ReportKind] = relationship(lazy="joined")
    assignee: Mapped[StaffUser | None] = relationship()
    events: Mapped[list["ReportEvent"]] = relationship(
        back_populates="case", order_by="ReportEvent.id", cascade="all, delete-orphan", passive_deletes=True
    )
    photos: Mapped[list["ReportPhoto"]] = relationship(
        back_populates="case", order_by="ReportPhoto.id", passive_deletes=True
    )
    reporters: Mapped[list["ReportReporter"]] = relationship(
        back_populates="case", order_by="ReportReporter.id", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ReportReporter(Base):
    """A citizen told about a case's changes: the one who filed it and everyone whose duplicate was merged in."""

    __tablename__ = "report_reporters"
    __table_args__ = (UniqueConstraint("case_id", "conversation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("report_cases.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    merged: Mapped[bool] = mapped_column(default=False)

    case: Mapped[ReportCase] = relationship(back_populates="reporters")


class ReportEvent(Base):
    """One step of a case's history: what staff did, what the citizen was told, what only staff may read."""

    __tablename__ = "report_events"
    __table_args__ = (Index("ix_report_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("report_cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(16))  # one of EVENT_ACTIONS
    status: Mapped[str | None] = mapped_column(String(16))  # the case's status after it
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    department: Mapped[str | None] = mapped_column(String(20))
    public_text: Mapped[str | None] = mapped_column(Text)  # what the citizen was told
    private_note: Mapped[str | None] = mapped_column(Text)  # staff only

    case: Mapped[ReportCase] = relationship(back_populates="events")
    staff: Mapped[StaffUser | None] = relationship()


class ReportPhoto(Base):
    """A photo a citizen sent for a report: unfiled (no case yet) until the report is filed."""

    __tablename__ = "report_photos"
    __table_args__ = (
        Index("ix_report_photos_conversation_sha256", "conversation_id", "sha256"),
        Index("ix_report_photos_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("report_cases.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    sha256: Mapped[str] = mapped_column(String(64))  # of the stored (EXIF-free) bytes
    content_type: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    latitude: Mapped[float | None]  # read from EXIF before it was stripped
    longitude: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[ReportCase | None] = relationship(back_populates="photos")
