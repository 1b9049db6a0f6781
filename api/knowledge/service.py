"""The knowledge base's rules: entries staff write and publish, answering a citizen's question from the best
entry or notice (or saying honestly there is none), and the learning loop of what went unanswered.

An answer is given only when the ranking's confidence clears ANSWER_CONFIDENCE; a flow intent the NLU only
weakly predicted (`strict`) needs STRICT_CONFIDENCE, since the flow it named may be what the citizen wanted. A wrong
answer is worse than none: below the threshold the citizen gets the number of whoever most likely knows.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from api.knowledge import encoder
from api.knowledge.errors import AskNotFound, EntryNotFound, InvalidEntry
from api.knowledge.models import STATUSES, KnowledgeAsk, KnowledgeEntry, KnowledgeVector
from api.knowledge.retrieval import Document, Hit, Index, Ranking, content_words, document
from api.knowledge.schemas import Answer, AskOut, EntryFields, Fallback, Source
from api.notices import service as notices
from common.clock import utcnow
from common.masking import mask_personal_data

if TYPE_CHECKING:
    from api.notices.models import Notice
    from api.staff.models import StaffUser

logger = logging.getLogger(__name__)
# Of the ranking's confidence (retrieval.Ranking.confidence), chosen on the dev questions (bench/knowledge.py).
ANSWER_CONFIDENCE = 0.6
STRICT_CONFIDENCE = 0.85
HINT_CONFIDENCE = 0.35  # below an answer, still close enough to offer "did you mean"
DEPARTMENT_CONFIDENCE = 0.5  # and to give the best match's department as the number to call
ALTERNATIVE_MARGIN = 0.06  # a runner-up this close to the best (in score) is offered as "did you mean"
MAX_ALTERNATIVES = 2
CITY_LINE = Fallback(department="파주시청 대표전화", phone="031-940-4114")
CITY_LINE_EN = Fallback(department="Paju City Hall", phone="031-940-4114")
MAX_QUESTION_CHARS = 300  # of a stored question
MAX_NOTICES = 500  # of the newest published notices searched
PHONE = re.compile(r"\d{2,4}(?:-\d{3,4}){0,2}")
WHITESPACE = re.compile(r"\s+")
PUNCTUATION = re.compile(r"[?!.,~…·'\"“”‘’()]+")


# --- entries --------------------------------------------------------------------------------------------


def list_entries(session: Session, *, status: str | None = None, query: str | None = None) -> list[KnowledgeEntry]:
    """Every entry for the console, the latest changed first; `query` looks in titles, questions and answers."""
    statement = select(KnowledgeEntry).order_by(KnowledgeEntry.updated_at.desc(), KnowledgeEntry.id.desc())
    if status:
        statement = statement.where(KnowledgeEntry.status == status)
    entries = list(session.scalars(statement))
    if query and query.strip():
        needle = query.strip().casefold()
        entries = [e for e in entries if needle in _searchable(e)]
    return entries


def _searchable(entry: KnowledgeEntry) -> str:
    parts = (entry.title_ko, entry.title_en, entry.questions, entry.answer_ko, entry.answer_en, entry.department_ko)
    return "\n".join(p for p in parts if p).casefold()


def get_entry(session: Session, entry_id: int) -> KnowledgeEntry:
    entry = session.get(KnowledgeEntry, entry_id)
    if entry is None:
        raise EntryNotFound(f"Knowledge entry {entry_id} does not exist.", "없는 지식베이스 항목이에요.")
    return entry


def save_entry(
    session: Session, fields: EntryFields, *, entry_id: int | None = None, by: StaffUser | None = None
) -> KnowledgeEntry:
    """Creates a draft, or edits an entry in whatever state it is; its embeddings are rewritten with it."""
    checked = _checked(fields)
    entry = get_entry(session, entry_id) if entry_id is not None else KnowledgeEntry(status="draft", sample=False)
    for name, value in checked.items():
        setattr(entry, name, value)
    entry.updated_at = utcnow()
    entry.updated_by_id = by.id if by else None
    session.add(entry)
    session.flush()
    index_entry(session, entry)
    return entry


def set_status(session: Session, entry_id: int, status: str, *, by: StaffUser | None = None) -> KnowledgeEntry:
    if status not in STATUSES:
        raise InvalidEntry(f"Unknown status {status!r}.", "알 수 없는 상태예요.", "status")
    entry = get_entry(session, entry_id)
    entry.status = status
    entry.updated_at = utcnow()
    entry.updated_by_id = by.id if by else None
    session.flush()
    return entry


def due_for_review(session: Session, today: date) -> list[KnowledgeEntry]:
    """Published entries whose review date has come: staff must confirm or correct them."""
    return list(
        session.scalars(
            select(KnowledgeEntry)
            .where(KnowledgeEntry.status == "published", KnowledgeEntry.review_on <= today)
            .order_by(KnowledgeEntry.review_on, KnowledgeEntry.id)
        )
    )


def _checked(fields: EntryFields) -> dict[str, Any]:
    def text(name: str, value: str | None, limit: int, ko: str, required: bool = False) -> str | None:
        value = (value or "").strip()
        if required and not value:
            raise InvalidEntry(f"{name} is required.", f"{ko}을(를) 입력해 주세요.", name)
        if len(value) > limit:
            raise InvalidEntry(
                f"{name} is longer than {limit} characters.", f"{ko}은(는) {limit}자까지 쓸 수 있어요.", name
            )
        return value or None

    questions = list(dict.fromkeys(WHITESPACE.sub(" ", q).strip() for q in fields.questions if q and q.strip()))
    if not questions:
        raise InvalidEntry("Write at least one question form.", "질문 형태를 한 줄 이상 써 주세요.", "questions")
    if len(questions) > 30:
        raise InvalidEntry("At most 30 question forms.", "질문 형태는 30줄까지 쓸 수 있어요.", "questions")
    if any(len(q) > 200 for q in questions):
        raise InvalidEntry(
            "A question form is longer than 200 characters.", "질문 한 줄은 200자까지 쓸 수 있어요.", "questions"
        )
    phone = text("phone", fields.phone, 20, "전화번호")
    if phone and not PHONE.fullmatch(phone):
        raise InvalidEntry(
            "The phone number must be digits and dashes, like 031-940-4114.",
            "전화번호는 031-940-4114처럼 숫자와 하이픈으로 써 주세요.",
            "phone",
        )
    link = text("link", fields.link, 300, "링크")
    if link and not _is_web_address(link):
        raise InvalidEntry(
            "The link must be a full https:// address.", "링크는 https://로 시작하는 전체 주소로 써 주세요.", "link"
        )
    return {
        "title_ko": text("title_ko", fields.title_ko, 120, "제목", required=True),
        "title_en": text("title_en", fields.title_en, 120, "영문 제목"),
        "questions": "\n".join(questions),
        "answer_ko": text("answer_ko", fields.answer_ko, 600, "답변", required=True),
        "answer_en": text("answer_en", fields.answer_en, 1000, "영문 답변"),
        "department_ko": text("department_ko", fields.department_ko, 60, "담당 부서", required=True),
        "department_en": text("department_en", fields.department_en, 80, "영문 부서명"),
        "phone": phone,
        "link": link,
        "review_on": fields.review_on,
    }


def _is_web_address(link: str) -> bool:
    parts = urlsplit(link)
    return parts.scheme == "https" and bool(parts.hostname) and not any(c.isspace() for c in link)


# --- the index ------------------------------------------------------------------------------------------


def _entry_texts(entry: KnowledgeEntry) -> list[str]:
    return [t for t in (entry.title_ko, entry.title_en, *entry.question_list()) if t]


def index_entry(session: Session, entry: KnowledgeEntry) -> None:
    """(Re)writes the entry's embeddings in the caller's transaction: one per title and question form."""
    texts = _entry_texts(entry)
    stored = {
        row.position: row
        for row in session.scalars(select(KnowledgeVector).where(KnowledgeVector.entry_id == entry.id))
    }
    hashes = [encoder.text_hash(t) for t in texts]
    if [stored[p].text_hash if p in stored else None for p in range(len(texts))] == hashes and len(stored) == len(
        texts
    ):
        return
    vectors = _vectors(texts)
    for row in stored.values():
        session.delete(row)
    session.flush()
    session.add_all(
        KnowledgeVector(entry_id=entry.id, position=p, text_hash=h, vector=encoder.to_bytes(v))
        for p, (h, v) in enumerate(zip(hashes, vectors, strict=True))
    )
    session.flush()


# Embeddings by text hash, shared by every database this process serves: a text's vector never changes.
_vector_cache: dict[str, np.ndarray] = {}
_VECTOR_CACHE_SIZE = 20_000


def _vectors(texts: list[str]) -> list[np.ndarray]:
    hashes = [encoder.text_hash(t) for t in texts]
    missing = list(dict.fromkeys(t for t, h in zip(texts, hashes, strict=True) if h not in _vector_cache))
    if missing:
        if len(_vector_cache) > _VECTOR_CACHE_SIZE:
            _vector_cache.clear()
        for text, vector in zip(missing, encoder.encode(missing), strict=True):
            _vector_cache[encoder.text_hash(text)] = vector
    return [_vector_cache[h] for h in hashes]


@dataclass(frozen=True)
class _Corpus:
    """One question's view of the corpus: the shared index, and this session's rows for the answer's words."""

    index: Index
    entries: dict[int, KnowledgeEntry]
    notices: dict[int, Notice]


