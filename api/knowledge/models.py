"""Tables of the knowledge domain: the entries staff keep, their sentence embeddings, and the questions asked."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.database import Base, UTCDateTime
from common.clock import utcnow

# draft → published ⇄ withdrawn; a withdrawn entry may go back to draft for rework.
STATUSES = ("draft", "published", "withdrawn")


class KnowledgeEntry(Base):
    """One answer the city stands behind: the questions it answers, a short answer in Korean (and English, when
    written), who to call, where to read more, and when staff must check it again."""

    __tablename__ = "knowledge_entries"
    __table_args__ = (Index("ix_knowledge_entries_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str | None] = mapped_column(String(60), unique=True)  # the seed's key; None for staff-made entries
    title_ko: Mapped[str] = mapped_column(String(120))
    title_en: Mapped[str | None] = mapped_column(String(120))
    questions: Mapped[str] = mapped_column(Text)  # one question form per line
    answer_ko: Mapped[str] = mapped_column(Text)
    answer_en: Mapped[str | None] = mapped_column(Text)
    department_ko: Mapped[str] = mapped_column(String(60))
    department_en: Mapped[str | None] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(20))
    link: Mapped[str | None] = mapped_column(String(300))
    review_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    sample: Mapped[bool] = mapped_column(default=False)  # seeded sample content, not the city's confirmed word
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    def title(self, language: str) -> str:
        return (self.title_en or self.title_ko) if language == "en" else self.title_ko

    def department(self, language: str) -> str:
        return (self.department_en or self.department_ko) if language == "en" else self.department_ko

    def question_list(self) -> list[str]:
        return [line.strip() for line in self.questions.splitlines() if line.strip()]


class KnowledgeVector(Base):
    """A sentence embedding of one text of an entry (its title or one question form), written when the entry is
    saved; `text_hash` tells whether the text it was computed from is still the entry's."""

    __tablename__ = "knowledge_vectors"

    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised


class KnowledgeAsk(Base):
    """A question a citizen asked and what the assistant did with it: the learning loop's raw material.
    The question is stored masked (no phone, e-mail or resident number), and no one's id."""

    __tablename__ = "knowledge_asks"
    __table_args__ = (Index("ix_knowledge_asks_asked_at", "asked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    language: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str | None] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(String(300))
    answered: Mapped[bool]
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="SET NULL"))
    notice_id: Mapped[int | None]  # a notice answered it (no foreign key: notices are another domain's)
    score: Mapped[float]
    helpful: Mapped[bool | None]
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed: Mapped[bool] = mapped_column(default=False)
