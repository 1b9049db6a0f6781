"""A seeded tours database at a fixed moment: Tuesday 2026-12-01, 08:00 in Seoul."""

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.tours.models import Run
from api.tours.seed import seed_tours
from common.clock import SEOUL

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=SEOUL)
WEDNESDAY = date(2026, 12, 2)


def seed(session: Session) -> None:
    seed_tours(session, NOW)
    session.commit()


def run_at(session: Session, day: date, hour: int, minute: int, option: str = "walk") -> Run:
    starts_at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=SEOUL)
    return session.scalar(select(Run).where(Run.starts_at == starts_at, Run.option == option))


def leave_seats(session: Session, run: Run, seats_left: int) -> None:
    """Pretend the run sold all but `seats_left` seats."""
    run.seats_sold = run.capacity - seats_left
    session.commit()
