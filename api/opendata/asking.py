"""Answering a citizen's question from the registry's datasets: understand, compute, say it, draw it if a series."""

import hashlib
import json
import logging
import re
from datetime import datetime
from threading import Lock

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.opendata import charts, computing, csv_import, parsing, periods, planning, refusals, service, wording
from api.opendata.errors import ChartFontMissing, ChartNotFound, DatasetNotFound, QueryNotComputable
from api.opendata.models import Chart, Dataset, DatasetVersion, columns_of
from api.opendata.periods import label as period_label
from api.opendata.schemas import AskOut, Choice, DatasetRef, QueryOut, StructuredQuery
from common.clock import SEOUL

logger = logging.getLogger(__name__)
SUGGESTIONS = 3
_vocabularies: dict[tuple, parsing.Vocabulary] = {}
_vocabularies_lock = Lock()


def ask(
    session: Session,
    question: str,
    language: str | None,
    now: datetime,
    base_url: str,
    context: StructuredQuery | None = None,
) -> AskOut:
    language = language or parsing.detect_language(question)
    registry = _registry(session)
    understanding = parsing.understand(question, [(dataset, words) for dataset, _, _, words in registry], now, language)
    base = context if context is not None and any(entry[0].id == context.dataset for entry in registry) else None
    if base is not None and planning.is_follow_up(understanding, base):
        entry = next(entry for entry in registry if entry[0].id == base.dataset)
        reading = next((r for r in understanding.readings if r.dataset.id == base.dataset), None)
        reading = reading or parsing.read(entry[0], entry[3], understanding.mentions.remainder, understanding.text)
    elif understanding.readings:
        base, reading = None, understanding.readings[0]
    else:
        return _not_answered(
            language,
            "I could not find open data that answers that.",
            "그 질문에 답할 수 있는 공개 데이터를 찾지 못했어요.",
            _suggestions(registry, understanding.text, language, base_url, exclude=None),
            reason="no_dataset",
        )
    dataset, version, frame, _ = next(entry for entry in registry if entry[0].id == reading.dataset.id)
    try:
        plan = planning.plan(understanding, reading, frame, version.number, base=base)
    except planning.Unclear as unclear:
        text, choices = refusals.say(unclear, dataset, frame, understanding)
        return _not_answered(
            language,
            text,
            text,
            [],
            dataset=_reference(dataset, language, base_url),
            reason="ambiguous_row" if unclear.reason == "which_row" else unclear.reason,
            choices=choices,
        )
    try:
        result = computing.compute(dataset, frame, plan.query)
    except computing.Unanswerable as reason:
        # The dataset was the right one: other datasets would read as if this one could not answer at all.
        return _not_answered(
            language,
            reason.english,
            reason.korean,
            [],
            dataset=_reference(dataset, language, base_url),
            query=plan.query,
            reason=reason.reason,
        )
    partial = _partly_past(plan.query, result, now)
    if partial is not None:
        text, choice = _partial_refusal(dataset, understanding, plan.query, partial, language)
        return _not_answered(
            language,
            text,
            text,
            [],
            dataset=_reference(dataset, language, base_url),
            reason="no_rows",
            choices=[choice],
        )
    notes = [*plan.notes, *_coverage_notes(dataset, plan, result)]
    out = _compose(session, dataset, version, frame, plan.query, result, language, base_url, notes)
    return AskOut(answered=True, suggestions=[], **out.model_dump())


def run_query(session: Session, query: StructuredQuery, language: str, base_url: str) -> QueryOut:
    """A structured query computed again, on the version it names (the live one if it names none)."""
    dataset = service.get_dataset(session, query.dataset)
    version, frame = _version_frame(session, dataset, query.version)
    query = query.model_copy(update={"version": version.number})
    try:
        result = computing.compute(dataset, frame, query)
    except computing.Unanswerable as reason:
        raise QueryNotComputable(reason.english, reason.korean) from None
    return _compose(session, dataset, version, frame, query, result, language, base_url, [])


def chart_png(session: Session, chart_id: str) -> bytes:
    chart = session.get(Chart, chart_id)
    if chart is None:
        raise ChartNotFound("No such chart.", "그런 그래프가 없어요.")
    return chart.png


