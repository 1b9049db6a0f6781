"""Tables of the training domain: the NLU inbox, training runs, trained models and their activations."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core.database import Base, UTCDateTime
from api.staff.models import StaffUser
from common.clock import utcnow


class InboxItem(Base):
    """One distinct message text (masked, normalised) the assistant parsed, with what it made of it."""

    __tablename__ = "nlu_inbox"
    # The same words in the same language are one item, however often citizens write them.
    __table_args__ = (
        UniqueConstraint("language", "text_hash"),
        Index("ix_nlu_inbox_status_last_seen", "status", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)  # personal data masked
    text_hash: Mapped[str] = mapped_column(String(64))  # of the case-folded text: the de-duplication key
    # What the model that parsed it most recently predicted (nlu_fallback resolved to the best real intent).
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    fallback: Mapped[bool] = mapped_column(default=False)
    model_id: Mapped[str | None] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(default=1)
    fallback_count: Mapped[int] = mapped_column(default=0)
    handoff_count: Mapped[int] = mapped_column(default=0)
    # How often what the citizen did next says the answer was wrong although the model was sure (api/training/
    # inbox.py DOUBTS): the mistakes that matter most, ranked first for review.
    doubt_count: Mapped[int] = mapped_column(default=0)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # new → labelled (an example of `label_intent`), out_of_scope (an out_of_scope example) or ignored
    status: Mapped[str] = mapped_column(String(12), default="new")
    label_intent: Mapped[str | None] = mapped_column(String(64))
    labelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    labelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    labelled_by: Mapped[StaffUser | None] = relationship()


class InboxSighting(Base):
    """One citizen message behind an inbox item: its conversation, and whether a handoff followed it."""

    __tablename__ = "nlu_sightings"
    __table_args__ = (
        # A report sent twice (a retry) counts once.
        UniqueConstraint("message_id"),
        Index("ix_nlu_sightings_conversation_seen", "conversation_id", "seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("nlu_inbox.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the citizen's message was recorded
    fallback: Mapped[bool] = mapped_column(default=False)  # the assistant did not understand it (for daily rates)
    handoff: Mapped[bool] = mapped_column(default=False)
    # Why the answer to this message looks wrong, from what came next (a key of inbox.DOUBTS); None: no sign.
    doubt: Mapped[str | None] = mapped_column(String(16))

    item: Mapped[InboxItem] = relationship()


class TrainedModel(Base):
    """A Rasa model file the console knows: trained here, or found in the models folder."""

    __tablename__ = "nlu_models"
    __table_args__ = (UniqueConstraint("path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(500))  # absolute
    file_name: Mapped[str] = mapped_column(String(200))
    rasa_model_id: Mapped[str | None] = mapped_column(String(64), index=True)  # Rasa's id, shown by /status
    fingerprint: Mapped[str | None] = mapped_column(String(32))  # of the config, domain and data it learnt
    source: Mapped[str] = mapped_column(String(8), default="console")  # console, found
    config_name: Mapped[str | None] = mapped_column(String(200))
    trained_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    # [language, intent, text] of every example it learnt, for "what changed since"; None when unknown.
    examples: Mapped[list[list[str]] | None] = mapped_column(JSON)
    # {"held_out": report, "regression": report, "cross_validation": report}; see api/training/metrics.py.
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When housekeeping deleted the file (api/training/scheduled.py); the row stays for the activation history.
    file_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    trained_by: Mapped[StaffUser | None] = relationship()


class TrainingRun(Base):
    """A training (and evaluation) in the background: one at a time, with its progress and log."""

    __tablename__ = "training_runs"
    __table_args__ = (
        # At most one run is running, also when two admins press the button at once.
        Index(
            "uq_training_runs_running",
            "status",
            unique=True,
            sqlite_where=sql_text("status = 'running'"),
            postgresql_where=sql_text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="running")  # running, succeeded, failed
    cross_validation: Mapped[bool] = mapped_column(default=False)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The worker touches this while it lives; a running run without a recent heartbeat died with its process.
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress: Mapped[int] = mapped_column(default=0)  # percent
    stage: Mapped[str] = mapped_column(String(200), default="")
    log_path: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("nlu_models.id", ondelete="SET NULL"))

    started_by: Mapped[StaffUser | None] = relationship()
    model: Mapped[TrainedModel | None] = relationship()


class ModelActivation(Base):
    """Who made which model the live one, when; Rasa replicas pull the latest activation's model."""

    __tablename__ = "model_activations"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("nlu_models.id", ondelete="CASCADE"))
    previous_model_id: Mapped[int | None] = mapped_column(ForeignKey("nlu_models.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(10))  # activate, rollback
    activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What each Rasa replica answered to `PUT /model` (Rasa URL → "ok" or the error), when activating loaded the
    # model into them; empty since replicas pull it.
    replicas: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Why an admin activated a model the safety gate blocked (api/training/gate.py), and what blocked it then.
    confirm_reason: Mapped[str | None] = mapped_column(Text)
    gate_reasons: Mapped[list[str] | None] = mapped_column(JSON)

    model: Mapped[TrainedModel] = relationship(foreign_keys=[model_id])
    previous_model: Mapped[TrainedModel | None] = relationship(foreign_keys=[previous_model_id])
    activated_by: Mapped[StaffUser | None] = relationship()


class RegressionMessage(Base):
    """A message admins added to the regression set in the console, beside the shipped file's."""

    __tablename__ = "nlu_regression_messages"
    __table_args__ = (UniqueConstraint("language", "text_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))  # of the case-folded text, as the inbox keys its items
    intent: Mapped[str] = mapped_column(String(64))
    inbox_item_id: Mapped[int | None] = mapped_column(ForeignKey("nlu_inbox.id", ondelete="SET NULL"))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    added_by: Mapped[StaffUser | None] = relationship()
