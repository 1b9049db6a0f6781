"""What the notices domain deletes when its keeping periods end: certified personal notices. It leaves the commit
to the caller (the retention job)."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.identity import retention as identity
from api.notices.models import PersonalNotice


def delete_personal_notices_sent_before(session: Session, cutoff: datetime) -> int:
    """Deletes certified notices sent before `cutoff` (phone, name, content, delivery times) and their codes."""
    old = select(PersonalNotice.id).where(PersonalNotice.sent_at < cutoff)
    identity.delete_codes_of_notices(session, old)
    return session.execute(
        delete(PersonalNotice).where(PersonalNotice.id.in_(old)).execution_options(synchronize_session=False)
    ).rowcount
