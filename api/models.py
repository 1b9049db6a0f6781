"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from api.automation.models import DailyReport, JobRun, JobState
from api.conversations.models import CannedReply, Conversation, Handoff, Message, OutboxMessage
from api.identity.models import PhoneLink, SmsMessage, VerificationCode
from api.knowledge.models import KnowledgeAsk, KnowledgeEntry, KnowledgeVector
from api.notices.models import Notice, NoticeSubscription, NoticeTerm, PersonalNotice
from api.opendata.models import Chart, Dataset, DatasetColumn, DatasetVersion
from api.reports.models import ReportCase, ReportEvent, ReportKind, ReportPhoto, ReportReporter
from api.staff.models import AuditEntry, ConsoleSession, SignInChallenge, StaffPermission, StaffSession, StaffUser
from api.tours.models import Booking, Closure, Course, DayQuota, Fare, Run, WaitlistEntry
from api.training.models import InboxItem, InboxSighting, ModelActivation, TrainedModel, TrainingRun

__all__ = [
    "AuditEntry",
    "Booking",
    "CannedReply",
    "Chart",
    "Closure",
    "ConsoleSession",
    "Conversation",
    "Course",
    "DailyReport",
    "Dataset",
    "DatasetColumn",
    "DatasetVersion",
    "DayQuota",
    "Fare",
    "Handoff",
    "InboxItem",
    "InboxSighting",
    "JobRun",
    "JobState",
    "KnowledgeAsk",
    "KnowledgeEntry",
    "KnowledgeVector",
    "Message",
    "ModelActivation",
    "Notice",
    "NoticeSubscription",
    "NoticeTerm",
    "OutboxMessage",
    "PersonalNotice",
    "PhoneLink",
    "ReportCase",
    "ReportEvent",
    "ReportKind",
    "ReportPhoto",
    "ReportReporter",
    "Run",
    "SignInChallenge",
    "SmsMessage",
    "StaffPermission",
    "StaffSession",
    "StaffUser",
    "TrainedModel",
    "TrainingRun",
    "VerificationCode",
    "WaitlistEntry",
]