def _compose(session, dataset, version, frame, query, result, language, base_url, notes) -> QueryOut:
    ko = language == "ko"
    text = wording.answer_text(dataset, frame, query, result, language)
    chart_url = _chart(session, dataset, version, frame, query, result, language, base_url)
    lines = [text, *(korean if ko else english for english, korean in notes)]
    reference = _reference(dataset, language, base_url)
    # The title and publisher only: an address is no use as chat text (the dataset's page link is in `dataset`).
    publisher = dataset.source if ko else (dataset.source_en or dataset.source)
    lines.append(f"{'출처' if ko else 'Source'}: {reference.title} — {publisher}")
    if dataset.is_sample:
        lines.append("※ 샘플 데이터라 실제 통계가 아니에요." if ko else "Note: sample data, not official statistics.")
    return QueryOut(
        language=language,
        answer="\n".join(lines),
        numbers=wording.figures(dataset, frame, query, result, language),
        dataset=reference,
        query=query,
        explanation=wording.explanation(dataset, version.number, query, result, language),
        chart_url=chart_url,
    )


def _registry(session: Session) -> list[tuple[Dataset, DatasetVersion, pd.DataFrame, parsing.Vocabulary]]:
    entries = []
    for dataset in service.list_datasets(session):
        try:
            version, frame = service.live_frame(session, dataset)
        except DatasetNotFound:
            continue
        key = (dataset.id, version.checksum, dataset.updated_at.isoformat())
        with _vocabularies_lock:
            terms = _vocabularies.get(key)
        if terms is None:
            terms = parsing.vocabulary(dataset, frame)
            with _vocabularies_lock:
                _vocabularies[key] = terms
        entries.append((dataset, version, frame, terms))
    return entries


def _version_frame(session: Session, dataset: Dataset, number: int | None) -> tuple[DatasetVersion, pd.DataFrame]:
    if number is None:
        return service.live_frame(session, dataset)
    version = session.scalar(
        select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id, DatasetVersion.number == number)
    )
    if version is None:
        raise DatasetNotFound(
            f"Dataset {dataset.id!r} has no version {number}.", f"'{dataset.id}' 데이터셋에 {number} 버전이 없어요."
        )
    if version.status == "live":
        return service.live_frame(session, dataset)
    return version, csv_import.read_stored(version.content, {c.name: c.type for c in dataset.columns})


def _partly_past(query: StructuredQuery, result: computing.Computation, now: datetime) -> tuple[str, str] | None:
    """The months the figure covers, when the period asked goes past them into months already over: a total of
    "2024" from data that stops in June 2024 is not a figure for 2024. A period not over yet ("올해") is counted
    so far, and says so."""
    available = result.available
    if query.period is None or available is None or query.aggregation in ("change", "trend"):
        return None
    current = now.astimezone(SEOUL)
    this_month = f"{current.year:04d}-{current.month:02d}"
    starts_late = available[0] > query.period.start
    stops_early = available[1] < query.period.end and _month_after(available[1]) < this_month
    return available if starts_late or stops_early else None


def _month_after(key: str) -> str:
    year, month = periods.add_months(periods.parse_month_key(key), 1)
    return f"{year:04d}-{month:02d}"


def _partial_refusal(dataset, understanding, query, covered, language) -> tuple[str, Choice]:
    asked = (query.period.start, query.period.end)
    have_ko, have_en = period_label(covered, "ko"), period_label(covered, "en")
    blanked = understanding.text
    for span in understanding.mentions.spans:
        blanked = blanked[: span.position] + " " * (span.end_position - span.position) + blanked[span.end_position :]
    rest = " ".join(blanked.split())
    if language == "ko":
        text = (
            f"'{dataset.title_ko}'에는 {period_label(asked, 'ko')} 가운데 {have_ko} 자료만 있어서 "
            f"{period_label(asked, 'ko')} 전체 값은 알 수 없어요. {have_ko} 값을 볼까요?"
        )
        return text, Choice(title=f"{have_ko} 값 보기", question=f"{have_ko} {rest}")
    text = (
        f"'{dataset.title_en}' only has figures for {have_en} of {period_label(asked, 'en')}, so there is no figure "
        f"for the whole of {period_label(asked, 'en')}. See {have_en}?"
    )
    return text, Choice(title=f"See {have_en}", question=f"{rest} {have_en}")


