"""Rules of city notices: writing, publishing with a message to every subscriber, withdrawing, finding;
and the citizens' subscriptions to categories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, joinedload

from api.conversations import outbox
from api.conversations.service import ConversationNotFound, existing_conversation, get_or_create_conversation
from api.core.settings import Settings
from api.notices import search
from api.notices.categories import CATEGORIES
from api.notices.errors import InvalidNotice, NoticeNotFound, NoticeWithdrawn, UnknownCategory
from api.notices.models import Notice, NoticeSubscription
from api.notices.schemas import NoticeIn
from api.staff import permissions
from api.staff.service import audit
from common.clock import SEOUL, utcnow
from common.payloads import payload

if TYPE_CHECKING:  # types only: other domains' tables are not read here
    from api.conversations.models import Conversation
    from api.staff.models import StaffUser

# The first line of every message the city sends on its own (subscriber notices, certified notices). The
# assistant's replies never carry it, so citizens can trust it as the sign of the city as sender.
VERIFIED_HEADER = "✅ 파주시 공식 알림 | Paju City verified"
SUMMARY_CHARS = 120
READ_MORE = {"ko": "자세히 보기", "en": "Read more"}
URGENT_LABEL = {"ko": "긴급", "en": "Urgent"}


@dataclass(frozen=True)
class QuietHours:
    """Subscriber messages wait from `start` until `end` (Asia/Seoul), unless the notice is urgent."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    @classmethod
    def from_settings(cls, settings: Settings) -> QuietHours:
        return cls(settings.notice_quiet_start, settings.notice_quiet_end)

    def hold_until(self, now: datetime) -> datetime | None:
        """The end of the quiet hours `now` falls in; None outside them."""
        local = now.astimezone(SEOUL)
        clock = local.time()
        overnight = self.start > self.end
        quiet = (clock >= self.start or clock < self.end) if overnight else (self.start <= clock < self.end)
        if not quiet:
            return None
        day = local.date() if clock < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, SEOUL)


def category_name(category: str, language: str) -> str:
    return CATEGORIES[category].name(language)


def is_urgent(notice: Notice) -> bool:
    return CATEGORIES[notice.category].urgent


