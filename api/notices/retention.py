"""What the notices domain deletes when its keeping periods end: SMS records, one-time codes, idle phone links,
certified personal notices. Each function leaves the commit to the caller (the retention job)."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.conversations.retention import silent_since
from api.notices.models import PersonalNotice, PhoneLink, SmsMessage, VerificationCode


def _deleted(session: Session, statement) -> int:
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount


def delete_sms_records_before(session: Session, cutoff: datetime) -> int:
    return _deleted(session, delete(SmsMessage).where(SmsMessage.created_at < cutoff))


def delete_codes_before(session: Session, cutoff: datetime) -> int:
    """Codes issued before `cutoff`: long expired, they keep only a phone and a hash."""
    return _deleted(session, delete(VerificationCode).where(VerificationCode.created_at < cutoff))


def unlink_phones_silent_since(session: Session, cutoff: datetime) -> int:
    """Removes the phone links of conversations silent since `cutoff`; a returning citizen links again by code."""
    return _deleted(session, delete(PhoneLink).where(PhoneLink.conversation_id.in_(silent_since(cutoff))))


def delete_personal_notices_sent_before(session: Session, cutoff: datetime) -> int:
    """Deletes certified notices sent before `cutoff` (phone, name, content, delivery times) and their codes."""
    old = select(PersonalNotice.id).where(PersonalNotice.sent_at < cutoff)
    _deleted(session, delete(VerificationCode).where(VerificationCode.personal_notice_id.in_(old)))
    return _deleted(session, delete(PersonalNotice).where(PersonalNotice.id.in_(old)))
