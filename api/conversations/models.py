"""Tables of the conversations domain: one conversation per channel user, and its messages."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.conversations.departments import DEFAULT_DEPARTMENT
from api.core.database import Base, UTCDateTime
from api.staff.models import StaffUser
from common.clock import utcnow


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    channel_user_id: Mapped[str] = mapped_column(String(128))
    # "bot": messages go to Rasa; "human": a staff member has the conversation.
    mode: Mapped[str] = mapped_column(String(8), default="bot")
    language: Mapped[str | None] = mapped_column(String(2))  # of the citizen's last message
    # Chosen with /language; when set it wins over the detected language.
    preferred_language: Mapped[str | None] = mapped_column(String(2))
    # False once the messenger refused delivery (the citizen blocked the bot); True again when they write.
    reachable: Mapped[bool] = mapped_column(default=True)
    # Set when a person hands the conversation back: the gateway restarts Rasa's dialogue first.
    bot_reset_pending: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    messages: Mapped[list["Message"]] = relationship(back_populates="conversation")
    handoffs: Mapped[list["Handoff"]] = relationship(back_populates="conversation")

    @property
    def sender_id(self) -> str:
        return f"{self.channel}:{self.channel_user_id}"


class Message(Base):
    __tablename__ = "messages"
    # A channel may deliver the same message twice (retries, webhooks): its id is stored once.
    __table_args__ = (
        UniqueConstraint("conversation_id", "direction", "channel_message_id"),
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        Index("ix_messages_status_leased_until", "status", "leased_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" from the citizen, "out" to them
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Of an incoming message only: received → answered; or unanswered (the citizen was told the
    # assistant could not answer it). Until it is answered, a retry of it is processed again.
    status: Mapped[str | None] = mapped_column(String(12))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the status was set
    # The delivery processing it holds it until then and extends this while it works; a retry
    # meanwhile is a duplicate, one after it (its process died) processes the message again.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str | None] = mapped_column(String(64))  # the gateway's id for that delivery

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Handoff(Base):
    """A citizen's request for a person: waiting in a department's queue, claimed by staff, then closed or cancelled."""

    __tablename__ = "handoffs"
    __table_args__ = (
        # At most one open request per conversation, also when two arrive at once.
        Index(
            "uq_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=sql_text("status IN ('waiting', 'claimed')"),
            postgresql_where=sql_text("status IN ('waiting', 'claimed')"),
        ),
        Index("ix_handoffs_status_department", "status", "department"),
        Index("ix_handoffs_satisfaction_at", "satisfaction_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    # waiting → claimed → closed; waiting → cancelled (by the citizen); claimed → waiting (transferred)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    reason: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(20), default=DEFAULT_DEPARTMENT)  # a code of departments.py
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it joined its department's queue (requested or transferred), and how many were waiting ahead:
    # recent claims measured from here give the expected wait per person.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ahead_when_queued: Mapped[int] = mapped_column(default=0)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # closed or cancelled
    outcome: Mapped[str | None] = mapped_column(Text)
    # What the department router read (the citizen's recent words, personal data erased): a correction keeps it.
    routed_text: Mapped[str | None] = mapped_column(Text)
    # When a citizen writing while it waits was told their message reached staff: once per stay in a queue.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The citizen's answer (1–5) to "were you satisfied?" after it was closed, given once.
    satisfaction: Mapped[int | None] = mapped_column()
    satisfaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    conversation: Mapped[Conversation] = relationship(back_populates="handoffs")
    claimed_by: Mapped[StaffUser | None] = relationship()


class DepartmentCorrection(Base):
    """Staff moved a handoff to another department: the router learns from the words it had routed."""

    __tablename__ = "department_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id", ondelete="SET NULL"))
    from_department: Mapped[str] = mapped_column(String(20))
    to_department: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)  # personal data erased
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """A message to a citizen that did not answer their message: staff replies, reminders, notices.

    Written in the same transaction as the change that caused it; the gateway claims and delivers
    it. Messages to one conversation are delivered in the order they were written.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_outbox_conversation_status", "conversation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    # The transcript's copy of what was sent.
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # staff_reply, waitlist_offer, reminder, notice, ...
    # The same key is written once: a retried job or publication does not send twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    # pending → delivered; or failed (gave up), unreachable (the citizen blocked the bot), cancelled (its cause
    # was withdrawn). A message held for quiet hours is pending with a later next_attempt_at.
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A claimed message is leased to one gateway until then; after it, another may take it.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    conversation: Mapped[Conversation] = relationship()
    message: Mapped[Message] = relationship()


class CannedReply(Base):
    """A ready answer staff insert with one click; admins keep them, in Korean and English."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    text_ko: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationNote(Base):
    """A staff member's private note on a conversation: colleagues read it, the citizen never receives it."""

    __tablename__ = "conversation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[StaffUser | None] = relationship()


class ConversationLabel(Base):
    """A word staff put on a conversation ("단체예약", "재문의") to find it again and to filter the inbox by."""

    __tablename__ = "conversation_labels"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(30), primary_key=True, index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
