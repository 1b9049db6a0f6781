"""What the assistant says instead of a figure when a question is unclear, and the questions it offers as buttons.

No refusal carries a figure: only the names of rows, measures and periods the question or the data use.
"""

import re

import pandas as pd

from api.opendata.models import Dataset, columns_of
from api.opendata.parsing import Understanding
from api.opendata.planning import WHOLE, Unclear
from api.opendata.schemas import Choice
from api.opendata.wording import display_value, josa, plural

MAX_CHOICES = 5


def say(unclear: Unclear, dataset: Dataset, frame: pd.DataFrame, understanding: Understanding) -> tuple[str, list]:
    """The reply (in the question's language) and its choices."""
    ko = understanding.language == "ko"
    title = dataset.title_ko if ko else dataset.title_en
    written = unclear.written
    labels = {name: _measure_label(dataset, name, ko) for name in unclear.measures}
    rows = list(unclear.rows[:MAX_CHOICES])
    whole = "파주시 전체" if ko else "all of Paju"
    shown = [display_value(frame, dataset.entity_column, row, understanding.language) if row else whole for row in rows]
    noun = (dataset.row_label_ko or "항목") if ko else (dataset.row_label_en or "rows")

    if unclear.reason == "ambiguous_row" and WHOLE in rows:
        named = shown[0]
        text = (
            f"{named}{josa(named, '을를')} 말씀하신 건가요, {whole}인가요?"
            if ko
            else f"Do you mean {named}, or {whole}?"
        )
        return text, [Choice(title=name, question=_replace(understanding, unclear.span, row or whole)) for row, name in
                      zip(rows, shown, strict=True)]  # fmt: skip
    if unclear.reason == "ambiguous_row":
        text = (
            f"'{written}'{josa(written, '이가')} 들어간 {noun}{josa(noun, '이가')} 여러 곳이에요. 어느 곳인가요?"
            if ko
            else f"More than one of the {plural(noun)} matches '{written}'. Which one do you mean?"
        )
        return text, [Choice(title=name, question=_replace(understanding, unclear.span, row or whole)) for row, name in
                      zip(rows, shown, strict=True)]  # fmt: skip
    if unclear.reason in ("unknown_row", "unknown_measure"):
        listed = ", ".join(labels.values())
        if ko:
            text = f"'{title}'에는 '{written}'에 대한 자료가 없어요."
            text += f" 비슷한 이름: {', '.join(shown)}." if shown else ""
            text += f" 이 자료에 있는 수치: {listed}." if listed and not shown else ""
        else:
            text = f"'{title}' has nothing on '{written}'."
            text += f" Closest names: {', '.join(shown)}." if shown else ""
            text += f" It has: {listed}." if listed and not shown else ""
        if shown:
            return text, [Choice(title=name, question=_replace(understanding, unclear.span, row)) for row, name in
                          zip(rows, shown, strict=True)]  # fmt: skip
        return text, [
            Choice(title=label, question=_replace(understanding, unclear.span, label))
            for label in list(labels.values())[:MAX_CHOICES]
        ]
    if unclear.reason == "ambiguous_measure":
        listed = ", ".join(labels.values())
        text = (
            f"어떤 수치를 알려드릴까요? '{title}'에는 {listed}{josa(listed, '이가')} 있어요."
            if ko
            else f"Which figure would you like? '{title}' has {listed}."
        )
        choices = [
            Choice(title=label, question=_replace(understanding, None, label, append=True))
            for label in list(labels.values())[:MAX_CHOICES]
        ]
        return text, choices
    if unclear.reason == "which_row":
        measure = labels.get(unclear.measures[0], "") if unclear.measures else ""
        what = f"{noun}의 {measure}".strip() if ko else f"{measure} of which of the {plural(noun)}".strip()
        if ko:
            text = f"어느 {what}{josa(what, '을를')} 알려드릴까요? 전체 합계도 볼 수 있어요."
            total = Choice(title="전체 합계", question=f"{noun} 전체 {measure} 합계".strip())
        else:
            text = f"Which of the {plural(noun)} do you mean? Tell me its name, or ask for the total of all of them."
            total = Choice(title="Total of all", question=f"total {measure} of all {plural(noun)}".strip())
        choices = [
            Choice(title=name, question=f"{row} {_prefix_question(understanding)}".strip())
            for row, name in zip(rows, shown, strict=True)
        ]
        return text, [*choices[: MAX_CHOICES - 1], total]
    # no_period: a table without a time axis
    if ko:
        text = (
            f"'{title}'{josa(title, '은는')} 시점별로 나뉜 자료가 아니라 {written} 값을 따로 알 수 없어요. "
            "지금 자료 기준으로 볼까요?"
        )
        title_now = "지금 자료 기준으로 보기"
    else:
        text = f"'{title}' is not broken down over time, so it has no figure for {written}. See the current figures?"
        title_now = "See the current figures"
    return text, [Choice(title=title_now, question=_replace(understanding, unclear.span, ""))]


def _replace(understanding: Understanding, span: tuple[int, int] | None, words: str, append: bool = False) -> str:
    text = understanding.text
    joined = f"{text[: span[0]]} {words} {text[span[1] :]}" if span else (f"{text} {words}" if append else text)
    return re.sub(r"\s+", " ", joined).strip()


def _prefix_question(understanding: Understanding) -> str:
    return re.sub(r"\s+", " ", understanding.text).strip()


def _measure_label(dataset: Dataset, name: str, ko: bool) -> str:
    column = columns_of(dataset).get(name)
    if column is None:
        return name
    return column.label_ko if ko else column.label_en
