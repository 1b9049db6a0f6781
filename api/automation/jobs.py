"""The scheduled jobs. Each is idempotent: run twice for one due time, the second run changes nothing."""

import json
import logging
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.automation import reports
from api.automation.models import JobRun
from api.automation.schedule import SEOUL, Daily, Every, Job, JobContext
from api.conversations import rasa_tracker
from api.conversations import retention as transcripts
from api.conversations.models import Conversation
from api.conversations.outbox import dedupe_keys, enqueue, language_of
from api.conversations.service import ConversationNotFound, existing_conversation, sweep_unanswered
from api.core.errors import DomainError
from api.core.settings import public_holidays
from api.notices import retention as notice_retention
from api.notices.personal import flag_for_paper_mail
from api.opendata import service as opendata
from api.opendata.errors import MalformedFile
from api.opendata.schemas import DatasetMetadata
from api.tours import service as tours
from api.tours.models import Booking, WaitlistEntry
from api.tours.seed import extend_runs

logger = logging.getLogger("api.automation")
WEEKDAYS = {"ko": "월화수목금토일", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def _conversation(session: Session, channel: str | None, channel_user_id: str | None) -> Conversation | None:
    if not channel or not channel_user_id:
        return None
    try:
        return existing_conversation(session, channel, channel_user_id)
    except ConversationNotFound:
        return None


def _when(starts_at, language: str) -> str:
    local = starts_at.astimezone(SEOUL)
    weekday = WEEKDAYS[language][local.weekday()]
    if language == "ko":
        return f"{local.month}월 {local.day}일 ({weekday}) {local:%H:%M}"
    return f"{weekday} {local:%d %b} at {local:%H:%M}"


def _send_once(session: Session, conversation: Conversation, key: str, **message: Any) -> bool:
    """Writes the message unless one with this key was written before; True when written now."""
    if key in dedupe_keys(session, key):
        return False
    enqueue(session, conversation, dedupe_key=key, **message)
    session.flush()
    return True


def _payload(intent: str, **entities: str) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


# --- tour reminders -----------------------------------------------------------------------------


def reminder_text(booking: Booking, language: str) -> str:
    run, course = booking.run, booking.run.course
    if language == "en":
        return (
            f"Reminder: your {course.name_en} tour (booking {booking.code}) is tomorrow, "
            f"{_when(run.starts_at, 'en')}, {booking.seats} seat(s).\n"
            f"Meeting point: {course.meeting_point_en}\n"
            f"ID: {course.id_rules_en}\n"
            f"Please bring: {course.what_to_bring_en}"
        )
    return (
        f"내일 {course.name_ko} 투어 예약(예약번호 {booking.code})이 있어요.\n"
        f"출발: {_when(run.starts_at, 'ko')} · {booking.seats}명\n"
        f"집결지: {course.meeting_point_ko}\n"
        f"신분증: {course.id_rules_ko}\n"
        f"준비물: {course.what_to_bring_ko}"
    )


def reminder_buttons(booking: Booking, language: str) -> list[dict[str, str]]:
    titles = ("Cancel booking", "Ask a question") if language == "en" else ("예약 취소", "문의하기")
    return [
        {"title": titles[0], "payload": _payload("cancel_booking", booking_code=booking.code)},
        {"title": titles[1], "payload": "/request_human"},
    ]


def send_tour_reminders(ctx: JobContext) -> dict[str, Any]:
    """The day before a tour, each booker who booked in a messenger gets a reminder there."""
    tomorrow = ctx.due_at.astimezone(SEOUL).date() + timedelta(days=1)
    counts = {"bookings": 0, "reminded": 0, "without_messenger": 0}
    for booking in tours.bookings_on(ctx.session, tomorrow):
        counts["bookings"] += 1
        conversation = _conversation(ctx.session, booking.channel, booking.channel_user_id)
        if conversation is None:
            counts["without_messenger"] += 1
            continue
        language = language_of(conversation)
        if _send_once(
            ctx.session,
            conversation,
            f"reminder:booking:{booking.id}:run:{booking.run_id}",
            text=reminder_text(booking, language),
            kind="reminder",
            buttons=reminder_buttons(booking, language),
        ):
            counts["reminded"] += 1
    return counts


# --- waitlist offers ----------------------------------------------------------------------------


def offer_text(entry: WaitlistEntry, language: str) -> str:
    run, course = entry.run, entry.run.course
    until = entry.offered_until.astimezone(SEOUL)
    if language == "en":
        return (
            f"Good news: {entry.seats} seat(s) opened on the {course.name_en} tour you were waiting for, "
            f"{_when(run.starts_at, 'en')}. They are held for you until {until:%H:%M}; confirm to book them."
        )
    return (
        f"기다리시던 {course.name_ko} 투어 {_when(run.starts_at, 'ko')}에 {entry.seats}석이 났어요. "
        f"{until:%H:%M}까지 자리를 잡아 둘게요. 확정하시면 예약이 돼요."
    )


def promote_waitlist(ctx: JobContext) -> dict[str, Any]:
    """Ends offers not confirmed in time (their seats go to the next in line) and tells each newly offered citizen."""
    expired = tours.expire_offers(ctx.session, ctx.now)
    counts = {"expired": len(expired), "offered": 0, "without_messenger": 0}
    for entry in tours.open_offers(ctx.session, ctx.now):
        conversation = _conversation(ctx.session, entry.channel, entry.channel_user_id)
        if conversation is None:
            counts["without_messenger"] += 1
            continue
        language = language_of(conversation)
        title = "Confirm booking" if language == "en" else "예약 확정"
        if _send_once(
            ctx.session,
            conversation,
            f"waitlist:offer:{entry.id}",
            text=offer_text(entry, language),
            kind="waitlist_offer",
            buttons=[{"title": title, "payload": _payload("confirm_waitlist", waitlist_id=str(entry.id))}],
        ):
            counts["offered"] += 1
    return counts


# --- unanswered messages ------------------------------------------------------------------------


def notify_unanswered(ctx: JobContext) -> dict[str, Any]:
    """Tells citizens whose message no process finished answering to send it again."""
    grace = timedelta(minutes=ctx.settings.unanswered_grace_minutes)
    return {"told": len(sweep_unanswered(ctx.session, ctx.now, grace))}


# --- certified notices --------------------------------------------------------------------------


def flag_unread_notices(ctx: JobContext) -> dict[str, Any]:
    """Certified notices unread for the set number of days go on paper as well (staff export them)."""
    flagged = flag_for_paper_mail(ctx.session, ctx.settings.personal_notice_paper_mail_days, ctx.now)
    return {"flagged": len(flagged)}


# --- retention ----------------------------------------------------------------------------------


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
        "sms_records_deleted": notice_retention.delete_sms_records_before(
            session, days_ago(settings.sms_retention_days)
        ),
        "codes_deleted": notice_retention.delete_codes_before(
            session, days_ago(settings.verification_code_retention_days)
        ),
        "phone_links_removed": notice_retention.unlink_phones_silent_since(
            session, days_ago(settings.phone_link_retention_days)
        ),
        "personal_notices_deleted": notice_retention.delete_personal_notices_sent_before(
            session, days_ago(settings.personal_notice_retention_days)
        ),
    }
    # Last: Rasa's store is another database, and a failure there rolls the changes above back for the retry.
    counts |= rasa_tracker.apply_retention(settings.tracker_store_url, transcripts_before, blank_before, blank_since)
    logger.info("retention", extra=counts)
    return counts


