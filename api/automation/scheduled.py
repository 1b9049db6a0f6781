"""The jobs that span domains: the daily report to staff and the retention of personal data. Each reads and
deletes only through the owning domain's service or retention module."""

import logging
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.automation import reports
from api.automation.models import JobRun
from api.automation.schedule import Daily, Job, JobContext
from api.conversations import rasa_tracker
from api.conversations import retention as transcripts
from api.conversations import service as conversations
from api.identity import retention as identity
from api.knowledge import service as knowledge
from api.notices import retention as notices
from api.tours import service as tours
from common.clock import SEOUL

logger = logging.getLogger("api.automation")


def _last_retention_started(session: Session) -> datetime | None:
    return session.scalar(
        select(func.max(JobRun.started_at)).where(JobRun.job == "retention", JobRun.status == "succeeded")
    )


def apply_retention(ctx: JobContext) -> dict[str, Any]:
    """Ends what the city keeps about people as each period in the settings (README "What is kept, and for how
    long") runs out. The audit log is not touched."""
    settings, session = ctx.settings, ctx.session

    def days_ago(days: int) -> datetime:
        return ctx.now - timedelta(days=days)

    transcripts_before = days_ago(settings.transcript_retention_days)
    blank_before = days_ago(settings.booker_retention_days)
    # Phones and names older than the last successful run were blanked by it: only the days since (and one
    # more, for safety) are read again, not every old message and event each night.
    last_run = _last_retention_started(session)
    blank_since = last_run - timedelta(days=settings.booker_retention_days + 1) if last_run else None
    counts = {
        "messages_deleted": transcripts.delete_messages_before(session, transcripts_before),
        "message_phones_erased": transcripts.erase_phones_in_messages(session, blank_before, blank_since),
        "bookers_erased": tours.erase_bookers(
            session, ctx.now.astimezone(SEOUL).date() - timedelta(days=settings.booker_retention_days)
        ),
        "idempotency_keys_cleared": tours.forget_idempotency_keys(
            session, days_ago(settings.idempotency_key_retention_days)
        ),
        "sms_records_deleted": identity.delete_sms_records_before(session, days_ago(settings.sms_retention_days)),
        "codes_deleted": identity.delete_codes_before(session, days_ago(settings.verification_code_retention_days)),
        "phone_links_removed": identity.unlink_phones_silent_since(
            session, days_ago(settings.phone_link_retention_days)
        ),
        "personal_notices_deleted": notices.delete_personal_notices_sent_before(
            session, days_ago(settings.personal_notice_retention_days)
        ),
        "knowledge_questions_deleted": knowledge.delete_asks_before(session, transcripts_before),
        "routed_texts_forgotten": transcripts.forget_routed_texts_before(session, transcripts_before),
        "department_corrections_deleted": transcripts.delete_department_corrections_before(session, transcripts_before),
    }
    # Last: Rasa's store is another database, and a failure there rolls the changes above back for the retry.
    counts |= rasa_tracker.apply_retention(settings.tracker_store_url, transcripts_before, blank_before, blank_since)
    logger.info("retention", extra=counts)
    return counts


def send_daily_report(ctx: JobContext) -> dict[str, Any]:
    """Stores yesterday's figures (Seoul day) once and sends them to the staff channel, when one is set."""
    day = ctx.due_at.astimezone(SEOUL).date() - timedelta(days=1)
    report, stored = reports.store_daily_report(ctx.session, day)
    sent = conversations.tell(
        ctx.session,
        ctx.settings.staff_report_channel,
        ctx.settings.staff_report_channel_user_id,
        kind="daily_report",
        dedupe_key=f"daily-report:{day.isoformat()}",
        compose=lambda _language: (reports.report_text(report.figures), None),  # staff read Korean
    )
    return {"stored": int(stored), "sent": int(bool(sent))}


JOBS = (
    Job("retention", "개인정보 보존 기간 정리", Daily(time(3, 0)), apply_retention),
    Job("daily_report", "일일 운영 보고", Daily(time(8, 0)), send_daily_report),
)
