"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from api.conversations.models import CannedReply, Conversation, Handoff, Message, OutboxMessage
from api.staff.models import AuditEntry, ConsoleSession, StaffSession, StaffUser
from api.tours.models import Booking, Closure, Course, DayQuota, Fare, Run, WaitlistEntry

__all__ = [
    "AuditEntry",
    "Booking",
    "CannedReply",
    "Closure",
    "ConsoleSession",
    "Conversation",
    "Course",
    "DayQuota",
    "Fare",
    "Handoff",
    "Message",
    "OutboxMessage",
    "Run",
    "StaffSession",
    "StaffUser",
    "WaitlistEntry",
]
