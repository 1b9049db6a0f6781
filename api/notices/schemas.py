"""Request and response models of the notices routes."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from api.conversations.schemas import Channel, ChannelUserId
from api.notices.categories import CATEGORY_CODES

Category = Literal[CATEGORY_CODES]


class Attachment(BaseModel):
    title: str = Field(min_length=1, max_length=120)
    url: HttpUrl


class NoticeIn(BaseModel):
    """What staff write; Korean is required, the English title and summary are optional."""

    category: Category
    department: str = Field(min_length=1, max_length=60)
    title: str = Field(min_length=2, max_length=200)
    body: str = Field(min_length=2, max_length=20_000)
    summary: str | None = Field(default=None, max_length=300)
    title_en: str | None = Field(default=None, max_length=200)
    summary_en: str | None = Field(default=None, max_length=1000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=10)
    expires_at: datetime | None = None

    # Before the length checks, so that "0\r" is the one character it is and gets a clear 422.
    @field_validator("department", "title", "body", "summary", "title_en", "summary_en", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time zone, e.g. 2026-12-31T23:59:00+09:00")
        return value


class NoticeCreate(NoticeIn):
    publish: bool = False


class NoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    category: Category
    category_name: str
    department: str
    title: str
    summary: str
    body: str
    title_en: str | None
    summary_en: str | None
    attachments: list[dict[str, str]]
    status: Literal["draft", "published", "withdrawn"]
    urgent: bool
    published_at: datetime | None
    expires_at: datetime | None
    updated_at: datetime


class Published(BaseModel):
    notice: NoticeOut
    # Subscriber messages written by this call: a retried publication writes none again.
    messages_queued: int


class CategoryOut(BaseModel):
    code: Category
    name: str  # in the caller's language
    urgent: bool
    # For the action server (service token) only: both names, and the words that name the category when typed.
    name_ko: str | None = None
    name_en: str | None = None
    words: list[str] | None = None


class ChannelUser(BaseModel):
    channel: Channel
    channel_user_id: str = ChannelUserId


class SubscriptionIn(ChannelUser):
    category: Category
    # The consent statement as the citizen was shown it; kept with the time they agreed.
    consent_text: str = Field(min_length=5, max_length=1000)


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    category: Category
    category_name: str
    consented_at: datetime


class PhoneLinkStart(ChannelUser):
    phone: str = Field(min_length=9, max_length=20)


class CodeIn(ChannelUser):
    code: str = Field(min_length=1, max_length=20)


class CodeSent(BaseModel):
    phone: str  # masked
    expires_at: datetime


class PhoneLinked(BaseModel):
    phone: str  # masked
    linked_at: datetime
    unread: int


class PersonalNoticeIn(BaseModel):
    phone: str = Field(min_length=9, max_length=20)
    recipient_name: str | None = Field(default=None, max_length=60)
    department: str = Field(min_length=1, max_length=60)
    title: str = Field(min_length=2, max_length=200)
    body: str = Field(min_length=2, max_length=20_000)


class PersonalNoticeStatus(BaseModel):
    """For staff: the delivery record, the phone masked."""

    id: int
    phone: str
    department: str
    title: str
    sent_at: datetime
    delivered_at: datetime | None
    identity_confirmed_at: datetime | None
    read_at: datetime | None
    paper_mail_at: datetime | None


class PersonalNoticeListed(BaseModel):
    """For the citizen before opening: who sent it and when; the title only once they have read it."""

    id: int
    department: str
    sent_at: datetime
    read: bool
    title: str | None


class PersonalNoticeContent(BaseModel):
    id: int
    department: str
    title: str
    body: str
    sent_at: datetime
    read_at: datetime