# The index of each database this process serves, with the signature of the rows it was built from. Only the index
# is shared between threads: each question reads the rows through its own session.
_indexes: dict[str, tuple[tuple[Any, ...], Index]] = {}
_indexes_lock = threading.Lock()


def _corpus(session: Session) -> _Corpus:
    """The published entries and visible notices as an index, rebuilt only when one of them changed."""
    entries = list(session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.status == "published")))
    notice_list, _ = notices.find(session, page=1, size=MAX_NOTICES)
    signature = (
        tuple(sorted((e.id, e.updated_at) for e in entries)),
        tuple(sorted((n.id, n.updated_at) for n in notice_list)),
    )
    key = str(session.get_bind().url)
    with _indexes_lock:
        built = _indexes.get(key)
        if built is None or built[0] != signature:
            built = (signature, Index(_documents(session, entries, notice_list)))
            _indexes[key] = built
    return _Corpus(built[1], {e.id: e for e in entries}, {n.id: n for n in notice_list})


def warm_up(sessionmaker: Callable[[], Session]) -> threading.Thread:
    """Loads the encoder and builds the index in the background, so that the first citizen to ask after a start
    does not wait the seconds that takes."""

    def run() -> None:
        try:
            with sessionmaker() as session:
                _corpus(session)
        except Exception:  # a database not migrated yet, or gone (a test's): the first question builds it instead
            logger.warning("knowledge index warm-up failed", exc_info=True)

    thread = threading.Thread(target=run, name="knowledge-warm-up", daemon=True)
    thread.start()
    return thread


