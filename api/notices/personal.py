"""Certified personal notices (공인알림 style): a phone number linked to a messenger by a one-time code, the
"a notice is waiting" message, identity confirmed by code before the content is shown, the delivery
certificate, and paper mail for notices left unread."""

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from api.conversations import outbox
from api.conversations.models import Conversation
from api.conversations.service import ConversationNotFound, existing_conversation, get_or_create_conversation
from api.core.errors import DomainError
from api.core.privacy import mask_phone
from api.notices.errors import (
    CodeExpired,
    CodeLocked,
    IdentityNotConfirmed,
    NoCodeRequested,
    PersonalNoticeNotFound,
    PhoneNotLinked,
    TooManyCodes,
    WrongCode,
)
from api.notices.models import PersonalNotice, PhoneLink, VerificationCode
from api.notices.schemas import PersonalNoticeIn
from api.notices.service import VERIFIED_HEADER, QuietHours
from api.notices.sms import SmsSender
from api.staff import permissions
from api.staff.models import StaffUser
from api.staff.service import audit
from api.tours.service import normalize_phone
from common.clock import utcnow

CODE_LIFETIME = timedelta(minutes=5)
MAX_WRONG_CODES = 5
# Codes sent to one number per hour: a stranger cannot flood someone's phone with them.
MAX_CODES_PER_HOUR = 10
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
    return "/notice_open" + json.dumps({"personal_notice_id": str(notice_id)}, separators=(",", ":"))


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


