"""Certified personal notices (공인알림 style): the "a notice is waiting" message to the messenger the phone is
linked to (api/identity links it by a one-time code), identity confirmed by code before the content is shown,
the delivery certificate, and paper mail for notices left unread."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.conversations import outbox
from api.conversations.service import existing_conversation
from api.identity import service as identity
from api.identity.errors import PhoneNotLinked
from api.notices.errors import IdentityNotConfirmed, PersonalNoticeNotFound
from api.notices.models import PersonalNotice
from api.notices.schemas import PersonalNoticeIn
from api.notices.service import VERIFIED_HEADER, QuietHours
from api.staff import permissions
from api.staff.service import audit
from common.clock import utcnow
from common.masking import mask_phone
from common.payloads import payload

if TYPE_CHECKING:  # types only: other domains' tables are not read here
    from api.conversations.models import Conversation
    from api.identity.models import PhoneLink, VerificationCode
    from api.identity.sms import SmsSender
    from api.staff.models import StaffUser

# After a correct code the content may be shown for this long (the citizen reads, scrolls back).
UNLOCKED_FOR = timedelta(minutes=10)
CONTENT_HASHED = "SHA-256 of the UTF-8 JSON object {department, title, body}, keys sorted, no spaces"


def content_sha256(department: str, title: str, body: str) -> str:
    content = json.dumps(
        {"department": department, "title": title, "body": body},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode()).hexdigest()


def open_payload(notice_id: int) -> str:
    return payload("notice_open", personal_notice_id=str(notice_id))


def waiting_message(notice: PersonalNotice, language: str) -> tuple[str, list[dict[str, str]]]:
    """The message that a notice is waiting: who sent it, and that the citizen must confirm who they are."""
    if language == "en":
        text = (
            f"{VERIFIED_HEADER}\n📨 A certified notice from {notice.department} is waiting for you.\n"
            "Confirm it is you (with a code sent by SMS) to read it."
        )
        return text, [{"title": "Confirm and open", "payload": open_payload(notice.id)}]
    text = (
        f"{VERIFIED_HEADER}\n📨 {notice.department}에서 보낸 공인알림이 도착했어요.\n"
        "본인 확인(문자로 받는 인증번호) 후 내용을 볼 수 있어요."
    )
    return text, [{"title": "본인 확인하고 열기", "payload": open_payload(notice.id)}]


# --- a phone linked: its waiting notices ----------------------------------------------------------------------


def confirm_link(
    session: Session, channel: str, channel_user_id: str, code: str, now: datetime | None = None
) -> tuple[PhoneLink, int]:
    """Links the phone the code went to (api/identity); notices already waiting for it are announced here at once.

    Returns the link and how many of the phone's notices are unread.
    """
    now = now or utcnow()
    conversation = existing_conversation(session, channel, channel_user_id)
    link = identity.link_phone(session, conversation, code, now)
    unread = _unread(session, link.phone)
    for notice in unread:
        if notice.notification_id is None:
            _notify(session, notice, conversation, now, not_before=None)
    session.commit()
    return link, len(unread)


def _unread(session: Session, phone: str) -> list[PersonalNotice]:
    return list(
        session.scalars(
            select(PersonalNotice)
            .where(PersonalNotice.phone == phone, PersonalNotice.read_at.is_(None))
            .order_by(PersonalNotice.id)
        )
    )


# --- sending and reading ------------------------------------------------------------------------------------------


def _notify(
    session: Session, notice: PersonalNotice, conversation: Conversation, now: datetime, not_before: datetime | None
) -> None:
    text, buttons = waiting_message(notice, outbox.language_of(conversation))
    message = outbox.enqueue(
        session,
        conversation,
        text=text,
        kind="personal_notice",
        buttons=buttons,
        dedupe_key=f"personal_notice:{notice.id}:conversation:{conversation.id}",
        extra={"personal_notice_id": notice.id},
        not_before=not_before,
    )
    notice.notification_id, notice.notified_at = message.id, now


def send(
    session: Session,
    fields: PersonalNoticeIn,
    user: StaffUser | None,
    quiet: QuietHours | None = None,
    now: datetime | None = None,
) -> PersonalNotice:
    """Addresses a notice to a phone number; if the number is linked, its messenger hears at once
    (in the morning, when sent in quiet hours); otherwise when the citizen links it. A staff member (`user`)
    needs the personal_notices.send permission, and the sending is in the audit log."""
    now = now or utcnow()
    quiet = quiet or QuietHours()
    if user is not None:
        permissions.require(user, permissions.PERSONAL_NOTICES_SEND)
    phone = identity.normalize_phone(fields.phone)
    notice = PersonalNotice(
        phone=phone,
        recipient_name=fields.recipient_name,
        department=fields.department,
        title=fields.title,
        body=fields.body,
        content_sha256=content_sha256(fields.department, fields.title, fields.body),
        sent_by_id=user.id if user else None,
        sent_at=now,
    )
    session.add(notice)
    session.flush()
    linked = identity.linked_conversation(session, phone)
    if linked is not None:
        _notify(session, notice, linked, now, quiet.hold_until(now))
    if user is not None:
        audit(session, user, "send_personal_notice", f"personal_notice:{notice.id}")
    session.commit()
    return notice


def notices_of(session: Session, channel: str, channel_user_id: str) -> list[PersonalNotice]:
    """The notices addressed to the phone linked to this conversation, newest first, read and unread."""
    _conversation, phone = identity.linked_phone(session, channel, channel_user_id)
    return list(
        session.scalars(
            select(PersonalNotice).where(PersonalNotice.phone == phone).order_by(PersonalNotice.sent_at.desc())
        )
    )


def _own_notice(
    session: Session, notice_id: int, channel: str, channel_user_id: str
) -> tuple[Conversation, PersonalNotice]:
    conversation, phone = identity.linked_phone(session, channel, channel_user_id)
    notice = session.get(PersonalNotice, notice_id)
    if notice is None or notice.phone != phone:
        raise PersonalNoticeNotFound(f"No notice {notice_id} for you.", "찾는 공인알림이 없어요.")
    return conversation, notice


def code_recipient(session: Session, notice_id: int, channel: str, channel_user_id: str) -> str | None:
    """The phone an identity code for this notice would go to when this conversation asks; None when it would
    go nowhere (not the conversation's notice), so a stranger's asking never counts against the citizen's phone."""
    try:
        return _own_notice(session, notice_id, channel, channel_user_id)[1].phone
    except (PhoneNotLinked, PersonalNoticeNotFound):
        return None


def request_identity_code(
    session: Session, notice_id: int, channel: str, channel_user_id: str, sender: SmsSender, now: datetime | None = None
) -> VerificationCode:
    """Sends a code to the notice's phone; the citizen enters it here before the content is shown."""
    now = now or utcnow()
    conversation, notice = _own_notice(session, notice_id, channel, channel_user_id)
    issued = identity.issue_code(session, conversation, notice.phone, identity.OPEN_NOTICE, sender, now, notice.id)
    session.commit()
    return issued


def confirm_identity(
    session: Session, notice_id: int, channel: str, channel_user_id: str, code: str, now: datetime | None = None
) -> PersonalNotice:
    now = now or utcnow()
    conversation, notice = _own_notice(session, notice_id, channel, channel_user_id)
    identity.check_code(session, conversation, identity.OPEN_NOTICE, code, now, notice.id)
    notice.identity_confirmed_at = notice.identity_confirmed_at or now
    notice.unlocked_until = now + UNLOCKED_FOR
    session.commit()
    return notice


def read(
    session: Session, notice_id: int, channel: str, channel_user_id: str, now: datetime | None = None
) -> PersonalNotice:
    """The content, only shortly after a correct code entered in this same conversation; the first time is
    recorded as the time it was read."""
    now = now or utcnow()
    conversation, notice = _own_notice(session, notice_id, channel, channel_user_id)
    if not _unlocked_in(session, notice, conversation, now):
        raise IdentityNotConfirmed(
            "Confirm it is you with the code sent by SMS first.", "문자로 받은 인증번호로 먼저 본인 확인을 해 주세요."
        )
    notice.read_at = notice.read_at or now
    session.commit()
    return notice


def _unlocked_in(session: Session, notice: PersonalNotice, conversation: Conversation, now: datetime) -> bool:
    """Whether a code for this notice was entered in this conversation within the reading window.

    The window alone is the notice's, not the chat's: a phone linked to another chat meanwhile would open the
    notice there without a code of its own.
    """
    if notice.unlocked_until is None or notice.unlocked_until <= now:
        return False
    return identity.code_entered_since(session, notice.id, conversation, identity.OPEN_NOTICE, now - UNLOCKED_FOR)


# --- staff: the record, the certificate, paper mail -------------------------------------------------------------


def get(session: Session, notice_id: int) -> PersonalNotice:
    notice = session.get(PersonalNotice, notice_id)
    if notice is None:
        raise PersonalNoticeNotFound(f"Personal notice {notice_id} not found.", f"공인알림 {notice_id}번이 없어요.")
    return notice


def delivered_at(session: Session, notice: PersonalNotice) -> datetime | None:
    """When the messenger took the "a notice is waiting" message."""
    return outbox.get(session, notice.notification_id).delivered_at if notice.notification_id else None


def read_record(session: Session, notice_id: int, reader: StaffUser) -> PersonalNotice:
    """One notice's delivery record for a staff member; reading it is audited."""
    notice = get(session, notice_id)
    audit(session, reader, "view_personal_notice", f"personal_notice:{notice.id}")
    session.commit()
    return notice


def staff_list(session: Session, reader: StaffUser, limit: int = 200) -> list[PersonalNotice]:
    """The newest notices with their recipients, for a staff member; reading the list is audited."""
    notices = list(session.scalars(select(PersonalNotice).order_by(PersonalNotice.id.desc()).limit(limit)))
    audit(session, reader, "view_personal_notices", f"personal_notices:{len(notices)}")
    session.commit()
    return notices


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def certificate(session: Session, notice_id: int, reader: StaffUser, now: datetime | None = None) -> dict[str, Any]:
    """The delivery certificate: what was sent (its content's SHA-256), to whom (masked), and when it was
    sent, delivered, identity-confirmed and read. It needs the personal_notices.certificate permission; who
    issued it is in the audit log."""
    permissions.require(reader, permissions.PERSONAL_NOTICES_CERTIFICATE)
    notice = get(session, notice_id)
    audit(session, reader, "download_certificate", f"personal_notice:{notice.id}", "delivery certificate")
    session.commit()
    return {
        "certificate": "paju-certified-notice-delivery",
        "version": 1,
        "issuer": "파주시 Paju City",
        "notice_id": notice.id,
        "department": notice.department,
        "title": notice.title,
        "recipient_phone": mask_phone(notice.phone),
        "content_sha256": notice.content_sha256,
        "content_hashed": CONTENT_HASHED,
        "sent_at": _iso(notice.sent_at),
        "delivered_at": _iso(delivered_at(session, notice)),
        "identity_confirmed_at": _iso(notice.identity_confirmed_at),
        "read_at": _iso(notice.read_at),
        "paper_mail_at": _iso(notice.paper_mail_at),
        "issued_at": _iso(now or utcnow()),
    }


def flag_for_paper_mail(session: Session, days: int, now: datetime | None = None) -> list[PersonalNotice]:
    """Flags the notices still unread `days` after they were sent, once each, for delivery on paper."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(PersonalNotice)
            .where(
                PersonalNotice.read_at.is_(None),
                PersonalNotice.paper_mail_at.is_(None),
                PersonalNotice.sent_at <= now - timedelta(days=days),
            )
            .order_by(PersonalNotice.id)
        )
    )
    for notice in due:
        notice.paper_mail_at = now
    session.commit()
    return due


def flagged_for_paper_mail(session: Session, limit: int | None = None) -> list[PersonalNotice]:
    """The notices flagged for paper mail, the latest first: the mailing office's list. All of them unless a
    `limit` is given: a letter left off the export would never be sent."""
    query = (
        select(PersonalNotice)
        .where(PersonalNotice.paper_mail_at.is_not(None))
        .order_by(PersonalNotice.paper_mail_at.desc(), PersonalNotice.id.desc())
    )
    return list(session.scalars(query if limit is None else query.limit(limit)))


def paper_mail_list(session: Session, reader: StaffUser, export: bool = False) -> list[PersonalNotice]:
    """The mailing office's list for a staff member; reading it is audited, and the export with names and
    phones in full needs the paper_mail.export permission."""
    if export:
        permissions.require(reader, permissions.PAPER_MAIL_EXPORT)
    notices = flagged_for_paper_mail(session)
    action = "export_paper_mail" if export else "view_paper_mail"
    audit(session, reader, action, f"personal_notices:{len(notices)}", "paper mail export" if export else "")
    session.commit()
    return notices
