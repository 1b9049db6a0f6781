"""The notices domain's jobs: certified notices left unread go on paper as well."""

from typing import Any

from api.automation.schedule import Every, Job, JobContext
from api.notices.personal import flag_for_paper_mail


def flag_unread_notices(ctx: JobContext) -> dict[str, Any]:
    """Certified notices unread for the set number of days go on paper as well (staff export them)."""
    flagged = flag_for_paper_mail(ctx.session, ctx.settings.personal_notice_paper_mail_days, ctx.now)
    return {"flagged": len(flagged)}


JOBS = (Job("paper_mail", "공인알림 미열람 우편 발송", Every(60), flag_unread_notices),)
