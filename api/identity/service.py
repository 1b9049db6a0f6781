"""Rules of the identity domain: a phone number in one form, one-time codes sent by SMS (issued, checked, spent
once), and a phone linked to the messenger conversation in which its code was entered."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from api.conversations.service import ConversationNotFound, existing_conversation, get_or_create_conversation
from api.core.errors import DomainError
from api.identity.errors import (
    CodeExpired,
    CodeLocked,
    InvalidPhone,
    NoCodeRequested,
    PhoneNotLinked,
    TooManyCodes,
    WrongCode,
)
from api.identity.models import PhoneLink, VerificationCode
from api.identity.sms import SmsSender
from common.clock import utcnow

if TYPE_CHECKING:  # types only: other domains' tables are not read here
    from api.conversations.models import Conversation

CODE_LIFETIME = timedelta(minutes=5)
MAX_WRONG_CODES = 5
# Codes sent to one number per hour: a stranger cannot flood someone's phone with them.
MAX_CODES_PER_HOUR = 10
# What a code is for.
LINK_PHONE, OPEN_NOTICE = "link_phone", "open_notice"
_MOBILE = re.compile(r"^01[016789]\d{7,8}$")


def normalize_phone(phone: str) -> str:
    """A Korean mobile number as digits only ("01012345678"), however it was written; else InvalidPhone."""
    digits = re.sub(r"[\s.\-()]", "", phone or "")
    if digits.startswith("+82"):
        digits = "0" + digits[3:]
    if not _MOBILE.match(digits):
        raise InvalidPhone(
            "Please give a Korean mobile number such as 010-1234-5678.",
            "휴대전화 번호를 010-1234-5678 형식으로 알려 주세요.",
        )
    return digits


# --- one-time codes -----------------------------------------------------------------------------------------


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def issue_code(
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


def check_code(
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
    return check_code(session, conversation, purpose, code, now, personal_notice_id)


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


def code_entered_since(
    session: Session, personal_notice_id: int, conversation: Conversation, purpose: str, since: datetime
) -> bool:
    """Whether a right code for this notice and purpose was entered in this conversation after `since`."""
    entered = session.scalar(
        select(VerificationCode.id)
        .where(
            VerificationCode.personal_notice_id == personal_notice_id,
            VerificationCode.purpose == purpose,
            VerificationCode.conversation_id == conversation.id,
            VerificationCode.used_at > since,
        )
        .limit(1)
    )
    return entered is not None


# --- linking a phone to the messenger --------------------------------------------------------------------------


def start_link(
    session: Session, channel: str, channel_user_id: str, phone: str, sender: SmsSender, now: datetime | None = None
) -> VerificationCode:
    """Sends a code to the phone; entering it in this conversation proves the number is the citizen's."""
    now = now or utcnow()
    phone = normalize_phone(phone)
    conversation = get_or_create_conversation(session, channel, channel_user_id)
    issued = issue_code(session, conversation, phone, LINK_PHONE, sender, now)
    session.commit()
    return issued


def link_phone(session: Session, conversation: Conversation, code: str, now: datetime) -> PhoneLink:
    """Links the phone the code went to with this conversation (moving it from any other); the caller commits."""
    checked = check_code(session, conversation, LINK_PHONE, code, now)
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
    return link


def linked_phone(session: Session, channel: str, channel_user_id: str) -> tuple[Conversation, str]:
    """The conversation and the phone linked to it; PhoneNotLinked when there is none."""
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


def linked_conversation(session: Session, phone: str) -> Conversation | None:
    """The messenger conversation the phone is linked to, if any."""
    link = session.get(PhoneLink, phone)
    return link.conversation if link else None
