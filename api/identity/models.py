"""Tables of the identity domain: phones linked to a messenger conversation, one-time codes, the SMS sent."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.conversations.models import Conversation
from api.core.database import Base, UTCDateTime
from common.clock import utcnow


class PhoneLink(Base):
    """A phone number proven (by a one-time code) to belong to the citizen of one messenger conversation."""

    __tablename__ = "phone_links"

    # A number is linked to one conversation: linking it again from another messenger moves it there.
    phone: Mapped[str] = mapped_column(String(20), primary_key=True)  # digits only: 01012345678
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), unique=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conversation: Mapped[Conversation] = relationship()


class VerificationCode(Base):
    """A one-time code sent by SMS: to link a phone, or to open a certified notice. Only its hash is kept."""

    __tablename__ = "verification_codes"
    __table_args__ = (
        Index("ix_verification_codes_conversation", "conversation_id", "purpose"),
        Index("ix_verification_codes_phone_created", "phone", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(16))  # link_phone, open_notice
    personal_notice_id: Mapped[int | None] = mapped_column(ForeignKey("personal_notices.id", ondelete="CASCADE"))
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)  # wrong codes entered
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsMessage(Base):
    """Every SMS the api sent, as the development sender records it (no real provider is connected)."""

    __tablename__ = "sms_outbox"
    __table_args__ = (Index("ix_sms_outbox_phone", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(String(16))  # which SmsSender took it: "log"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