def current_index(session: Session) -> Index:
    """The index questions are answered from now (for the benchmark, which compares ways of ranking it)."""
    return _corpus(session).index


def question_vector(question: str) -> np.ndarray:
    return _vectors([question])[0]


def _word_vectors(texts: list[str]) -> np.ndarray:
    words = content_words(" ".join(texts))
    return np.vstack(_vectors(words)) if words else np.zeros((0, encoder.DIMENSIONS), dtype=np.float32)


def rank(index: Index, question: str) -> Ranking:
    """The question ranked against the index: its embedding, and its content words' for the alignment."""
    return index.rank(question, question_vector(question), _word_vectors([question]))


def _documents(session: Session, entries: list[KnowledgeEntry], notice_list: list[Notice]) -> list[Document]:
    stored: dict[int, dict[int, KnowledgeVector]] = {}
    if entries:
        rows = session.scalars(select(KnowledgeVector).where(KnowledgeVector.entry_id.in_([e.id for e in entries])))
        for row in rows:
            stored.setdefault(row.entry_id, {})[row.position] = row
    documents = []
    for entry in entries:
        texts = _entry_texts(entry)
        rows = stored.get(entry.id, {})
        if all(p in rows and rows[p].text_hash == encoder.text_hash(t) for p, t in enumerate(texts)):
            vectors = np.vstack([encoder.from_bytes(rows[p].vector) for p in range(len(texts))])
        else:  # written before this process could embed it, or edited by hand: embedded here, not stored
            vectors = np.vstack(_vectors(texts))
        answer = f"{entry.answer_ko}\n{entry.answer_en or ''}"
        documents.append(document("entry", entry.id, vectors, texts, answer, _word_vectors([*texts, answer])))
    for notice in notice_list:
        texts = [t for t in (notice.title, notice.title_en) if t]
        answer = f"{notices.summary_of(notice)}\n{notice.summary_en or ''}"
        word_vectors = _word_vectors([*texts, answer])
        documents.append(document("notice", notice.id, np.vstack(_vectors(texts)), texts, answer, word_vectors))
    return documents


# --- asking ---------------------------------------------------------------------------------------------


