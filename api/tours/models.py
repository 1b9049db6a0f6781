"""Tables of the tours domain: courses, fares, runs, daily quotas, closures, bookings, waitlist."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core.database import Base, UTCDateTime
from common.clock import utcnow

OPTIONS = ("walk", "monorail")
FARE_TYPES = ("adult", "youth", "child", "senior", "resident")


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ko: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    summary_ko: Mapped[str] = mapped_column(Text)
    summary_en: Mapped[str] = mapped_column(Text)
    itinerary: Mapped[list[dict[str, str]]] = mapped_column(JSON)  # [{"ko": ..., "en": ...}, ...]
    duration_minutes: Mapped[int]
    meeting_point_ko: Mapped[str] = mapped_column(Text)
    meeting_point_en: Mapped[str] = mapped_column(Text)
    what_to_bring_ko: Mapped[str] = mapped_column(Text)
    what_to_bring_en: Mapped[str] = mapped_column(Text)
    id_rules_ko: Mapped[str] = mapped_column(Text)
    id_rules_en: Mapped[str] = mapped_column(Text)
    group_booking_ko: Mapped[str] = mapped_column(Text)
    group_booking_en: Mapped[str] = mapped_column(Text)
    # Seats sold across all runs of one day may not pass this (the site's daily visitor limit).
    daily_capacity: Mapped[int]
    # Bookings close this long before departure.
    booking_cutoff_minutes: Mapped[int] = mapped_column(default=60)

    fares: Mapped[list["Fare"]] = relationship(back_populates="course", order_by="Fare.id")


class Fare(Base):
    __tablename__ = "fares"
    __table_args__ = (UniqueConstraint("course_id", "option", "fare_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    option: Mapped[str] = mapped_column(String(16))
    fare_type: Mapped[str] = mapped_column(String(16))
    transport_won: Mapped[int]
    facility_won: Mapped[int]

    course: Mapped[Course] = relationship(back_populates="fares")

    @property
    def amount_won(self) -> int:
        return self.transport_won + self.facility_won


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("course_id", "starts_at", "option"),
        CheckConstraint("seats_sold >= 0 AND seats_sold <= capacity", name="seats_within_capacity"),
        Index("ix_runs_course_date", "course_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)  # the departure's calendar day in Asia/Seoul
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    option: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int]
    seats_sold: Mapped[int] = mapped_column(default=0)  # confirmed bookings and held waitlist offers
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, closed, cancelled

    course: Mapped[Course] = relationship()

    @property
    def seats_left(self) -> int:
        return self.capacity - self.seats_sold if self.status == "open" else 0


class DayQuota(Base):
    __tablename__ = "day_quotas"
    __table_args__ = (CheckConstraint("seats_sold >= 0 AND seats_sold <= capacity", name="quota_within_capacity"),)

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    capacity: Mapped[int]
    seats_sold: Mapped[int] = mapped_column(default=0)


class Closure(Base):
    __tablename__ = "closures"
    __table_args__ = (UniqueConstraint("course_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    reason_ko: Mapped[str] = mapped_column(String(200))
    reason_en: Mapped[str] = mapped_column(String(200))


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (Index("ix_bookings_channel_user", "channel", "channel_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    party: Mapped[dict[str, int]] = mapped_column(JSON)
    seats: Mapped[int]
    booker_name: Mapped[str | None] = mapped_column(String(60))  # erased after the retention period
    booker_phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="confirmed")  # confirmed, cancelled
    total_fee: Mapped[int]
    channel: Mapped[str | None] = mapped_column(String(16))
    channel_user_id: Mapped[str | None] = mapped_column(String(128))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    run: Mapped[Run] = relationship()


class WaitlistEntry(Base):
    __tablename__ = "waitlist_entries"
    __table_args__ = (Index("ix_waitlist_run_status", "run_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    party: Mapped[dict[str, Any]] = mapped_column(JSON)
    seats: Mapped[int]
    booker_name: Mapped[str | None] = mapped_column(String(60))
    booker_phone: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(16))
    channel_user_id: Mapped[str | None] = mapped_column(String(128))
    # waiting → offered (seats held until offered_until) → booked | expired; or withdrawn
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offered_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))

    run: Mapped[Run] = relationship()