def summary_of(notice: Notice, language: str = "ko") -> str:
    if language == "en" and notice.summary_en:
        return notice.summary_en
    if notice.summary:
        return notice.summary
    text = " ".join(notice.body.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


def read_more_payload(notice_id: int) -> str:
    return payload("notice_read", notice_id=str(notice_id))


def _check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise UnknownCategory(f"Unknown category {category!r}.", f"알 수 없는 분야예요: {category}")
    return category


# --- staff: write, publish, withdraw --------------------------------------------------------------------


def _apply(notice: Notice, fields: NoticeIn, now: datetime) -> None:
    if fields.expires_at is not None and fields.expires_at <= now:
        raise InvalidNotice("The expiry must be in the future.", "게시 종료일은 앞으로의 날짜여야 해요.")
    notice.category = _check_category(fields.category)
    notice.department = fields.department
    notice.title = fields.title
    notice.body = fields.body
    notice.summary = fields.summary
    notice.title_en = fields.title_en
    notice.summary_en = fields.summary_en
    notice.attachments = [{"title": a.title, "url": str(a.url)} for a in fields.attachments]
    notice.expires_at = fields.expires_at
    notice.updated_at = now


def create(session: Session, fields: NoticeIn, user: StaffUser | None, now: datetime | None = None) -> Notice:
    """A draft; `publish` makes it public."""
    now = now or utcnow()
    notice = Notice(created_by_id=user.id if user else None, created_at=now)
    _apply(notice, fields, now)
    session.add(notice)
    search.index_notice(session, notice)
    session.commit()
    return notice


def get_notice(session: Session, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NoticeNotFound(f"Notice {notice_id} not found.", f"공지 {notice_id}번이 없어요.")
    return notice


def update(session: Session, notice_id: int, fields: NoticeIn, now: datetime | None = None) -> Notice:
    """Edits a draft or a published notice; subscribers are not messaged again."""
    notice = get_notice(session, notice_id)
    if notice.status == "withdrawn":
        raise NoticeWithdrawn("A withdrawn notice cannot be edited.", "게시를 철회한 공지는 고칠 수 없어요.")
    _apply(notice, fields, now or utcnow())
    search.index_notice(session, notice)
    session.commit()
    return notice


def publish(
    session: Session,
    notice_id: int,
    quiet: QuietHours | None = None,
    now: datetime | None = None,
    by: StaffUser | None = None,
) -> tuple[Notice, int]:
    """Makes the notice public and writes one message to each subscriber of its category, in one transaction.

    Publishing again (a retry, a double click) writes no second message to anyone: each message's
    dedupe key names the notice and the conversation. Returns the notice and how many messages this call wrote.
    A staff member (`by`) needs the notices.publish permission, and their publishing is in the audit log.
    """
    now = now or utcnow()
    quiet = quiet or QuietHours()
    if by is not None:
        permissions.require(by, permissions.NOTICES_PUBLISH)
    notice = get_notice(session, notice_id)
    if notice.status == "withdrawn":
        raise NoticeWithdrawn(
            "A withdrawn notice cannot be published again.", "게시를 철회한 공지는 다시 게시할 수 없어요."
        )
    if notice.expires_at is not None and notice.expires_at <= now:
        raise InvalidNotice(
            "The notice has expired; change its expiry first.", "게시 기간이 지났어요. 종료일을 먼저 고쳐 주세요."
        )
    if notice.status == "draft":
        notice.status, notice.published_at, notice.updated_at = "published", now, now
    not_before = None if is_urgent(notice) else quiet.hold_until(now)
    subscriptions = session.scalars(
        select(NoticeSubscription)
        .options(joinedload(NoticeSubscription.conversation))
        .where(NoticeSubscription.category == notice.category, NoticeSubscription.withdrawn_at.is_(None))
        .order_by(NoticeSubscription.id)
    ).all()
    written = 0
    for subscription in subscriptions:
        conversation = subscription.conversation
        text, buttons = subscriber_message(notice, outbox.language_of(conversation))
        _message, written_now = outbox.enqueue_once(
            session,
            conversation,
            text=text,
            kind="notice",
            buttons=buttons,
            dedupe_key=f"notice:{notice.id}:conversation:{conversation.id}",
            extra={"notice_id": notice.id},
            not_before=not_before,
        )
        written += written_now
    if by is not None:
        audit(session, by, "publish_notice", f"notice:{notice.id}")
    session.commit()
    return notice, written


def subscriber_message(notice: Notice, language: str) -> tuple[str, list[dict[str, str]]]:
    """The card a subscriber gets: the verified header, category and title, a summary, a read-more button."""
    language = "en" if language == "en" else "ko"
    label = category_name(notice.category, language)
    if is_urgent(notice):
        label = f"{label} · {URGENT_LABEL[language]}"
    title = (notice.title_en or notice.title) if language == "en" else notice.title
    text = f"{VERIFIED_HEADER}\n[{label}] {title}\n{summary_of(notice, language)}"
    return text, [{"title": READ_MORE[language], "payload": read_more_payload(notice.id)}]


def withdraw(session: Session, notice_id: int, now: datetime | None = None) -> Notice:
    """Takes the notice down; subscriber messages still held for the morning are not sent."""
    now = now or utcnow()
    notice = get_notice(session, notice_id)
    if notice.status != "withdrawn":
        notice.status, notice.withdrawn_at, notice.updated_at = "withdrawn", now, now
        outbox.cancel_pending(session, f"notice:{notice.id}:")
    session.commit()
    return notice


# --- finding notices --------------------------------------------------------------------------------------


def _visible(now: datetime) -> list[ColumnElement[bool]]:
    return [
        Notice.status == "published",
        Notice.published_at <= now,
        or_(Notice.expires_at.is_(None), Notice.expires_at > now),
    ]


def _filters(category: str | None, date_from: date | None, date_to: date | None) -> list[ColumnElement[bool]]:
    filters = []
    if category:
        filters.append(Notice.category == _check_category(category))
    if date_from:
        filters.append(Notice.published_at >= datetime.combine(date_from, time(0), SEOUL))
    if date_to:
        filters.append(Notice.published_at < datetime.combine(date_to + timedelta(days=1), time(0), SEOUL))
    return filters


def find(
    session: Session,
    q: str | None = None,
    category: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    size: int = 10,
    now: datetime | None = None,
) -> tuple[list[Notice], int]:
    """Public notices, one page of them and the total: with a query the best matches first, else the newest."""
    now = now or utcnow()
    visible, filters = _visible(now), _filters(category, date_from, date_to)
    offset = (page - 1) * size
    if q and q.strip():
        ranked = search.rank(session, q, visible, filters)
        ids = [r.notice_id for r in ranked[offset : offset + size]]
        by_id = {n.id: n for n in session.scalars(select(Notice).where(Notice.id.in_(ids)))}
        return [by_id[i] for i in ids], len(ranked)
    total = session.scalar(select(func.count()).select_from(Notice).where(*visible, *filters)) or 0
    notices = session.scalars(
        select(Notice)
        .where(*visible, *filters)
        .order_by(Notice.published_at.desc(), Notice.id.desc())
        .offset(offset)
        .limit(size)
    ).all()
    return list(notices), total


def get_public(session: Session, notice_id: int, now: datetime | None = None) -> Notice:
    """A notice citizens may read: published, not withdrawn, not expired."""
    notice = session.scalar(select(Notice).where(Notice.id == notice_id, *_visible(now or utcnow())))
    if notice is None:
        raise NoticeNotFound(
            f"Notice {notice_id} is not published (or no longer).",
            "게시 중인 공지가 아니에요. 철회되었거나 기간이 끝났어요.",
        )
    return notice


def staff_list(session: Session, q: str = "", status: str | None = None, limit: int = 200) -> list[Notice]:
    """Every notice for the console, drafts and withdrawn ones too, the latest changed first."""
    query = select(Notice).order_by(Notice.updated_at.desc(), Notice.id.desc()).limit(limit)
    if status:
        query = query.where(Notice.status == status)
    if q.strip():
        query = query.where(or_(Notice.title.contains(q.strip()), Notice.department.contains(q.strip())))
    return list(session.scalars(query))


def subscriber_count(session: Session, category: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(NoticeSubscription)
            .where(NoticeSubscription.category == category, NoticeSubscription.withdrawn_at.is_(None))
        )
        or 0
    )


# --- subscriptions ------------------------------------------------------------------------------------------


def subscribe(
    session: Session, channel: str, channel_user_id: str, category: str, consent_text: str, now: datetime | None = None
) -> NoticeSubscription:
    """Records the citizen's consent to get the category's notices, with its time; again after a withdrawal."""
    now = now or utcnow()
    _check_category(category)
    conversation = get_or_create_conversation(session, channel, channel_user_id)
    subscription = _subscription(session, conversation, category)
    if subscription is None:
        subscription = NoticeSubscription(conversation_id=conversation.id, category=category)
        session.add(subscription)
    if subscription.withdrawn_at is not None or subscription.id is None:
        subscription.consented_at, subscription.consent_text, subscription.withdrawn_at = now, consent_text, None
    session.commit()
    return subscription


def _subscription(session: Session, conversation: Conversation, category: str) -> NoticeSubscription | None:
    return session.scalar(
        select(NoticeSubscription).where(
            NoticeSubscription.conversation_id == conversation.id, NoticeSubscription.category == category
        )
    )


def unsubscribe(
    session: Session, channel: str, channel_user_id: str, category: str | None = None, now: datetime | None = None
) -> list[str]:
    """Withdraws the consent for one category, or for all with None; returns the categories stopped."""
    now = now or utcnow()
    stopped = []
    for subscription in subscriptions_of(session, channel, channel_user_id):
        if category is None or subscription.category == _check_category(category):
            subscription.withdrawn_at = now
            stopped.append(subscription.category)
    session.commit()
    return stopped


def subscriptions_of(session: Session, channel: str, channel_user_id: str) -> list[NoticeSubscription]:
    try:
        conversation = existing_conversation(session, channel, channel_user_id)
    except ConversationNotFound:
        return []
    return list(
        session.scalars(
            select(NoticeSubscription)
            .where(NoticeSubscription.conversation_id == conversation.id, NoticeSubscription.withdrawn_at.is_(None))
            .order_by(NoticeSubscription.id)
        )
    )