def ask(session: Session, question: str, language: str, *, strict: bool = False, channel: str | None = None) -> AskOut:
    """The answer to a citizen's question from the best entry or notice, or an honest no with whom to call."""
    question = WHITESPACE.sub(" ", question).strip()
    corpus = _corpus(session)
    ranking = rank(corpus.index, question) if question else Ranking([], 0.0)
    hits, best, confidence = ranking.hits, ranking.best, round(ranking.confidence, 4)
    threshold = STRICT_CONFIDENCE if strict else ANSWER_CONFIDENCE
    answered = best is not None and confidence >= threshold
    if strict and not answered:
        return AskOut(
            answered=False,
            ask_id=None,
            confidence=confidence,
            answer=None,
            sources=[],
            alternatives=[],
            fallback=None,
        )
    hinted = confidence >= HINT_CONFIDENCE
    close = [h for h in hits[1:] if best and hinted and h.score >= best.score - ALTERNATIVE_MARGIN]
    record = KnowledgeAsk(
        language=language,
        channel=(channel or None) and channel[:16],
        question=mask_personal_data(question)[:MAX_QUESTION_CHARS],
        answered=answered,
        entry_id=best.id if answered and best and best.kind == "entry" else None,
        notice_id=best.id if answered and best and best.kind == "notice" else None,
        score=confidence,
    )
    session.add(record)
    session.flush()
    if answered and best:
        answer = _answer(corpus, best, language)
        # A current notice on the same subject as an entry's answer (extended hours, a changed fee) goes with it.
        related = [h for h in hits[1:] if h.kind == "notice" and h.score >= best.score - 2 * ALTERNATIVE_MARGIN]
        related = [h for h in related if h not in close]
        return AskOut(
            answered=True,
            ask_id=record.id,
            confidence=confidence,
            answer=answer,
            sources=[answer.source, *(_source(corpus, h, language) for h in related[:1])],
            alternatives=[_source(corpus, h, language) for h in close[:MAX_ALTERNATIVES]],
            fallback=None,
        )
    return AskOut(
        answered=False,
        ask_id=record.id,
        confidence=confidence,
        answer=None,
        sources=[],
        alternatives=[_source(corpus, h, language) for h in hits[:MAX_ALTERNATIVES]] if hinted else [],
        fallback=_fallback(corpus, best if confidence >= DEPARTMENT_CONFIDENCE else None, language),
    )


def entry_answer(session: Session, entry_id: int, language: str) -> AskOut:
    """One published entry's answer, as a pressed "did you mean" button shows it."""
    entry = session.get(KnowledgeEntry, entry_id)
    if entry is None or entry.status != "published":
        raise EntryNotFound(f"Knowledge entry {entry_id} is not published.", "게시 중인 안내가 아니에요.")
    corpus = _corpus(session)
    answer = _answer(corpus, Hit("entry", entry.id, 1.0, 1.0, 1.0), language)
    return AskOut(
        answered=True,
        ask_id=None,
        confidence=1.0,
        answer=answer,
        sources=[answer.source],
        alternatives=[],
        fallback=None,
    )


def _source(corpus: _Corpus, hit: Hit, language: str) -> Source:
    if hit.kind == "entry":
        entry = corpus.entries[hit.id]
        return Source(kind="entry", id=entry.id, title=entry.title(language), sample=entry.sample)
    notice = corpus.notices[hit.id]
    title = (notice.title_en or notice.title) if language == "en" else notice.title
    return Source(kind="notice", id=notice.id, title=title)


def _answer(corpus: _Corpus, hit: Hit, language: str) -> Answer:
    source = _source(corpus, hit, language)
    if hit.kind == "entry":
        entry = corpus.entries[hit.id]
        english = language == "en" and bool(entry.answer_en)
        return Answer(
            text=entry.answer_en if english and entry.answer_en else entry.answer_ko,
            language="en" if english else "ko",
            korean_only=language == "en" and not english,
            title=entry.title(language),
            department=entry.department(language),
            phone=entry.phone,
            link=entry.link,
            sample=entry.sample,
            source=source,
        )
    notice = corpus.notices[hit.id]
    english = language == "en" and bool(notice.summary_en)
    return Answer(
        text=notices.summary_of(notice, "en" if english else "ko"),
        language="en" if english else "ko",
        korean_only=language == "en" and not english,
        title=source.title,
        department=notice.department,
        phone=None,
        link=None,
        sample=False,
        source=source,
    )


def _fallback(corpus: _Corpus, hint: Hit | None, language: str) -> Fallback:
    city = CITY_LINE_EN if language == "en" else CITY_LINE
    if hint is not None and hint.kind == "entry":
        entry = corpus.entries[hint.id]
        if entry.phone:
            return Fallback(department=entry.department(language), phone=entry.phone)
    return city


def record_feedback(session: Session, ask_id: int, helpful: bool) -> None:
    record = session.get(KnowledgeAsk, ask_id)
    if record is None:
        raise AskNotFound(f"Question {ask_id} is not on record.", "기록에 없는 질문이에요.")
    record.helpful = helpful
    record.feedback_at = utcnow()
    session.flush()