# --- dataset refresh ---------------------------------------------------------------------------


def _move(path: Path, folder: Path, stamp: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{path.stem}-{stamp}{path.suffix}"
    path.replace(target)
    return target


def _import_file(ctx: JobContext, path: Path) -> None:
    """Imports one dropped file as a new version of the dataset it is named after, as an upload would."""
    limit = ctx.settings.opendata_max_upload_bytes
    raw = path.read_bytes()
    if len(raw) > limit:
        raise MalformedFile(f"The file is larger than {limit:,} bytes.", f"파일이 {limit:,}바이트보다 커요.")
    metadata = DatasetMetadata(id=path.stem)
    opendata.get_dataset(ctx.session, metadata.id)  # only known datasets: a new one needs its registry entry
    opendata.import_version(ctx.session, metadata, raw, path.name, imported_by="dataset inbox")


def refresh_datasets(ctx: JobContext) -> dict[str, Any]:
    """Imports the CSV files dropped into the dataset inbox; each good one goes to done/, a bad one to rejected/
    with the reason next to it. A moved file is not seen again, so a second run imports nothing."""
    inbox = ctx.settings.dataset_inbox_dir
    counts = {"imported": 0, "rejected": 0}
    if not inbox.is_dir():
        return counts
    stamp = ctx.now.astimezone(SEOUL).strftime("%Y%m%d-%H%M%S")
    for path in sorted(inbox.glob("*.csv")):
        try:
            _import_file(ctx, path)
            ctx.session.commit()
        except (DomainError, ValidationError) as error:
            ctx.session.rollback()
            reason = f"{error.detail}\n{error.detail_ko}" if isinstance(error, DomainError) else str(error)
            target = _move(path, inbox / "rejected", stamp)
            target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
            counts["rejected"] += 1
            logger.warning("dataset file rejected", extra={"file": path.name, "reason": reason})
            continue
        _move(path, inbox / "done", stamp)
        counts["imported"] += 1
    return counts


# --- tour runs ---------------------------------------------------------------------------------


def open_tour_runs(ctx: JobContext) -> dict[str, Any]:
    """Adds the runs of the days that have just come into the booking window."""
    return {"runs_added": extend_runs(ctx.session, ctx.now, public_holidays(ctx.settings))}


# --- daily report ------------------------------------------------------------------------------


def send_daily_report(ctx: JobContext) -> dict[str, Any]:
    """Stores yesterday's figures (Seoul day) once and sends them to the staff channel, when one is set."""
    day = ctx.due_at.astimezone(SEOUL).date() - timedelta(days=1)
    report, stored = reports.store_daily_report(ctx.session, day)
    counts = {"stored": int(stored), "sent": 0}
    settings = ctx.settings
    conversation = _conversation(ctx.session, settings.staff_report_channel, settings.staff_report_channel_user_id)
    if conversation is not None and _send_once(
        ctx.session,
        conversation,
        f"daily-report:{day.isoformat()}",
        text=reports.report_text(report.figures),
        kind="daily_report",
    ):
        counts["sent"] = 1
    return counts


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("tour_reminders", "투어 전날 알림", Daily(time(10, 0)), send_tour_reminders),
        Job("waitlist_offers", "대기자 좌석 제안", Every(1), promote_waitlist),
        Job("unanswered", "답하지 못한 메시지 안내", Every(1), notify_unanswered),
        Job("paper_mail", "공인알림 미열람 우편 발송", Every(60), flag_unread_notices),
        Job("retention", "개인정보 보존 기간 정리", Daily(time(3, 0)), apply_retention),
        Job("dataset_refresh", "공공데이터 파일 가져오기", Every(5), refresh_datasets),
        Job("tour_runs", "투어 회차 열기", Daily(time(0, 5)), open_tour_runs),
        Job("daily_report", "일일 운영 보고", Daily(time(8, 0)), send_daily_report),
    )
}
