"""Request and response models of the training routes."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.core.ids import Id

Language = Literal["ko", "en"]


class ParseIn(BaseModel):
    """What Rasa made of one citizen message, reported by the gateway after it answered."""

    # False for button presses, commands and locations: no parse, but a handoff may follow them.
    typed: bool = True
    text: str | None = Field(default=None, max_length=16_384)
    language: Language | None = None
    intent: str | None = Field(default=None, max_length=64)
    confidence: float | None = Field(default=None, ge=0, le=1)
    entities: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    fallback: bool = False
    model_id: str | None = Field(default=None, max_length=64)


class ParseReportIn(ParseIn):
    """A parse reported on its own (the gateway sends it with the turn's replies: conversations.TurnEnd)."""

    message_id: Id


class InboxItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    language: str
    text: str
    intent: str | None
    confidence: float
    entities: list[dict[str, Any]]
    fallback: bool
    count: int
    fallback_count: int
    handoff_count: int
    doubt_count: int
    first_seen_at: datetime
    last_seen_at: datetime
    status: str
    label_intent: str | None


class LabelIn(BaseModel):
    intent: str = Field(max_length=64)
    # The message with entities marked ([words](entity)); None: as the citizen wrote it.
    text: str | None = Field(default=None, max_length=1000)
    # True to create an intent nobody used before (otherwise refused, with the existing names it is close to).
    new_intent: bool = False


class ExampleIn(BaseModel):
    language: Language
    intent: str = Field(max_length=64)
    text: str = Field(max_length=1000)
    new_intent: bool = False  # as in LabelIn


class AnswerIn(BaseModel):
    text_ko: str = Field(max_length=1000)
    text_en: str = Field(max_length=1000)
    link_title_ko: str = Field(default="", max_length=40)
    link_title_en: str = Field(default="", max_length=40)
    link_url: str = Field(default="", max_length=500)
    handoff: bool = False


class AnswerOut(AnswerIn):
    intent: str


class ExampleOut(BaseModel):
    language: str
    intent: str
    text: str
    file: str
    removable: bool


class ExampleAdded(BaseModel):
    example: ExampleOut
    warnings: list[str]


class IntentCountOut(BaseModel):
    intent: str
    counts: dict[str, int]
    admin_counts: dict[str, int]


class IntentsOut(BaseModel):
    intents: list[IntentCountOut]
    warnings: list[str]


class ChangesOut(BaseModel):
    live_model_id: int | None
    known: bool  # False: the live model's examples are unknown (trained outside the console)
    added: list[tuple[str, str, str]]
    removed: list[tuple[str, str, str]]


class RunIn(BaseModel):
    cross_validation: bool = False


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: Literal["running", "succeeded", "failed"]
    cross_validation: bool
    started_by_id: int | None
    started_at: datetime
    finished_at: datetime | None
    progress: int
    stage: str
    error: str | None
    model_id: int | None
    log: str = ""


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    file_name: str
    path: str
    rasa_model_id: str | None
    fingerprint: str | None
    source: str
    config_name: str | None
    trained_by_id: int | None
    trained_at: datetime
    duration_seconds: float | None
    evaluation: dict[str, Any]
    live: bool = False


class ReplicaOut(BaseModel):
    url: str
    rasa_model_id: str | None
    error: str | None


class LiveOut(BaseModel):
    model: ModelOut | None
    replicas: list[ReplicaOut]


class ActivationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    model_id: int
    previous_model_id: int | None
    kind: str
    activated_by_id: int | None
    activated_at: datetime
    replicas: dict[str, str]
    confirm_reason: str | None = None  # why an admin activated a model the safety gate blocked
    gate_reasons: list[str] | None = None  # what blocked it then (Korean)


class ActivateIn(BaseModel):
    # Needed only when the safety gate blocks the model: recorded with the activation and in the audit log.
    confirm_reason: str | None = Field(default=None, max_length=500)


class IntentChangeOut(BaseModel):
    set_name: str
    intent: str
    support: int
    candidate_f1: float
    live_f1: float
    change: float
    blocks: bool


class GateOut(BaseModel):
    blocked: bool
    compared: bool
    compared_with: str | None
    margin: float
    reasons: list[str]  # in the language the request prefers
    accuracy: dict[str, tuple[float, float]]  # set → (candidate, live)
    changes: list[IntentChangeOut]


class RegressionIn(BaseModel):
    language: Language
    intent: str = Field(max_length=64)
    text: str = Field(max_length=1000)


class RegressionFromInboxIn(BaseModel):
    # None: the intent the item was labelled with.
    intent: str | None = Field(default=None, max_length=64)


class RegressionOut(BaseModel):
    id: int | None  # None: a message of the shipped file, not removable in the console
    language: str
    text: str
    intent: str
    added_by: str | None = None


class TrialIn(BaseModel):
    text: str = Field(min_length=1, max_length=1000)


class TrialTurnOut(BaseModel):
    text: str
    replies: list[dict[str, Any]]
    intent: str | None
    confidence: float | None


class TrialOut(BaseModel):
    model_id: int | None
    status: Literal["starting", "ready", "failed", "stopped"]
    turns: list[TrialTurnOut]
