"""Who a conversation is with, as the inbox may show it: a masked name or number from the city's own records
(a linked phone, a tour booking), else the channel and a masked id. Also the search by a phone's last digits.

The consoles assemble the domains, so this is where a conversation meets the identity and tours tables.
"""

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.conversations.models import Conversation
from api.identity.models import PhoneLink
from api.tours.models import Booking
from api.web.pages import CHANNELS
from common.masking import mask_name, mask_phone

CHANNEL_ID_SHOWN = 2  # characters of a channel user id left at each end when it is masked
# A phone search is the end of a number: 4 digits at least (fewer would match half the city), a whole number at most.
PHONE_DIGITS = re.compile(r"^\d{4,11}$")


def mask_channel_id(value: str) -> str:
    if len(value) <= 2 * CHANNEL_ID_SHOWN:
        return "*" * len(value)
    hidden = min(len(value) - 2 * CHANNEL_ID_SHOWN, 6)
    return f"{value[:CHANNEL_ID_SHOWN]}{'*' * hidden}{value[-CHANNEL_ID_SHOWN:]}"


def contacts(session: Session, conversations: list[Conversation]) -> dict[int, str]:
    """Each conversation's person, masked: "김*수 · 010-****-5678", "010-****-5678", or "12******89"."""
    if not conversations:
        return {}
    ids = {c.id for c in conversations}
    linked = session.execute(
        select(PhoneLink.conversation_id, PhoneLink.phone).where(PhoneLink.conversation_id.in_(ids))
    )
    phones = {conversation_id: phone for conversation_id, phone in linked}
    users = {(c.channel, c.channel_user_id): c.id for c in conversations}
    bookers: dict[int, tuple[str, str]] = {}
    rows = session.execute(
        select(Booking.channel, Booking.channel_user_id, Booking.booker_name, Booking.booker_phone)
        .where(Booking.channel_user_id.in_({c.channel_user_id for c in conversations}))
        .order_by(Booking.created_at)
    )
    for channel, user_id, name, phone in rows:  # oldest first: the newest booking's details win
        conversation_id = users.get((channel, user_id))
        if conversation_id is not None and (name or phone):
            bookers[conversation_id] = (name or "", phone or "")
    shown = {}
    for conversation in conversations:
        name, booked_phone = bookers.get(conversation.id, ("", ""))
        phone = phones.get(conversation.id) or booked_phone
        parts = [mask_name(name) if name else "", mask_phone(phone) if phone else ""]
        shown[conversation.id] = " · ".join(p for p in parts if p) or _someone(conversation)
    return shown


def _someone(conversation: Conversation) -> str:
    """Nobody the city has a record of: "텔레그램 이용자 12******89", a short id only by its last two characters."""
    user = conversation.channel_user_id
    masked = mask_channel_id(user) if len(user) > 2 * CHANNEL_ID_SHOWN else "*" * (len(user) - 2) + user[-2:]
    return f"{CHANNELS.get(conversation.channel, '메신저')} 이용자 {masked}"


def conversations_with_phone_ending(session: Session, digits: str) -> frozenset[int]:
    """Conversations whose linked phone, or whose user's booking phone, ends with these digits."""
    linked = session.scalars(select(PhoneLink.conversation_id).where(PhoneLink.phone.endswith(digits)))
    booked = session.scalars(
        select(Conversation.id)
        .join(
            Booking,
            (Booking.channel == Conversation.channel) & (Booking.channel_user_id == Conversation.channel_user_id),
        )
        .where(Booking.booker_phone.endswith(digits))
    )
    return frozenset([*linked, *booked])
