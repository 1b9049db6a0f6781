"""The sample entries a new installation starts with (seed/entries.yml): published, marked as sample content,
due for review half a year after seeding."""

from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.knowledge import service
from api.knowledge.models import KnowledgeEntry
from api.knowledge.schemas import EntryFields
from common.clock import today

SEED_FILE = Path(__file__).parent / "seed" / "entries.yml"
REVIEW_AFTER = timedelta(days=182)


def seed_knowledge(session: Session, path: Path = SEED_FILE) -> int:
    """Adds the seed's entries not yet present (by slug); returns how many it added."""
    known = set(session.scalars(select(KnowledgeEntry.slug).where(KnowledgeEntry.slug.is_not(None))))
    added = 0
    for item in yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]:
        if item["slug"] in known:
            continue
        fields = EntryFields(
            title_ko=item["title"]["ko"],
            title_en=item["title"].get("en"),
            questions=item["questions"],
            answer_ko=item["answer"]["ko"],
            answer_en=item["answer"].get("en"),
            department_ko=item["department"]["ko"],
            department_en=item["department"].get("en"),
            phone=item.get("phone"),
            link=item.get("link"),
            review_on=today() + REVIEW_AFTER,
        )
        entry = service.save_entry(session, fields)
        entry.slug = item["slug"]
        entry.sample = True
        entry.status = "published"
        added += 1
    session.flush()
    return added
