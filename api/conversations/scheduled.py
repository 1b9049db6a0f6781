"""The conversations domain's jobs: telling citizens whose message no process finished answering."""

from datetime import timedelta
from typing import Any

from api.automation.schedule import Every, Job, JobContext
from api.conversations.service import sweep_unanswered


def notify_unanswered(ctx: JobContext) -> dict[str, Any]:
    """Tells citizens whose message no process finished answering to send it again."""
    grace = timedelta(minutes=ctx.settings.unanswered_grace_minutes)
    return {"told": len(sweep_unanswered(ctx.session, ctx.now, grace))}


JOBS = (Job("unanswered", "답하지 못한 메시지 안내", Every(1), notify_unanswered),)
