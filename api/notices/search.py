"""Search of notices that works for Korean, on SQLite and PostgreSQL alike: our own index of terms.

Korean text is indexed as character bigrams of each run of Hangul with its spaces removed, so `주차`
finds "공영주차장" and `도로공사` finds "도로 공사"; Latin words are indexed lower-cased and lightly
stemmed, so English queries find the English title and summary. A query's terms are weighted by
rarity (idf), a term no notice contains weighing the most; a notice must hold at least half of the
query's weight, and ranks by where the terms occur (title before body) times the share of the query it covers.
"""

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from api.notices.models import Notice, NoticeTerm

HANGUL_RUN = re.compile(r"[가-힣]+(?:\s+[가-힣]+)*")
HANGUL = re.compile(r"[가-힣]+")
LATIN_WORD = re.compile(r"[a-z0-9]+")
FIELD_WEIGHTS = {"title": 3.0, "english": 2.0, "body": 1.0}
MIN_COVERAGE = 0.5
SATURATION = 1.2


def _words(*lines: str) -> frozenset[str]:
    return frozenset(word for line in lines for word in line.split())


# Words a query wraps around what it looks for ("주차 관련 공지", "notices about parking").
QUERY_STOP_WORDS = _words(
    "공지 공지사항 소식 알림 관련 관한 대한 정보 내용 검색",
    "about any notice notices news info information search show find me my please",
)
ENGLISH_STOP_WORDS = _words(
    "a an the of in on at to for and or is are be by with from as it this that",
    "no not what where how when can i you",
)
# Particles Korean glues to the end of a word: dropped from query words of three characters or more.
PARTICLES = ("에서", "으로", "은", "는", "이", "가", "을", "를", "에", "의", "로", "와", "과", "도")


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _bigrams(hangul: str) -> list[str]:
    if len(hangul) == 1:
        return [hangul]
    return [hangul[i : i + 2] for i in range(len(hangul) - 1)]


def _latin_terms(text: str, stop_words: frozenset[str]) -> list[str]:
    return [_stem(w) for w in LATIN_WORD.findall(text) if len(w) > 1 and w not in stop_words]


def document_terms(text: str) -> Counter[str]:
    """The terms of a stored text: bigrams across the spaces of each Hangul run, and Latin words."""
    text = _normalise(text)
    terms: Counter[str] = Counter()
    for run in HANGUL_RUN.findall(text):
        terms.update(_bigrams(re.sub(r"\s+", "", run)))
    terms.update(_latin_terms(text, ENGLISH_STOP_WORDS))
    return terms


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query, word by word: bigrams within a word never span the query's spaces."""
    terms: list[str] = []
    for word in _normalise(query).split():
        if word in QUERY_STOP_WORDS:
            continue
        for hangul in HANGUL.findall(word):
            if hangul in QUERY_STOP_WORDS:
                continue
            if len(hangul) >= 3 and hangul.endswith(PARTICLES):
                hangul = hangul[: -2 if hangul.endswith(("에서", "으로")) else -1]
            terms.extend(_bigrams(hangul))
        terms.extend(_latin_terms(word, QUERY_STOP_WORDS | ENGLISH_STOP_WORDS))
    return list(dict.fromkeys(terms))


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
