"""The department router: which queue a new handoff joins, from what the conversation was about.

Three kinds of evidence, added per department: the words of each department's topics in the citizen's recent
messages (and the intents of the buttons they pressed); the assistant's own guess, which reads only the latest
understood intent and so counts for less than the words; and what staff taught by moving handoffs to another
department. A correction's words count for the department it went to and against the one it came from, and the
more of the new text's words corrections have seen, the more they weigh: enough to outweigh the topic words.
"""

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.conversations.departments import DEFAULT_DEPARTMENT, DEPARTMENTS
from api.conversations.models import DepartmentCorrection, Message
from common.masking import erase_phones, mask_personal_data
from common.text_terms import document_terms, normalise

# The citizen's messages the router reads: the latest few, written shortly before the request.
RECENT_MESSAGES = 6
RECENT_WINDOW = timedelta(hours=2)
MAX_ROUTED_CHARS = 1000
# The newest corrections the router learns from.
MAX_CORRECTIONS = 2000

TOPIC_WEIGHT = 1.0  # per topic word found
INTENT_WEIGHT = 1.0  # per pressed button of a department's intent
GUESS_WEIGHT = 0.9  # the assistant's guess: less than one topic word, more than nothing
LEARNED_WEIGHT = 4.0  # a text made only of words corrections sent to one department

# Words (lower-case, spaces removed) that name each department's topics. Reports and notices are civil affairs:
# the field departments answer reports on the street, not in the chat.
TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "tourism": (
        "투어", "관광", "예약", "단체", "dmz", "비무장", "땅굴", "도라산", "임진각", "전망대", "제3", "코스",
        "출발", "좌석", "인원", "tour", "booking", "book", "reservation", "group", "seat",
    ),
    "open_data": (
        "데이터", "통계", "공공데이터", "데이터셋", "방문객수", "관광객수", "몇명", "추이", "그래프", "차트",
        "자료", "월별", "연도별", "외국인", "내국인", "csv", "dataset", "data", "statistic", "figures", "chart",
        "how many",
    ),
    "civil_affairs": (
        "민원", "신고", "불편", "고장", "쓰레기", "불법", "도로", "가로등", "공지", "알림", "공인알림", "증명서",
        "서류", "발급", "complaint", "report", "broken", "notice", "certificate", "document",
    ),
}  # fmt: skip
# The intents of the buttons a citizen pressed, by department (the rest say nothing of the topic).
INTENT_DEPARTMENT = {
    **dict.fromkeys(
        ["tour_list", "tour_info", "tour_availability", "book_tour", "my_bookings", "cancel_booking",
         "change_booking", "join_waitlist", "choose_run", "choose_tour"],
        "tourism",
    ),
    **dict.fromkeys(["opendata_question", "opendata_catalog", "facility_nearby"], "open_data"),
    **dict.fromkeys(
        ["report_problem", "report_status", "notice_latest", "notice_search", "notice_subscribe", "my_notices",
         "notice_detail"],
        "civil_affairs",
    ),
}  # fmt: skip
_INTENT = re.compile(r"^/([a-z_]+)")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Routed:
    department: str
    text: str  # what was read, personal data erased: kept on the handoff for a later correction
    scores: dict[str, float]


def routed_text(session: Session, conversation_id: int, now: datetime) -> tuple[str, list[str]]:
    """The citizen's recent typed words (personal data erased) and the intents of the buttons they pressed."""
    recent = session.scalars(
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "in",
            Message.created_at >= now - RECENT_WINDOW,
        )
        .order_by(Message.id.desc())
        .limit(RECENT_MESSAGES)
    ).all()
    texts, intents = [], []
    for message in reversed(recent):
        button = (message.payload or {}).get("button")
        if isinstance(button, str) and (match := _INTENT.match(button)):
            intents.append(match.group(1))
        elif message.text:
            texts.append(message.text)
    return clean(" / ".join(texts)), intents


def clean(text: str) -> str:
    """The words with names' carriers erased: resident and phone numbers, e-mail addresses, any other digits."""
    text = erase_phones(mask_personal_data(" ".join(text.split())))
    return re.sub(r"\d{4,}", lambda m: "*" * len(m.group(0)), text)[:MAX_ROUTED_CHARS]


