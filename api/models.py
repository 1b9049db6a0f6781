"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from api.conversations.models import Conversation, Handoff, Message
from api.staff.models import AuditEntry, StaffSession, StaffUser
from api.tours.models import Booking, Closure, Course, DayQuota, Fare, Run, WaitlistEntry

__all__ = [
    "AuditEntry",
    "Booking",
    "Closure",
    "Conversation",
    "Course",
    "DayQuota",
    "Fare",
    "Handoff",
    "Message",
    "Run",
    "StaffSession",
    "StaffUser",
    "WaitlistEntry",
]
