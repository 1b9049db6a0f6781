"""Search of notices that works for Korean, on SQLite and PostgreSQL alike: our own index of terms.

The terms are those of common/text_terms.py: Korean character bigrams, so `주차` finds "공영주차장", and English
words, so English queries find the English title and summary. A query's terms are weighted by
rarity (idf), a term no notice contains weighing the most; a notice must hold at least half of the
query's weight, and ranks by where the terms occur (title before body) times the share of the query it covers.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from api.notices.models import Notice, NoticeTerm
from common.text_terms import document_terms, query_terms

FIELD_WEIGHTS = {"title": 3.0, "english": 2.0, "body": 1.0}
MIN_COVERAGE = 0.5
SATURATION = 1.2


def index_notice(session: Session, notice: Notice) -> None:
    """(Re)writes the notice's index rows in the caller's transaction."""
    session.flush()
    session.execute(delete(NoticeTerm).where(NoticeTerm.notice_id == notice.id))
    fields = {
        "title": notice.title,
        "body": f"{notice.summary or ''}\n{notice.body}\n{notice.department}",
        "english": f"{notice.title_en or ''}\n{notice.summary_en or ''}",
    }
    rows = [
        {"notice_id": notice.id, "term": term, "field": field, "count": count}
        for field, text in fields.items()
        for term, count in document_terms(text).items()
        if len(term) <= 40
    ]
    if rows:
        session.execute(NoticeTerm.__table__.insert(), rows)


@dataclass(frozen=True)
class Ranked:
    notice_id: int
    score: float
    published_at: datetime | None


def rank(
    session: Session, query: str, visible: list[ColumnElement[bool]], filters: list[ColumnElement[bool]]
) -> list[Ranked]:
    """Notices matching the query, best first. `visible` limits what counts as the corpus (for idf),
    `filters` narrows the results further (category, dates)."""
    terms = query_terms(query)
    if not terms:
        return []
    corpus = session.scalar(select(func.count()).select_from(Notice).where(*visible)) or 0
    frequencies = dict(
        session.execute(
            select(NoticeTerm.term, func.count(func.distinct(NoticeTerm.notice_id)))
            .join(Notice, Notice.id == NoticeTerm.notice_id)
            .where(NoticeTerm.term.in_(terms), *visible)
            .group_by(NoticeTerm.term)
        ).all()
    )
    idf = {t: math.log(1 + (corpus - frequencies.get(t, 0) + 0.5) / (frequencies.get(t, 0) + 0.5)) for t in terms}
    total = sum(idf.values())
    if not frequencies:
        return []
    hits = session.execute(
        select(NoticeTerm.notice_id, NoticeTerm.term, NoticeTerm.field, NoticeTerm.count, Notice.published_at)
        .join(Notice, Notice.id == NoticeTerm.notice_id)
        .where(NoticeTerm.term.in_(list(frequencies)), *visible, *filters)
    ).all()
    best: dict[int, dict[str, float]] = {}
    published: dict[int, datetime | None] = {}
    for notice_id, term, field, count, published_at in hits:
        weight = FIELD_WEIGHTS[field] * count * (SATURATION + 1) / (count + SATURATION)
        terms_of_notice = best.setdefault(notice_id, {})
        terms_of_notice[term] = max(terms_of_notice.get(term, 0.0), weight)
        published[notice_id] = published_at
    ranked = []
    for notice_id, weights in best.items():
        coverage = sum(idf[t] for t in weights) / total
        if coverage < MIN_COVERAGE:
            continue
        score = sum(idf[t] * w for t, w in weights.items()) * coverage**2
        ranked.append(Ranked(notice_id, score, published[notice_id]))
    ranked.sort(key=lambda r: (-r.score, -(r.published_at.timestamp() if r.published_at else 0), -r.notice_id))
    return ranked
