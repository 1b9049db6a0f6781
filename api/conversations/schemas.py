"""Request and response models of the conversations routes."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.conversations.departments import DEPARTMENT_CODES
from api.core.ids import MAX_ID, Id
from api.training.schemas import ParseIn

Channel = Literal["telegram", "web", "kakao"]
ChannelUserId = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")
ChannelMessageId = Field(default=None, min_length=1, max_length=128)


class IncomingMessage(BaseModel):
    channel: Channel
    channel_user_id: str = ChannelUserId
    channel_message_id: str | None = ChannelMessageId
    text: str | None = Field(default=None, max_length=16_384)
    payload: dict[str, Any] | None = None
    # The language of the message's words; none for a message without words to tell (a location, a photo).
    language: Literal["ko", "en"] | None = None
    # The messenger's or browser's setting: a new conversation starts in it until the citizen writes; an existing
    # one keeps its language (the setting need not be the citizen's).
    language_hint: Literal["ko", "en"] | None = None
    # The caller holds the message this long to answer it (extending it while it works); another
    # delivery of it meanwhile is a duplicate. The id of this delivery lets the caller's own retry through.
    lease_seconds: int = Field(default=30, ge=5, le=600)
    delivery_id: str | None = Field(default=None, min_length=1, max_length=64)


class LeaseIn(BaseModel):
    lease_seconds: int = Field(ge=5, le=600)


class Reply(BaseModel):
    """One assistant turn as Rasa gives it, kept channel-neutral."""

    text: str | None = Field(default=None, max_length=16_384)
    buttons: list[dict[str, Any]] | None = None
    image: str | None = Field(default=None, max_length=2048)
    custom: dict[str, Any] | None = None


class RepliesIn(BaseModel):
    replies: list[Reply] = Field(max_length=50)
    # False when the replies only say the assistant could not answer: a retry is then processed again.
    answered: bool = True


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: Literal["in", "out"]
    channel_message_id: str | None
    reply_to_id: int | None
    text: str | None
    payload: dict[str, Any] | None
    created_at: datetime
    # Of an incoming message: received, answered or unanswered.
    status: Literal["received", "answered", "unanswered"] | None = None


class RecordedIncoming(BaseModel):
    message_id: int
    conversation_id: int
    mode: Literal["bot", "human"]
    duplicate: bool
    # For a duplicate: what the assistant already answered, so a retry gets the same answer.
    replies: list[MessageOut]
    # For a button press: whether the assistant offered that button in this conversation.
    button_offered: bool | None = None
    # The pressed button's payload, also when the channel sent only its short key.
    button: str | None = None
    preferred_language: Literal["ko", "en"] | None = None
    # The language of the citizen's last words (or the hint, before they wrote any).
    language: Literal["ko", "en"] | None = None
    # The conversation came back from a person: restart the assistant's dialogue before answering.
    reset_bot: bool = False
    # Delivered before but never answered (a process died mid-turn): processed again, not a duplicate.
    retry: bool = False
    # A duplicate of a message another delivery is answering right now: that one sends the answer.
    in_progress: bool = False


class TurnBegun(RecordedIncoming):
    """The message recorded and held for the caller's turn, and who answers it: mode `bot`, the assistant; mode
    `human`, the staff inbox, and the message is already marked answered (the caller sends nothing)."""

    # The citizen pressed "stop waiting for a person", but a person has taken the conversation already.
    handoff_taken: bool = False
    # Answered by the api itself (a message to staff, a satisfaction score): send `answer`, which may be empty, and
    # end no turn; the message is answered already.
    settled: bool = False
    answer: list[MessageOut] = []


class TurnEnd(RepliesIn):
    """How the caller's turn on a message ended: its replies, and what else the turn did or learnt."""

    # The assistant's dialogue was restarted in this turn (the conversation came back from a person).
    bot_reset: bool = False
    # The citizen chose the language to be answered in; `auto`: the language of each message again.
    language_choice: Literal["ko", "en", "auto"] | None = None
    # What Rasa made of the message, for the NLU inbox; none when the assistant did not see it.
    parse: ParseIn | None = None


Department = Literal[DEPARTMENT_CODES]


class DepartmentOut(BaseModel):
    code: Department
    name: str  # in the caller's language
    name_ko: str
    name_en: str
    default: bool  # where a request goes without one


class HandoffRequest(BaseModel):
    channel: Channel
    channel_user_id: str = ChannelUserId
    reason: str = Field(default="request_human", min_length=1, max_length=64)
    # The caller's guess from what the citizen asked about; staff can change it. None: civil affairs.
    department: Department | None = None


class HandoffOut(BaseModel):
    """A request for a person, and what the citizen should be told about their wait."""

    id: int
    status: Literal["waiting", "claimed", "closed", "cancelled"]
    reason: str
    department: Department
    requested_at: datetime
    waiting_ahead: int
    office_open: bool
    # While the office is open and the request waits: minutes until someone is expected to answer.
    expected_wait_minutes: int | None
    # While the office is closed: when it opens (Asia/Seoul); a message can be left until then.
    next_opening: datetime | None
    # The conversation in the staff console.
    transcript_url: str


class OutboxIn(BaseModel):
    """A message to a citizen who has talked to the assistant before, from a service (actions, jobs)."""

    channel: Channel
    channel_user_id: str = ChannelUserId
    text: str = Field(min_length=1, max_length=4096)
    buttons: list[dict[str, str]] | None = Field(default=None, max_length=10)
    kind: str = Field(default="service", min_length=1, max_length=32, pattern=r"^[a-z_]+$")
    dedupe_key: str | None = Field(default=None, min_length=1, max_length=200)


class OutboxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class ClaimRequest(BaseModel):
    channels: list[Channel] = Field(min_length=1)
    limit: int = Field(default=20, ge=1, le=100)
    lease_seconds: int = Field(default=60, ge=5, le=3600)


class ClaimedMessage(BaseModel):
    id: int
    message_id: int  # the transcript's copy
    channel: Channel
    channel_user_id: str
    language: Literal["ko", "en"]
    text: str | None
    buttons: list[dict[str, Any]] | None
    attempts: int  # counting this claim: its report carries it back as `attempt`
    # "staff" for a staff member's message, with how the citizen sees them (관광과 상담원): channels draw it apart.
    author: Literal["staff"] | None = None
    author_name: str | None = None


class CollectRequest(BaseModel):
    channel: Literal["web"]
    channel_user_id: str = ChannelUserId
    # The message id of the newest city message the page has shown: what was handed over after it is handed over
    # again, so a response lost on the way arrives with the next poll. Without it, only what is waiting.
    after: int | None = Field(default=None, ge=0, le=MAX_ID)


class DeliveryResult(BaseModel):
    status: Literal["delivered", "retry", "unreachable", "failed"]
    error: str | None = Field(default=None, max_length=2000)
    # The messenger's own wait (Telegram's 429 retry_after), in seconds.
    retry_after: float | None = Field(default=None, ge=0, le=86_400)
    channel_message_id: str | None = Field(default=None, max_length=128)
    # The claim's `attempts`: a report of any attempt but the current one (a claimer whose lease lapsed and that
    # another gateway has claimed since) changes nothing unless it is a delivery. Without it, taken as the current.
    attempt: Id | None = None


class DeliveryRecorded(OutboxOut):
    # False when the report changed nothing: a late one, or a delivery already recorded.
    applied: bool


class LanguageChoice(BaseModel):
    # None: follow the language of each message again.
    language: Literal["ko", "en"] | None