# --- one-time codes -----------------------------------------------------------------------------------------


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _issue_code(
    session: Session,
    conversation: Conversation,
    phone: str,
    purpose: str,
    sender: SmsSender,
    now: datetime,
    personal_notice_id: int | None = None,
) -> VerificationCode:
    """A new 6-digit code for `purpose`, sent by SMS; it replaces any earlier one of the same purpose."""
    sent_lately = session.scalar(
        select(func.count())
        .select_from(VerificationCode)
        .where(VerificationCode.phone == phone, VerificationCode.created_at > now - timedelta(hours=1))
    )
    if sent_lately >= MAX_CODES_PER_HOUR:
        raise TooManyCodes(
            "Too many codes were sent to this number; try again in an hour.",
            "이 번호로 인증번호를 너무 많이 보냈어요. 한 시간 뒤에 다시 시도해 주세요.",
        )
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    issued = VerificationCode(
        conversation_id=conversation.id,
        phone=phone,
        purpose=purpose,
        personal_notice_id=personal_notice_id,
        salt=salt,
        code_hash=_hash(salt, code),
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    session.add(issued)
    # Written before the SMS goes: a database refusal then costs no message the citizen cannot use.
    session.flush()
    sender.send(
        session,
        phone,
        f"[파주시] 인증번호 {code} (5분 안에 입력해 주세요. 다른 사람에게 알려 주지 마세요.) "
        f"Paju City code: {code}, valid for 5 minutes.",
        code,
    )
    return issued


def _check_code(
    session: Session,
    conversation: Conversation,
    purpose: str,
    code: str,
    now: datetime,
    personal_notice_id: int | None = None,
) -> VerificationCode:
    """The latest code of this purpose, if `code` is it; a wrong one counts, and is committed, before refusing."""
    latest = session.scalar(
        select(VerificationCode)
        .where(
            VerificationCode.conversation_id == conversation.id,
            VerificationCode.purpose == purpose,
            VerificationCode.personal_notice_id.is_(None)
            if personal_notice_id is None
            else VerificationCode.personal_notice_id == personal_notice_id,
        )
        .order_by(VerificationCode.id.desc())
        .limit(1)
    )
    closed = _why_closed(latest, now)
    if closed:
        raise closed
    if hmac.compare_digest(_hash(latest.salt, code.strip()), latest.code_hash):
        if _spend(session, latest, now, used_at=now) is not None:
            return latest
    else:
        attempts = _spend(session, latest, now, attempts=VerificationCode.attempts + 1)
        if attempts is not None:
            session.commit()
            raise _wrong_code(MAX_WRONG_CODES - attempts)
    # Another request used the code or its last try after we read it: answer as if ours came after that one.
    session.rollback()
    return _check_code(session, conversation, purpose, code, now, personal_notice_id)


def _why_closed(latest: VerificationCode | None, now: datetime) -> DomainError | None:
    """Why this code can no longer be tried, or None while it can."""
    if latest is None or latest.used_at is not None:
        return NoCodeRequested("Ask for a code first.", "먼저 인증번호를 요청해 주세요.")
    if latest.expires_at <= now:
        return CodeExpired(
            "The code has expired; ask for a new one.",
            "인증번호의 유효 시간(5분)이 지났어요. 새 인증번호를 요청해 주세요.",
        )
    if latest.attempts >= MAX_WRONG_CODES:
        return CodeLocked(
            "Too many wrong codes; ask for a new one.", "인증번호를 여러 번 틀렸어요. 새 인증번호를 요청해 주세요."
        )
    return None


def _spend(session: Session, latest: VerificationCode, now: datetime, **values: object) -> int | None:
    """Writes `values` to a code only while it can still be tried; returns its wrong tries after the write,
    or None when it could no longer be tried.

    Like a seat claim, the check and the write are one conditional UPDATE and the row stays locked until
    commit: concurrent guesses are counted one after another, so no more than five are ever judged, and
    a right code entered twice at once is used once.
    """
    attempts = session.execute(
        update(VerificationCode)
        .where(
            VerificationCode.id == latest.id,
            VerificationCode.used_at.is_(None),
            VerificationCode.expires_at > now,
            VerificationCode.attempts < MAX_WRONG_CODES,
        )
        .values(**values)
        .returning(VerificationCode.attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    session.expire(latest)
    return attempts


def _wrong_code(left: int) -> DomainError:
    if left == 0:
        return CodeLocked(
            "Wrong code, five times; ask for a new one.", "인증번호를 5번 틀렸어요. 새 인증번호를 요청해 주세요."
        )
    return WrongCode(
        f"That code is not right; you can try {left} more times.",
        f"인증번호가 맞지 않아요. {left}번 더 입력할 수 있어요.",
    )


# --- linking a phone to the messenger --------------------------------------------------------------------------


def start_link(
    session: Session, channel: str, channel_user_id: str, phone: str, sender: SmsSender, now: datetime | None = None
) -> VerificationCode:
    """Sends a code to the phone; entering it in this conversation proves the number is the citizen's."""
    now = now or utcnow()
    phone = normalize_phone(phone)
    conversation = get_or_create_conversation(session, channel, channel_user_id)
    issued = _issue_code(session, conversation, phone, "link_phone", sender, now)
    session.commit()
    return issued


def confirm_link(
    session: Session, channel: str, channel_user_id: str, code: str, now: datetime | None = None
) -> tuple[PhoneLink, int]:
    """Links the phone the code went to; notices already waiting for it are announced here at once.

    Returns the link and how many of the phone's notices are unread.
    """
    now = now or utcnow()
    conversation = existing_conversation(session, channel, channel_user_id)
    checked = _check_code(session, conversation, "link_phone", code, now)
    session.execute(
        delete(PhoneLink).where(PhoneLink.conversation_id == conversation.id, PhoneLink.phone != checked.phone)
    )
    link = session.get(PhoneLink, checked.phone)
    if link is None:
        link = PhoneLink(phone=checked.phone, conversation_id=conversation.id, linked_at=now)
        session.add(link)
    else:
        link.conversation_id, link.linked_at = conversation.id, now
    session.flush()
    unread = _unread(session, checked.phone)
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


def _linked_conversation(session: Session, channel: str, channel_user_id: str) -> tuple[Conversation, str]:
    try:
        conversation = existing_conversation(session, channel, channel_user_id)
    except ConversationNotFound:
        conversation = None
    link = conversation and session.scalar(select(PhoneLink).where(PhoneLink.conversation_id == conversation.id))
    if not link:
        raise PhoneNotLinked(
            "Link your mobile number to this chat first.", "먼저 휴대폰 번호를 이 대화에 연결해 주세요."
        )
    return conversation, link.phone


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
    phone = normalize_phone(fields.phone)
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
    link = session.get(PhoneLink, phone)
    if link is not None:
        _notify(session, notice, link.conversation, now, quiet.hold_until(now))
    if user is not None:
        audit(session, user, "send_personal_notice", f"personal_notice:{notice.id}")
    session.commit()
    return notice


def notices_of(session: Session, channel: str, channel_user_id: str) -> list[PersonalNotice]:
    """The notices addressed to the phone linked to this conversation, newest first, read and unread."""
    _conversation, phone = _linked_conversation(session, channel, channel_user_id)
    return list(
        session.scalars(
            select(PersonalNotice).where(PersonalNotice.phone == phone).order_by(PersonalNotice.sent_at.desc())
        )
    )


def _own_notice(
    session: Session, notice_id: int, channel: str, channel_user_id: str
) -> tuple[Conversation, PersonalNotice]:
    conversation, phone = _linked_conversation(session, channel, channel_user_id)
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
    issued = _issue_code(session, conversation, notice.phone, "open_notice", sender, now, notice.id)
    session.commit()
    return issued


def confirm_identity(
    session: Session, notice_id: int, channel: str, channel_user_id: str, code: str, now: datetime | None = None
) -> PersonalNotice:
    now = now or utcnow()
    conversation, notice = _own_notice(session, notice_id, channel, channel_user_id)
    _check_code(session, conversation, "open_notice", code, now, notice.id)
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
    entered_here = session.scalar(
        select(VerificationCode.id)
        .where(
            VerificationCode.personal_notice_id == notice.id,
            VerificationCode.purpose == "open_notice",
            VerificationCode.conversation_id == conversation.id,
            VerificationCode.used_at > now - UNLOCKED_FOR,
        )
        .limit(1)
    )
    return entered_here is not None


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
