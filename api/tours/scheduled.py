"""The tours domain's jobs: reminding bookers the day before, offering freed seats to the waitlist, opening runs."""

from datetime import time, timedelta
from typing import Any

from api.automation.schedule import Daily, Every, Job, JobContext
from api.conversations import service as conversations
from api.core.settings import public_holidays
from api.tours import messaging
from api.tours import service as tours
from api.tours.seed import extend_runs
from common.clock import SEOUL


def send_tour_reminders(ctx: JobContext) -> dict[str, Any]:
    """The day before a tour, each booker who booked in a messenger gets a reminder there."""
    tomorrow = ctx.due_at.astimezone(SEOUL).date() + timedelta(days=1)
    counts = {"bookings": 0, "reminded": 0, "without_messenger": 0}
    for booking in tours.bookings_on(ctx.session, tomorrow):
        counts["bookings"] += 1
        written = conversations.tell(
            ctx.session,
            booking.channel,
            booking.channel_user_id,
            kind="reminder",
            dedupe_key=f"reminder:booking:{booking.id}:run:{booking.run_id}",
            compose=lambda language, booking=booking: (
                messaging.reminder_text(booking, language),
                messaging.reminder_buttons(booking, language),
            ),
        )
        if written is None:
            counts["without_messenger"] += 1
        elif written:
            counts["reminded"] += 1
    return counts


def promote_waitlist(ctx: JobContext) -> dict[str, Any]:
    """Ends offers not confirmed in time (their seats go to the next in line) and tells each newly offered citizen."""
    expired = tours.expire_offers(ctx.session, ctx.now)
    counts = {"expired": len(expired), "offered": 0, "without_messenger": 0}
    for entry in tours.open_offers(ctx.session, ctx.now):
        written = conversations.tell(
            ctx.session,
            entry.channel,
            entry.channel_user_id,
            kind="waitlist_offer",
            dedupe_key=f"waitlist:offer:{entry.id}",
            compose=lambda language, entry=entry: (
                messaging.offer_text(entry, language),
                messaging.offer_buttons(entry, language),
            ),
        )
        if written is None:
            counts["without_messenger"] += 1
        elif written:
            counts["offered"] += 1
    return counts


def open_tour_runs(ctx: JobContext) -> dict[str, Any]:
    """Adds the runs of the days that have just come into the booking window."""
    return {"runs_added": extend_runs(ctx.session, ctx.now, public_holidays(ctx.settings))}


JOBS = (
    Job("tour_reminders", "투어 전날 알림", Daily(time(10, 0)), send_tour_reminders),
    Job("waitlist_offers", "대기자 좌석 제안", Every(1), promote_waitlist),
    Job("tour_runs", "투어 회차 열기", Daily(time(0, 5)), open_tour_runs),
)
