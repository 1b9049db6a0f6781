"""Loads the seed data every fresh database needs; safe to run again (it adds only what is missing)."""

import logging
from collections.abc import Callable
from functools import partial

from sqlalchemy.orm import Session

from api.conversations.seed import seed_canned_replies
from api.core.database import make_engine, make_sessionmaker
from api.core.settings import Settings, get_settings, public_holidays
from api.knowledge.seed import seed_knowledge
from api.notices.seed import seed_notices
from api.opendata.seed import seed_opendata
from api.reports.kinds import seed_report_kinds
from api.staff.service import ensure_admin
from api.tours.seed import seed_tours
from common.log_format import configure_logging

logger = logging.getLogger("api.seed")


def _seeders(settings: Settings) -> dict[str, Callable[[Session], int]]:
    """Each domain that ships seed data adds its loader here: a function (session) -> count added."""
    return {
        "tours": partial(seed_tours, holidays=public_holidays(settings)),
        "notices": seed_notices,
        "knowledge": seed_knowledge,
        "opendata": seed_opendata,
        "report_kinds": seed_report_kinds,
        "canned_replies": seed_canned_replies,
    }


def seed(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings.database_url)
    counts = {}
    with make_sessionmaker(engine)() as session:
        for name, seeder in _seeders(settings).items():
            counts[name] = seeder(session)
            session.commit()
        counts["admin"] = int(ensure_admin(session, settings.admin_email, settings.admin_password))
    engine.dispose()
    return counts


if __name__ == "__main__":
    settings = get_settings()
    configure_logging(settings.log_level)
    logger.info("seeded", extra={"added": seed(settings)})
