"""Grading open-data answers on the evaluation set through the real HTTP API: exact, wrong figure, or refused.

Each dataset is uploaded by an admin (POST /api/datasets) and each question asked as the actions server asks it
(POST /api/opendata/ask with the service token). An answer is

- exact: answered, numbers[0].value is the expected figure (within 0.051), numbers[0].formatted is in the reply,
  and the row or month expected (for "which has the most" questions) is named in the reply;
- wrong: a figure that is not the right one: an answerable question answered but not exactly, an unanswerable one
  answered, or any reply that declines yet still shows a figure;
- refused: not answered and no figure in the reply. For an unanswerable question that is the goal; for an
  answerable one it is neither exact nor wrong.

A figure is a number left in the reply once periods (years, months, quarters, ranges, Korean and English), links,
and names are taken out: the dataset's row names (운정3동, Unjeong 3-dong), and the titles, sources and column
labels of every dataset in the registry ("30분 요금").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from korean_romanizer.romanizer import Romanizer

from tests.api.conftest import SERVICE_HEADERS
from tests.api.opendata_fixtures import upload
from tests.opendata_eval.cases import EvalDataset, Question, load_set, years_in

GOALS = {"exact": 0.95, "wrong": 0.0, "refused": 0.95}
TOLERANCE = 0.051

_MONTHS_EN = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_MONTH_NAME = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_YEAR = r"(?:19[5-9]\d|20[0-4]\d)"
_ALONE = (r"(?<!\d)(?<!\d[,.])", r"(?!\d|[,.]\d)")
PERIODS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"https?://\S+",
        rf"{_ALONE[0]}{_YEAR}\s*년\s*도?(?:\s*\d{{1,2}}\s*월)?(?:\s*\d{{1,2}}\s*일)?",
        r"'\d{2}\s*년",
        r"\d{1,2}\s*[~\-–]\s*\d{1,2}\s*월",
        r"\d{1,2}\s*월(?:\s*\d{1,2}\s*일)?",
        r"(?:제\s*)?[1-4]\s*(?:/\s*4\s*)?분기",
        rf"{_ALONE[0]}{_YEAR}\s*[-./]\s*(?:1[0-2]|0?[1-9])(?:\s*[-./]\s*\d{{1,2}})?{_ALONE[1]}",
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH_NAME}\b",
        rf"\b{_MONTH_NAME}\b\.?(?:\s+\d{{1,2}}(?:st|nd|rd|th)?\b,?)?(?:\s+{_YEAR}\b)?",
        r"\b(?:Q[1-4]|H[12]|FY\s?\d{2,4})\b",
        r"\b[1-4](?:st|nd|rd|th)\s+(?:quarter|half)\b",
        rf"{_ALONE[0]}{_YEAR}{_ALONE[1]}",
    )
]
# Names with a number, as the engine may write them whether or not the table has them: districts such as 운정3동
# or Unjeong 3-dong, and the 119 of a fire station's safety centres.
NUMBERED_NAMES = [
    re.compile(r"[가-힣]+\d+[동리가]"),
    re.compile(r"\b[a-z]+[\s-]?\d+[\s-]?dong\b", re.IGNORECASE),
    re.compile(r"\b119\s?(?:안전센터|safety cent(?:re|er)s?)", re.IGNORECASE),
]
NUMBER = re.compile(r"\d+(?:[,.]\d+)*")


@dataclass
class Graded:
    dataset: str
    question: Question
    outcome: str  # exact | wrong | refused
    answered: bool
    reply: str
    figures: list[str]
    reason: str | None = None
    why: str = ""
    # Years the reply names that neither the data nor the question has: a figure said to be "over 2006~2024"
    # when 2006 and 2024 are the opening years of a snapshot's libraries.
    stray_years: list[int] = field(default_factory=list)

    @property
    def is_miss(self) -> bool:
        return self.outcome != ("exact" if self.question.answerable else "refused")


@dataclass
class Tally:
    questions: int = 0
    answerable: int = 0
    exact: int = 0
    wrong: int = 0
    unanswerable: int = 0
    refused: int = 0
    stray_periods: int = 0

    def add(self, graded: Graded) -> None:
        self.questions += 1
        self.stray_periods += bool(graded.stray_years)
        if graded.question.answerable:
            self.answerable += 1
            self.exact += graded.outcome == "exact"
        else:
            self.unanswerable += 1
            self.refused += graded.outcome == "refused"
        self.wrong += graded.outcome == "wrong"

    @property
    def exact_rate(self) -> float:
        return self.exact / self.answerable if self.answerable else 1.0

    @property
    def wrong_rate(self) -> float:
        return self.wrong / self.questions if self.questions else 0.0

    @property
    def refusal_rate(self) -> float:
        return self.refused / self.unanswerable if self.unanswerable else 1.0

    def meets_goals(self) -> bool:
        return (
            self.exact_rate >= GOALS["exact"]
            and self.wrong_rate <= GOALS["wrong"]
            and self.refusal_rate >= GOALS["refused"]
        )


@dataclass
class Report:
    datasets: list[EvalDataset]
    graded: list[Graded] = field(default_factory=list)
    # What the api said of each upload (its DatasetOut), by dataset id: the shape it inferred, once it has one.
    uploads: dict[str, dict] = field(default_factory=dict)

    def tally(self, dataset: str | None = None) -> Tally:
        tally = Tally()
        for graded in self.graded:
            if dataset is None or graded.dataset == dataset:
                tally.add(graded)
        return tally

    @property
    def misses(self) -> list[Graded]:
        return [graded for graded in self.graded if graded.is_miss or graded.stray_years]


def _flat(text: str) -> str:
    return re.sub(r"[\s\-_'’.·()]", "", text).lower()


def romanised(name: str) -> str:
    return Romanizer(name).romanize()


def month_names(month: str) -> list[str]:
    """The ways a reply may write a month such as "2024-08"."""
    year, number = month.split("-")
    english = _MONTHS_EN[int(number) - 1]
    return [month, f"{year}년 {int(number)}월", f"{year}.{number}", f"{english} {year}", f"{english[:3]} {year}"]


def names_for(question: Question) -> list[str]:
    """What may stand for the expected row in a reply: its name, its romanisation, the English names given."""
    if question.row is None:
        return []
    if re.fullmatch(r"\d{4}-\d{2}", question.row):
        return month_names(question.row)
    return [question.row, romanised(question.row), *question.row_en]


def mentions(reply: str, names: Iterable[str]) -> bool:
    flat = _flat(reply)
    return any(_flat(name) in flat for name in names if name)


def figures_in(reply: str, names: Iterable[str] = ()) -> list[str]:
    """The numbers a reply shows once periods and the names it may quote are taken out."""
    text = reply
    for name in sorted({n for n in names if any(c.isdigit() for c in n)}, key=len, reverse=True):
        text = re.sub(r"[\s\-]*".join(map(re.escape, name.replace(" ", ""))), " ", text, flags=re.IGNORECASE)
    for pattern in (*NUMBERED_NAMES, *PERIODS):
        text = pattern.sub(" ", text)
    return NUMBER.findall(text)


def grade_answer(dataset: str, question: Question, body: dict, names: Iterable[str], years: set[int]) -> Graded:
    """One reply graded; `names` are those a reply may quote, `years` those the data or the question has."""
    reply = body.get("answer") or ""
    answered = bool(body.get("answered"))
    numbers = body.get("numbers") or []
    figures = figures_in(reply, names)
    graded = Graded(dataset, question, "refused", answered, reply, figures, body.get("reason"))
    graded.stray_years = sorted(years_in(reply) - years)
    if not answered:
        if figures:
            graded.outcome, graded.why = "wrong", f"declined yet shows {', '.join(figures)}"
        elif question.answerable:
            graded.why = "declined an answerable question"
        return graded
    graded.outcome = "wrong"
    if not question.answerable:
        graded.why = f"answered a question that cannot be ({question.unanswerable})"
    elif not numbers or numbers[0].get("value") is None:
        graded.why = "answered without a headline figure"
    elif abs(float(numbers[0]["value"]) - question.expect) > TOLERANCE:
        graded.why = f"headline {numbers[0]['value']} instead of {question.expect}"
    elif numbers[0].get("formatted", "") not in reply:
        graded.why = f"headline {numbers[0].get('formatted')!r} is not in the reply"
    elif question.row and not mentions(reply, names_for(question)):
        graded.why = f"does not name {question.row}"
    else:
        graded.outcome = "exact"
    return graded


def ask(client, question: str, language: str, context: dict | None = None) -> dict:
    body = {"question": question, "language": language} | ({"context": context} if context else {})
    response = client.post("/api/opendata/ask", json=body, headers=SERVICE_HEADERS)
    if response.status_code != 200:
        return {"answered": False, "answer": f"HTTP {response.status_code}: {response.text}"}
    return response.json()


def upload_set(client, admin: dict, datasets: list[EvalDataset]) -> dict[str, dict]:
    uploads = {}
    for dataset in datasets:
        response = upload(client, admin, dataset.metadata, dataset.content(), dataset.file.name)
        if response.status_code != 201:
            raise RuntimeError(f"upload of {dataset.id} refused: {response.status_code} {response.text}")
        uploads[dataset.id] = response.json()
    return uploads


def registry_names(client) -> set[str]:
    """Titles, sources and column labels of every dataset in the registry ("30분 요금"): a refusal may name any."""
    names = set()
    for listed in client.get("/api/datasets").json():
        dataset = client.get(f"/api/datasets/{listed['id']}").json()
        names |= {dataset.get(key) or "" for key in ("title_ko", "title_en", "source", "row_label_ko", "row_label_en")}
        names |= {column.get(key) or "" for column in dataset.get("columns", []) for key in ("label_ko", "label_en")}
    return names - {""}


def grade(client, admin: dict, datasets: list[EvalDataset] | None = None) -> Report:
    """Uploads the set to the app behind `client` as the `admin` headers' user, asks every question, grades it."""
    datasets = load_set() if datasets is None else datasets
    report = Report(datasets, uploads=upload_set(client, admin, datasets))
    shared = registry_names(client)
    for dataset in datasets:
        names = dataset.names() | shared
        for question in dataset.questions:
            context = None
            if question.context_question:
                context = ask(client, question.context_question, question.language).get("query")
            body = ask(client, question.ask, question.language, context)
            years = dataset.years() | years_in(f"{question.ask} {question.context_question or ''}")
            report.graded.append(grade_answer(dataset.id, question, body, names, years))
    return report


