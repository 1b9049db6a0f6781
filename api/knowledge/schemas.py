"""Request and response models of the knowledge routes, and the fields of an entry staff edit."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.core.ids import Id

Language = Literal["ko", "en"]


class EntryFields(BaseModel):
    """What staff write in an entry. Bounds and formats are the service's to check (InvalidEntry names the field),
    so a console form gets a message in words rather than a validation dump."""

    title_ko: str = ""
    title_en: str | None = None
    questions: list[str] = Field(default_factory=list)
    answer_ko: str = ""
    answer_en: str | None = None
    department_ko: str = ""
    department_en: str | None = None
    phone: str | None = None
    link: str | None = None
    review_on: date | None = None


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=500)
    language: Language = "ko"
    # A flow intent was only weakly predicted: answer only on a strong match, and keep no record otherwise.
    strict: bool = False
    channel: str | None = Field(default=None, max_length=16)


class Source(BaseModel):
    kind: Literal["entry", "notice"]
    id: int
    title: str
    sample: bool = False


class Answer(BaseModel):
    text: str
    language: Language  # of `text`: Korean when the entry has no English answer
    korean_only: bool  # the citizen asked in English and only the Korean answer exists
    title: str
    department: str | None
    phone: str | None
    link: str | None
    sample: bool
    source: Source


class Fallback(BaseModel):
    """Whom to call when there is no answer: the department the question most likely belongs to, or the city."""

    department: str
    phone: str


class AskOut(BaseModel):
    answered: bool
    ask_id: int | None
    confidence: float
    answer: Answer | None
    sources: list[Source]
    alternatives: list[Source]
    fallback: Fallback | None


class FeedbackIn(BaseModel):
    ask_id: Id
    helpful: bool
