"""The evaluation set as data: each dataset's CSV file, the metadata an admin uploads with it, and its questions.

One YAML file per dataset in `datasets/` names its CSV file, the file's encoding, the language of its header, the
shape the table has, the registry metadata, and the questions. An answerable question carries the figure expected
(`expect`) and the pandas expression over the file (`check`, `df` is the table) that gives it; a question about
the largest or smallest also carries the row or month that must be named (`row`, with `row_check`). A question
that cannot be answered says why (`unanswerable`). A follow-up names the question asked before it
(`context_question`). A dataset written without reading the engine, to measure it on a table its author has not
seen, says so (`heldout: true`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

DATASETS = Path(__file__).resolve().parent / "datasets"
YEAR = re.compile(r"(?<!\d)(?:19[5-9]\d|20[0-4]\d)(?!\d)|'\d{2}(?=\s*년)")
WHY_UNANSWERABLE = {"unknown_row", "ambiguous_row", "unknown_measure", "ambiguous_measure", "no_period"}


@dataclass(frozen=True)
class Question:
    ask: str
    language: str
    expect: float | None = None
    check: str | None = None
    row: str | None = None
    row_en: tuple[str, ...] = ()
    row_check: str | None = None
    unanswerable: str | None = None
    context_question: str | None = None

    @property
    def answerable(self) -> bool:
        return self.unanswerable is None


@dataclass(frozen=True)
class EvalDataset:
    name: str
    file: Path
    encoding: str
    header: str
    shape: dict[str, Any]
    metadata: dict[str, Any]
    questions: tuple[Question, ...]
    heldout: bool = False

    @property
    def id(self) -> str:
        return self.metadata["id"]

    def content(self) -> bytes:
        return self.file.read_bytes()

    @cached_property
    def frame(self) -> pd.DataFrame:
        return pd.read_csv(self.file, encoding=self.encoding)

    def evaluate(self, expression: str) -> Any:
        """A question's `check` or `row_check`, run over the table as plain pandas reads it."""
        return eval(expression, {"pd": pd}, {"df": self.frame})

    def years(self) -> set[int]:
        """The years the data speaks of: its time axis, and any its titles or descriptions name ("2025년 6월 말")."""
        described = " ".join(
            str(self.metadata.get(key) or "") for key in ("title_ko", "title_en", "description_ko", "description_en")
        )
        time = self.shape["time_column"]
        axis = " ".join(self.frame[time].astype(str)) if time else ""
        return years_in(f"{described} {axis}")

    def names(self) -> set[str]:
        """Every text value of the table and the dataset's titles: names, which may contain digits."""
        values = {str(v) for c in self.frame.select_dtypes(exclude="number") for v in self.frame[c].dropna()}
        labels = ("title_ko", "title_en", "row_label_ko", "row_label_en")
        return values | {self.metadata[key] for key in labels if self.metadata.get(key)}


def years_in(text: str) -> set[int]:
    """The years a text names: 2024, 2024년, 2024-05, '24년."""
    return {int(y) if len(y) == 4 else 2000 + int(y[1:]) for y in YEAR.findall(text)}


def _question(entry: dict[str, Any], where: str) -> Question:
    unknown = set(entry) - set(Question.__dataclass_fields__)
    if unknown or "ask" not in entry or entry.get("language") not in ("ko", "en"):
        raise ValueError(f"{where}: needs `ask` and `language` (ko or en); unknown keys {sorted(unknown)}")
    if entry.get("unanswerable") is None:
        if entry.get("expect") is None or entry.get("check") is None:
            raise ValueError(f"{where}: an answerable question needs `expect` and `check`")
        if (entry.get("row") is None) != (entry.get("row_check") is None):
            raise ValueError(f"{where}: `row` and `row_check` go together")
    elif entry["unanswerable"] not in WHY_UNANSWERABLE or "expect" in entry:
        raise ValueError(f"{where}: `unanswerable` is one of {sorted(WHY_UNANSWERABLE)}, with no `expect`")
    return Question(**(entry | {"row_en": tuple(entry.get("row_en", ()))}))


def load_dataset(path: Path) -> EvalDataset:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions = tuple(_question(q, f"{path.name} #{n}") for n, q in enumerate(spec["questions"], start=1))
    return EvalDataset(
        name=path.stem,
        file=path.parent / spec["file"],
        encoding=spec["encoding"],
        header=spec["header"],
        shape=spec["shape"],
        metadata=spec["metadata"],
        questions=questions,
        heldout=bool(spec.get("heldout", False)),
    )


def load_set() -> list[EvalDataset]:
    return [load_dataset(path) for path in sorted(DATASETS.glob("*.yml"))]
