"""Tables of the automation domain: each attempt of a job for a due time, paused jobs, daily reports."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.core.database import Base, UTCDateTime
from common.clock import utcnow


class JobRun(Base):
    """An attempt to run a job for one due time. Inserting it is the lock: the unique constraint lets
    exactly one scheduler replica take each (job, due time, attempt)."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "due_at", "attempt"),
        Index("ix_job_runs_job_started", "job", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempt: Mapped[int] = mapped_column(default=1)
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule, retry, manual
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, succeeded, failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))


class JobState(Base):
    """A job an admin paused: its scheduled runs are skipped until resumed."""

    __tablename__ = "job_states"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    paused: Mapped[bool] = mapped_column(default=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))


class DailyReport(Base):
    """The staff's figures of one day (Asia/Seoul), written once by the daily report job."""

    __tablename__ = "daily_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[date] = mapped_column(Date, unique=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)  # see api/automation/reports.py daily_figures
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
