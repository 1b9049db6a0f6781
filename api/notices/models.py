"""Tables of the notices domain: city notices and their search index, subscriptions, certified personal notices."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.conversations.models import Conversation
from api.core.database import Base, UTCDateTime
from common.clock import utcnow


class Notice(Base):
    """A public notice of the city, written in Korean, with an optional English title and summary."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_status_published", "status", "published_at"),
        Index("ix_notices_category_published", "category", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(16))  # a code of api/notices/categories.py
    department: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # For cards and subscriber messages; when empty the body's beginning stands in.
    summary: Mapped[str | None] = mapped_column(Text)
    title_en: Mapped[str | None] = mapped_column(String(200))
    summary_en: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{"title": ..., "url": ...}]
    # draft → published → withdrawn
    status: Mapped[str] = mapped_column(String(12), default="draft")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NoticeTerm(Base):
    """The search index: how often a normalised term (a Korean character bigram or an English word)
    occurs in one field of a notice. Portable: plain rows and an index, the same on SQLite and PostgreSQL."""

    __tablename__ = "notice_terms"
    __table_args__ = (Index("ix_notice_terms_term", "term"),)

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True)
    term: Mapped[str] = mapped_column(String(40), primary_key=True)
    field: Mapped[str] = mapped_column(String(8), primary_key=True)  # title, body, english
    count: Mapped[int]


class NoticeSubscription(Base):
    """A citizen's consent to get the notices of one category in their messenger; kept when withdrawn."""

    __tablename__ = "notice_subscriptions"
    __table_args__ = (
        UniqueConstraint("conversation_id", "category"),
        Index("ix_notice_subscriptions_category", "category", "withdrawn_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(16))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The statement the citizen agreed to, as they were shown it.
    consent_text: Mapped[str] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None while subscribed

    conversation: Mapped[Conversation] = relationship()


class PersonalNotice(Base):
    """A certified notice to one citizen, addressed by phone number (공인알림 style).

    Its content is shown only after the citizen confirms their identity with a one-time code; the times
    it was sent, delivered, identity-confirmed and read make its delivery certificate.
    """

    __tablename__ = "personal_notices"
    __table_args__ = (Index("ix_personal_notices_phone", "phone", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))  # digits only
    recipient_name: Mapped[str | None] = mapped_column(String(60))
    department: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The "a notice is waiting" message in the citizen's messenger; its delivery time is the notice's.
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    identity_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After a correct code the content may be shown to the linked conversation until then.
    unlocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Not read in time: the city sends it on paper as well.
    paper_mail_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