def _coverage_notes(dataset: Dataset, plan: planning.Plan, result: computing.Computation) -> list[tuple[str, str]]:
    notes = []
    query = plan.query
    if plan.assumed_year and result.covered:
        asked = period_label(result.covered, "ko"), period_label(result.covered, "en")
        notes.append(
            (
                f"There are no figures for that month this year yet, so this is {asked[1]}, the latest there is.",
                f"올해 자료가 아직 없어 가장 최근인 {asked[0]} 기준으로 답했어요.",
            )
        )
    if query.time_grain == "year" and result.covered and not result.covered[1].endswith("-12"):
        last = (result.covered[1], result.covered[1])
        notes.append(
            (
                f"{result.covered[1][:4]} has figures only up to {period_label(last, 'en')}.",
                f"{result.covered[1][:4]}년은 {period_label(last, 'ko')}까지의 자료예요.",
            )
        )
    if query.period and result.covered and query.aggregation != "change":
        stops_early = result.covered[1] < query.period.end
        if stops_early:
            asked = (query.period.start, query.period.end)
            notes.append(
                (
                    f"Figures for {period_label(asked, 'en')} are only there up to "
                    f"{period_label((result.covered[1], result.covered[1]), 'en')}, so that is what is counted.",
                    f"{period_label(asked, 'ko')} 자료는 {period_label((result.covered[1], result.covered[1]), 'ko')}"
                    "까지만 있어 그 기간만 계산했어요.",
                )
            )
    return notes


def _chart(session, dataset, version, frame, query, result, language, base_url) -> str | None:
    if query.aggregation not in ("trend", "ranking") or len(result.points) < 2:
        return None
    ko = language == "ko"
    columns = columns_of(dataset)
    measure = columns[query.measure]
    figures = wording.figures(dataset, frame, query, result, language)
    labels = [figure.label for figure in figures]
    values = [float(point.value) for point in result.points]
    measure_label = measure.label_ko if ko else measure.label_en
    unit = measure.unit_ko if ko else measure.unit_en
    period = period_label(result.covered, language) if result.covered else ""
    title = f"{period} {measure_label} {'추이' if ko else 'trend'}".strip()
    if query.aggregation == "ranking":
        title = f"{period} {measure_label} {'순위' if ko else 'ranking'}".strip()
    title = f"{title} — {dataset.title_ko if ko else dataset.title_en}"
    identity = json.dumps(
        [dataset.id, version.number, query.model_dump(), language], ensure_ascii=False, sort_keys=True
    )
    chart_id = hashlib.sha256(identity.encode()).hexdigest()[:32]
    if session.get(Chart, chart_id) is None:
        try:
            draw = charts.line_chart if query.aggregation == "trend" else charts.bar_chart
            png = draw(title, labels, values, f"{measure_label} ({unit})" if unit else measure_label)
        except ChartFontMissing:
            logger.exception("chart not drawn", extra={"dataset": dataset.id})
            return None
        session.add(Chart(id=chart_id, dataset_id=dataset.id, png=png, query=query.model_dump()))
        session.commit()
    return f"{base_url.rstrip('/')}/api/opendata/charts/{chart_id}.png"


def _reference(dataset: Dataset, language: str, base_url: str) -> DatasetRef:
    return DatasetRef(
        id=dataset.id,
        title=dataset.title_ko if language == "ko" else dataset.title_en,
        source=dataset.source,
        source_url=dataset.source_url,
        licence=dataset.licence,
        link=service.dataset_link(base_url, dataset.id),
        page=service.dataset_page(base_url, dataset.id, language),
        is_sample=dataset.is_sample,
    )


def _suggestions(registry, text: str, language: str, base_url: str, exclude: str | None) -> list[DatasetRef]:
    wanted = _bigrams(text)
    scored = []
    for position, (dataset, _, _, _) in enumerate(registry):
        if dataset.id == exclude:
            continue
        words = [dataset.title_ko, dataset.title_en, dataset.description_ko, dataset.description_en]
        words += [*dataset.keywords_ko, *dataset.keywords_en]
        for column in dataset.columns:
            words += [column.name, column.label_ko, column.label_en, *column.aliases_ko, *column.aliases_en]
        overlap = len(wanted & _bigrams(" ".join(words)))
        scored.append((-overlap, position, dataset))
    scored.sort(key=lambda item: item[:2])
    return [_reference(dataset, language, base_url) for _, _, dataset in scored[:SUGGESTIONS]]


def _bigrams(text: str) -> set[str]:
    compact = re.sub(r"[\s\W_]+", "", parsing.normalise(text))
    return {compact[i : i + 2] for i in range(len(compact) - 1)}


def _not_answered(language, english, korean, suggestions, dataset=None, query=None, reason=None, choices=()) -> AskOut:
    ko = language == "ko"
    lines = [korean if ko else english]
    if suggestions:
        lines.append("이런 데이터는 답할 수 있어요:" if ko else "These datasets can answer questions:")
        lines += [f"· {reference.title}" for reference in suggestions]
    return AskOut(
        answered=False,
        language=language,
        answer="\n".join(lines),
        numbers=[],
        dataset=dataset,
        query=query,
        explanation=None,
        chart_url=None,
        suggestions=suggestions,
        choices=list(choices),
        reason=reason,
    )
