"""What a job is: its name, when it is due (in Asia/Seoul) and the function that does its work."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from api.core.settings import Settings
from common.clock import SEOUL


@dataclass(frozen=True)
class Daily:
    """Due every day at this time of day in Seoul."""

    at: time

    def latest(self, now: datetime) -> datetime:
        local = now.astimezone(SEOUL)
        due = datetime.combine(local.date(), self.at, tzinfo=SEOUL)
        if due > local:
            due -= timedelta(days=1)
        return due.astimezone(UTC)

    def describe(self) -> str:
        return f"매일 {self.at:%H:%M}"


@dataclass(frozen=True)
class Every:
    """Due every so many minutes, on the minute marks counted from midnight UTC."""

    minutes: int

    def latest(self, now: datetime) -> datetime:
        start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        step = timedelta(minutes=self.minutes)
        return start + step * ((now - start) // step)

    def describe(self) -> str:
        return f"{self.minutes}분마다"


@dataclass
class JobContext:
    """What a job runs with: its own session (the scheduler commits it), the due time it runs for and the clock."""

    session: Session
    due_at: datetime
    now: datetime
    settings: Settings


@dataclass(frozen=True)
class Job:
    name: str
    title: str  # in the console
    schedule: Daily | Every
    # Does the work for one due time and returns what it counted; running it twice changes nothing more.
    run: Callable[[JobContext], dict[str, Any]]
