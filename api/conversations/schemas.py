"""Request and response models of the conversations routes."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["telegram", "web", "kakao"]
ChannelUserId = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")
ChannelMessageId = Field(default=None, min_length=1, max_length=128)


class IncomingMessage(BaseModel):
    channel: Channel
    channel_user_id: str = ChannelUserId
    channel_message_id: str | None = ChannelMessageId
    text: str | None = Field(default=None, max_length=16_384)
    payload: dict[str, Any] | None = None
    language: Literal["ko", "en"] | None = None


class Reply(BaseModel):
    """One assistant turn as Rasa gives it, kept channel-neutral."""

    text: str | None = Field(default=None, max_length=16_384)
    buttons: list[dict[str, Any]] | None = None
    image: str | None = Field(default=None, max_length=2048)
    custom: dict[str, Any] | None = None


class RepliesIn(BaseModel):
    replies: list[Reply] = Field(max_length=50)


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: Literal["in", "out"]
    channel_message_id: str | None
    reply_to_id: int | None
    text: str | None
    payload: dict[str, Any] | None
    created_at: datetime


class RecordedIncoming(BaseModel):
    message_id: int
    conversation_id: int
    mode: Literal["bot", "human"]
    duplicate: bool
    # For a duplicate: what the assistant already answered, so a retry gets the same answer.
    replies: list[MessageOut]
    # For a button press: whether the assistant offered that button in this conversation.
    button_offered: bool | None = None


class HandoffRequest(BaseModel):
    channel: Channel
    channel_user_id: str = ChannelUserId
    reason: str = Field(default="request_human", min_length=1, max_length=64)


class HandoffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    reason: str
    requested_at: datetime
    waiting_ahead: int