# --- the learning loop ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """Questions the base could not answer well, the same words grouped: material for a new entry."""

    text: str  # masked, as first asked
    count: int
    last_asked_at: datetime
    reason: str  # "unanswered", or "unhelpful" when a citizen said the answer did not help
    language: str
    ask_ids: tuple[int, ...]


def _key(text: str) -> str:
    return WHITESPACE.sub(" ", PUNCTUATION.sub(" ", text)).strip().casefold()


def candidates(session: Session, *, limit: int = 100) -> list[Candidate]:
    """Unanswered and not-helpful questions nobody dismissed, grouped by their words, the most asked first."""
    rows = session.scalars(
        select(KnowledgeAsk)
        .where(
            KnowledgeAsk.dismissed.is_(False),
            (KnowledgeAsk.answered.is_(False)) | (KnowledgeAsk.helpful.is_(False)),
        )
        .order_by(KnowledgeAsk.asked_at.desc())
        .limit(5000)
    )
    groups: dict[str, list[KnowledgeAsk]] = {}
    for row in rows:
        groups.setdefault(_key(row.question), []).append(row)
    found = [
        Candidate(
            text=group[-1].question,
            count=len(group),
            last_asked_at=group[0].asked_at,
            reason="unhelpful" if any(r.answered for r in group) else "unanswered",
            language=Counter(r.language for r in group).most_common(1)[0][0],
            ask_ids=tuple(r.id for r in group),
        )
        for group in groups.values()
    ]
    found.sort(key=lambda c: (-c.count, -c.last_asked_at.timestamp()))
    return found[:limit]


def delete_asks_before(session: Session, cutoff: datetime) -> int:
    """Deletes the questions asked before `cutoff` (masked, but a citizen's words all the same); the daily reports
    already hold their counts."""
    result = session.execute(delete(KnowledgeAsk).where(KnowledgeAsk.asked_at < cutoff))
    return result.rowcount or 0


def dismiss_candidates(session: Session, ask_ids: list[int]) -> int:
    """Takes questions off the candidates list (answered elsewhere, or nothing the city should answer)."""
    if not ask_ids:
        return 0
    result = session.execute(update(KnowledgeAsk).where(KnowledgeAsk.id.in_(ask_ids)).values(dismissed=True))
    return result.rowcount or 0


def daily_figures(session: Session, start: datetime, end: datetime, top: int = 5) -> dict[str, Any]:
    """Questions asked of the base in [start, end), how many it answered, how many answers did not help, and the
    topics it most often could not answer (similar questions grouped by meaning, masked)."""
    in_period = (KnowledgeAsk.asked_at >= start, KnowledgeAsk.asked_at < end)
    asked, answered, unhelpful = session.execute(
        select(
            func.count(),
            func.count().filter(KnowledgeAsk.answered.is_(True)),
            func.count().filter(KnowledgeAsk.helpful.is_(False)),
        ).where(*in_period)
    ).one()
    unanswered = list(
        session.scalars(
            select(KnowledgeAsk.question)
            .where(*in_period, KnowledgeAsk.answered.is_(False))
            .order_by(KnowledgeAsk.asked_at)
            .limit(1000)
        )
    )
    return {
        "asked": asked,
        "answered": answered,
        "answer_rate": round(answered / asked, 4) if asked else None,
        "unhelpful": unhelpful,
        "top_unanswered": topics(unanswered, top),
    }


TOPIC_SIMILARITY = 0.8  # two unanswered questions this close in meaning are one topic


def topics(questions: list[str], top: int) -> list[dict[str, Any]]:
    """Groups questions by meaning (greedy, in order): each topic is named by its most frequent wording."""
    if not questions or top <= 0:
        return []
    # The same words (up to spaces, case and punctuation) first, then those close in meaning.
    wordings: dict[str, list[str]] = {}
    for question in questions:
        wordings.setdefault(_key(question), []).append(question)
    keys = list(wordings)
    vectors = np.vstack(_vectors(keys))
    leaders: list[int] = []
    members: list[list[int]] = []
    for i, vector in enumerate(vectors):
        similarities = vectors[leaders] @ vector if leaders else np.zeros(0)
        j = int(np.argmax(similarities)) if len(similarities) else -1
        if j >= 0 and similarities[j] >= TOPIC_SIMILARITY:
            members[j].append(i)
        else:
            leaders.append(i)
            members.append([i])
    named = []
    for group in members:
        asked = [q for i in group for q in wordings[keys[i]]]
        named.append({"text": Counter(asked).most_common(1)[0][0], "count": len(asked)})
    named.sort(key=lambda t: -t["count"])
    return named[:top]
