"""The one clock behind every decision about "now", in Asia/Seoul.

Production reads the system clock. Tests set it with time-machine (in process) or libfaketime (a
whole process), which both move what `datetime.now` returns, so nothing else needs to know.
Measuring a duration is not a decision about now: use `time.monotonic` for that.
"""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")


def utcnow() -> datetime:
    """Now as an aware UTC datetime: what the database stores."""
    return datetime.now(timezone.utc)


def now() -> datetime:
    """Now in Asia/Seoul: what the city's rules and the citizen's words ("내일", "작년") mean."""
    return datetime.now(SEOUL)


def today() -> date:
    """Today's date in Asia/Seoul."""
    return now().date()


def local(at: datetime) -> datetime:
    """An aware instant shown in Asia/Seoul."""
    return at.astimezone(SEOUL)