def route(session: Session, conversation_id: int, guess: str | None, now: datetime) -> Routed:
    """The department for a new handoff of this conversation; `guess` is the assistant's, if it made one."""
    text, intents = routed_text(session, conversation_id, now)
    routed = route_text(session, text, intents, guess)
    # The scores, not the words: why a handoff went where it did, for whoever tunes the weights.
    logger.info("handoff routed", extra={"department": routed.department, "guess": guess, "scores": routed.scores})
    return routed


def route_text(session: Session, text: str, intents: Sequence[str] = (), guess: str | None = None) -> Routed:
    scores: dict[str, float] = dict.fromkeys(DEPARTMENTS, 0.0)
    for department, weight in _topic_scores(text).items():
        scores[department] += weight
    for intent in intents:
        if INTENT_DEPARTMENT.get(intent) in scores:
            scores[INTENT_DEPARTMENT[intent]] += INTENT_WEIGHT
    if guess in scores:
        scores[guess] += GUESS_WEIGHT
    for department, weight in learned_scores(session, text).items():
        scores[department] += weight
    scores = {d: round(s, 3) for d, s in scores.items()}
    best = max(scores.values())
    if best <= 0:
        return Routed(DEFAULT_DEPARTMENT, text, scores)
    # A tie goes to the assistant's guess, then to the default, then in the departments' order.
    order = [d for d in (guess, DEFAULT_DEPARTMENT) if d in scores] + list(scores)
    return Routed(next(d for d in order if scores[d] == best), text, scores)


# Longest first: a word found is taken out of the text, so 관광객수 (open data) leaves no 관광 (tourism) behind.
_TOPIC_WORDS_LONGEST_FIRST = sorted(
    ((word, department) for department, words in TOPIC_WORDS.items() for word in words), key=lambda w: -len(w[0])
)


def _topic_scores(text: str) -> dict[str, float]:
    spaced = " ".join(normalise(text).split())
    squeezed = spaced.replace(" ", "")
    scores: dict[str, float] = defaultdict(float)
    for word, department in _TOPIC_WORDS_LONGEST_FIRST:
        if " " in word:
            if word in spaced:
                scores[department] += TOPIC_WEIGHT
                spaced = spaced.replace(word, "|")
        elif word in squeezed:
            scores[department] += TOPIC_WEIGHT
            squeezed = squeezed.replace(word, "|")
    return scores


def _terms(text: str) -> set[str]:
    return set(document_terms(text))


def learned_scores(session: Session, text: str) -> dict[str, float]:
    """What corrections say of this text: per department, the share of its words that corrections sent there
    (less the share they took away from there), times LEARNED_WEIGHT."""
    terms = _terms(text)
    if not terms:
        return {}
    rows = session.execute(
        select(DepartmentCorrection.from_department, DepartmentCorrection.to_department, DepartmentCorrection.text)
        .order_by(DepartmentCorrection.id.desc())
        .limit(MAX_CORRECTIONS)
    ).all()
    net: dict[str, Counter[str]] = defaultdict(Counter)  # department → term → corrections to it less from it
    seen: Counter[str] = Counter()  # term → corrections whose text has it
    for from_department, to_department, corrected in rows:
        for term in _terms(corrected) & terms:
            net[to_department][term] += 1
            net[from_department][term] -= 1
            seen[term] += 1
    return {
        department: LEARNED_WEIGHT * sum(count / seen[term] for term, count in counts.items()) / len(terms)
        for department, counts in net.items()
        if department in DEPARTMENTS
    }


def record_correction(
    session: Session,
    *,
    conversation_id: int,
    handoff_id: int | None,
    from_department: str,
    to_department: str,
    staff_id: int | None,
    text: str | None,
) -> DepartmentCorrection | None:
    """Keeps a move to another department as a signal for later routing; the caller commits. Nothing to keep when
    the department did not change or nothing had been read."""
    if from_department == to_department or not (text or "").strip():
        return None
    correction = DepartmentCorrection(
        conversation_id=conversation_id,
        handoff_id=handoff_id,
        from_department=from_department,
        to_department=to_department,
        staff_id=staff_id,
        text=clean(text),
    )
    session.add(correction)
    return correction
