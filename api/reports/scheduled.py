"""The citizen reports domain's job: personal parts of closed cases and photos never filed are deleted in time."""

from datetime import time
from typing import Any

from api.automation.schedule import Daily, Job, JobContext
from api.reports import service


def purge_reports(ctx: JobContext) -> dict[str, Any]:
    """Deletes the callback number, photos, description and reporters of cases closed REPORT_RETENTION_DAYS ago,
    and photos sent a day ago for a report that was never filed. Statistics (kind, district, times, history,
    rating) stay."""
    return {
        "cases_purged": service.purge_closed(ctx.session, ctx.now, ctx.settings),
        "unfiled_photos_deleted": service.purge_unfiled_photos(ctx.session, ctx.now, ctx.settings),
    }


JOBS = (Job("report_retention", "생활불편 신고 개인정보 정리", Daily(time(3, 30)), purge_reports),)