def _rate(part: int, whole: int) -> str:
    return f"{part}/{whole} {100 * part / whole:5.1f}%" if whole else "-"


def _pad(text: str, width: int) -> str:
    """Left-aligned in `width` terminal columns: Hangul takes two."""
    wide = sum(unicodedata.east_asian_width(c) in "WF" for c in text)
    return text + " " * max(0, width - len(text) - wide)


def _shape(shape: dict | None) -> str:
    if not shape:
        return "(none)"
    return f"{shape.get('kind')}: {shape.get('entity_column') or '-'} × {shape.get('time_column') or '-'}"


def _row(label: str, tally: Tally, *shapes: str) -> str:
    cells = [_pad(shape, 30) for shape in shapes] or [" " * 61]
    return (
        f"{label:36} {' '.join(cells)} {_rate(tally.exact, tally.answerable):>14} "
        f"{_rate(tally.wrong, tally.questions):>14} {_rate(tally.refused, tally.unanswerable):>14} "
        f"{_rate(tally.stray_periods, tally.questions):>14}"
    )


def summary(report: Report) -> str:
    """Per dataset and overall: exact figures, wrong figures, refusals, beside the goals; then every miss."""
    heads = ("exact", "wrong", "refused", "stray period")
    lines = [f"{'dataset':36} {'declared shape':30} {'inferred on upload':30} " + " ".join(f"{h:>14}" for h in heads)]
    for dataset in report.datasets:
        inferred = (report.uploads.get(dataset.id) or {}).get("shape")
        row = _row(dataset.id, report.tally(dataset.id), _shape(dataset.shape), _shape(inferred))
        lines.append(f"{row}  held-out" if dataset.heldout else row)
    overall = report.tally()
    lines.append(_row("overall", overall))
    goals = (f"≥ {GOALS['exact']:.0%}", f"{GOALS['wrong']:.0%}", f"≥ {GOALS['refused']:.0%}", "0%")
    lines.append(f"{'goal':98} " + " ".join(f"{goal:>14}" for goal in goals))
    lines.append(
        f"goals met: {'yes' if overall.meets_goals() else 'no'} (exact over answerable questions, wrong figures "
        "over all, refusals over unanswerable ones; a stray period is a year in a reply that neither the data nor "
        "the question has)"
    )
    lines.append(f"\nmisses ({len(report.misses)}):")
    for miss in report.misses:
        question = miss.question
        expected = question.unanswerable or f"{question.expect:g}" + (f" {question.row}" if question.row else "")
        why = [miss.why] if miss.why else []
        why += [f"names {', '.join(map(str, miss.stray_years))}, which the data does not have"] * bool(miss.stray_years)
        why += [f"reason {miss.reason}"] * bool(miss.reason)
        reply = " ".join(miss.reply.split())
        lines.append(
            f"- [{miss.dataset}] ({question.language}) {question.ask!r} expected {expected}: {miss.outcome}; "
            f"{'; '.join(why)}\n    reply: {reply[:220]}"
        )
    return "\n".join(lines)
