"""What the identity domain deletes when its keeping periods end: SMS records, one-time codes, idle phone links.
Each function leaves the commit to the caller (the retention job)."""

from datetime import datetime

from sqlalchemy import Select, delete
from sqlalchemy.orm import Session

from api.conversations.retention import silent_since
from api.identity.models import PhoneLink, SmsMessage, VerificationCode


def _deleted(session: Session, statement) -> int:
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount


def delete_sms_records_before(session: Session, cutoff: datetime) -> int:
    return _deleted(session, delete(SmsMessage).where(SmsMessage.created_at < cutoff))


def delete_codes_before(session: Session, cutoff: datetime) -> int:
    """Codes issued before `cutoff`: long expired, they keep only a phone and a hash."""
    return _deleted(session, delete(VerificationCode).where(VerificationCode.created_at < cutoff))


def delete_codes_of_notices(session: Session, personal_notice_ids: Select) -> int:
    """The codes that opened these certified notices, before the notices themselves go."""
    return _deleted(
        session, delete(VerificationCode).where(VerificationCode.personal_notice_id.in_(personal_notice_ids))
    )


def unlink_phones_silent_since(session: Session, cutoff: datetime) -> int:
    """Removes the phone links of conversations silent since `cutoff`; a returning citizen links again by code."""
    return _deleted(session, delete(PhoneLink).where(PhoneLink.conversation_id.in_(silent_since(cutoff))))
