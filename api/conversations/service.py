"""Rules of the conversations domain: recording messages exactly once, answering each once, transcripts."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from api.conversations import messaging, outbox
from api.conversations.models import Conversation, Message
from api.conversations.schemas import IncomingMessage, Reply
from api.core.errors import NotFound
from common import confidential
from common.button_keys import button_key
from common.clock import utcnow


class MessageNotFound(NotFound):
    pass


class ConversationNotFound(NotFound):
    pass


# How far back a pressed button may have been offered; older buttons are stale.
OFFERED_BUTTONS_WINDOW = 20
# The statuses of an incoming message.
RECEIVED, ANSWERED, UNANSWERED = "received", "answered", "unanswered"
# The sweep looks no further back: a citizen is not told about a message from days ago (the
# scheduler being down that long), and rows left over from a conversation a person had stay out.
SWEEP_HORIZON = timedelta(days=1)


@dataclass
class Recorded:
    message: Message
    conversation: Conversation
    duplicate: bool
    replies: list[Message]
    button_offered: bool | None = None  # None: the message is not a button press
    button: str | None = None  # the pressed button's payload
    reset_bot: bool = False
    # Delivered again before it was answered (the gateway or Rasa died mid-turn): its turn starts over.
    retry: bool = False
    # A duplicate delivered while another delivery is still processing the message: that one answers.
    in_progress: bool = False


def _find_conversation(session: Session, channel: str, channel_user_id: str) -> Conversation | None:
    return session.scalar(
        select(Conversation).where(Conversation.channel == channel, Conversation.channel_user_id == channel_user_id)
    )


def conversation_of(session: Session, channel: str | None, channel_user_id: str | None) -> Conversation | None:
    """The citizen's messenger conversation, to write to on the city's own initiative; None when they have none."""
    if not channel or not channel_user_id:
        return None
    return _find_conversation(session, channel, channel_user_id)


def tell(
    session: Session,
    channel: str | None,
    channel_user_id: str | None,
    *,
    kind: str,
    dedupe_key: str,
    compose: Callable[[str], tuple[str, list[dict[str, str]] | None]],
) -> bool | None:
    """Writes a message the city sends on its own (a reminder, an offer) to the citizen's messenger once per
    `dedupe_key`; `compose(language)` gives its text and buttons. True when written now, False when written
    before, None when the citizen has no messenger conversation."""
    conversation = conversation_of(session, channel, channel_user_id)
    if conversation is None:
        return None
    text, buttons = compose(outbox.language_of(conversation))
    _message, written = outbox.enqueue_once(
        session, conversation, text=text, kind=kind, buttons=buttons, dedupe_key=dedupe_key
    )
    return written


def existing_conversation(session: Session, channel: str, channel_user_id: str) -> Conversation:
    conversation = _find_conversation(session, channel, channel_user_id)
    if conversation is None:
        raise ConversationNotFound(
            f"no conversation for {channel}:{channel_user_id}", f"{channel}:{channel_user_id} 대화가 없습니다"
        )
    return conversation


def get_or_create_conversation(session: Session, channel: str, channel_user_id: str) -> Conversation:
    conversation = _find_conversation(session, channel, channel_user_id)
    if conversation:
        return conversation
    try:
        with session.begin_nested():
            conversation = Conversation(channel=channel, channel_user_id=channel_user_id)
            session.add(conversation)
    except IntegrityError:
        # Another request created it between our read and our insert.
        conversation = _find_conversation(session, channel, channel_user_id)
    return conversation


def serialize_on(session: Session, conversation: Conversation, now: datetime) -> None:
    """Takes the conversation's row lock (PostgreSQL) or the write lock (SQLite) for the rest of the caller's
    transaction: another domain counting what one citizen did (reports filed today) counts one request at a time."""
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_message_at=now)
        .execution_options(synchronize_session=False)
    )


def conversations_by_id(session: Session, ids: list[int]) -> list[Conversation]:
    """The conversations of these ids that still exist, in the order given."""
    found = {c.id: c for c in session.scalars(select(Conversation).where(Conversation.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _replies_to(session: Session, message_id: int) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.reply_to_id == message_id).order_by(Message.id)))


def _find_incoming(session: Session, conversation_id: int, channel_message_id: str) -> Message | None:
    return session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.direction == "in",
            Message.channel_message_id == channel_message_id,
        )
    )


def record_incoming(session: Session, incoming: IncomingMessage) -> Recorded:
    """Store a citizen's message once per channel message id and tell the conversation's mode.

    The caller holds the message for `incoming.lease_seconds` to answer it. A message delivered
    again is a duplicate when it was answered or is still held; once the hold has run out (the
    process answering it died) the caller processes it again, so no message is swallowed.
    """
    conversation = get_or_create_conversation(session, incoming.channel, incoming.channel_user_id)
    # Inserted without looking first: a message is new far more often than delivered again, and the unique
    # constraint on its channel message id tells a repeat apart (below) for one query less on every new one.
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        direction="in",
        channel_message_id=incoming.channel_message_id,
        text=incoming.text,
        payload=incoming.payload,
        status=RECEIVED,
        status_at=now,
        leased_until=now + timedelta(seconds=incoming.lease_seconds),
        leased_by=incoming.delivery_id,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        existing = _find_incoming(session, conversation.id, incoming.channel_message_id)
        return _delivered_again(session, conversation, existing, incoming)

    _note_delivery(conversation, incoming, now)
    button, offered = _pressed_button(session, conversation.id, message)
    reset_bot = conversation.bot_reset_pending and conversation.mode == "bot"
    session.commit()
    return Recorded(message, conversation, False, [], offered, button, reset_bot)


def _delivered_again(
    session: Session, conversation: Conversation, message: Message, incoming: IncomingMessage
) -> Recorded:
    now = utcnow()
    free = [Message.leased_until.is_(None), Message.leased_until <= now]
    if incoming.delivery_id:  # the caller's own earlier attempt (its request timed out) holds it
        free.append(Message.leased_by == incoming.delivery_id)
    # Conditional, so that of several deliveries at once exactly one takes the message.
    taken = session.execute(
        update(Message)
        .where(Message.id == message.id, Message.status != ANSWERED, or_(*free))
        .values(leased_until=now + timedelta(seconds=incoming.lease_seconds), leased_by=incoming.delivery_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(message)
    if not taken:
        session.commit()
        if message.status == RECEIVED:
            return Recorded(message, conversation, True, [], in_progress=True)
        return Recorded(message, conversation, True, _replies_to(session, message.id))
    _note_delivery(conversation, incoming, now)
    button, offered = _pressed_button(session, conversation.id, message)
    reset_bot = conversation.bot_reset_pending and conversation.mode == "bot"
    session.commit()
    return Recorded(message, conversation, False, [], offered, button, reset_bot, retry=True)


def _note_delivery(conversation: Conversation, incoming: IncomingMessage, now: datetime) -> None:
    conversation.last_message_at = now
    # Writing again means the messenger delivers to them again (they unblocked the bot).
    conversation.reachable = True
    if incoming.language:
        conversation.language = incoming.language
    elif conversation.language is None and incoming.language_hint:
        conversation.language = incoming.language_hint


def _pressed_button(session: Session, conversation_id: int, message: Message) -> tuple[str | None, bool | None]:
    """The pressed button's payload and whether it was offered; (None, None) when no button was pressed."""
    pressed = message.payload or {}
    if "button" not in pressed and "button_key" not in pressed:
        return None, None
    button = _offered_button(session, conversation_id, pressed.get("button"), pressed.get("button_key"))
    if button is not None:
        message.payload = {"button": button}
    return button, button is not None


def _offered_button(session: Session, conversation_id: int, payload: str | None, key: str | None) -> str | None:
    """The payload of a pressed button, if the assistant offered it recently in this conversation.

    This keeps a client from sending arbitrary intents and entities as if they were buttons. A
    channel that could only carry a short key for a long payload gets the payload back from here.
    """
    recent = session.scalars(
        select(Message.payload)
        .where(Message.conversation_id == conversation_id, Message.direction == "out")
        .order_by(Message.id.desc())
        .limit(OFFERED_BUTTONS_WINDOW)
    )
    for extras in recent:
        for button in (extras or {}).get("buttons") or []:
            offered = button.get("payload")
            if offered is not None and (offered == payload or (key and button_key(offered) == key)):
                return offered
    return None


def choose_language(session: Session, channel: str, channel_user_id: str, language: str | None) -> None:
    conversation = get_or_create_conversation(session, channel, channel_user_id)
    conversation.preferred_language = language
    session.commit()


def incoming_message(session: Session, message_id: int) -> Message:
    # With its conversation, which the end of a turn updates too: one query rather than two.
    incoming = session.get(Message, message_id, options=[joinedload(Message.conversation)])
    if incoming is None or incoming.direction != "in":
        raise MessageNotFound(f"incoming message {message_id} not found", f"받은 메시지 {message_id}이(가) 없습니다")
    return incoming


def record_replies(session: Session, message_id: int, replies: list[Reply], answered: bool = True) -> list[Message]:
    """Store the replies to one incoming message, in the order they were given, and mark it answered.

    With `answered` False the replies only said the assistant could not answer (Rasa was down):
    the message is marked unanswered, so that a retry of it is processed again.
    """
    incoming = incoming_message(session, message_id)
    stored = []
    for reply in replies:
        extras = reply.model_dump(exclude={"text"}, exclude_none=True)
        text = reply.text
        if confidential.is_confidential(reply.custom):
            # A certified notice's content: the citizen saw it; no transcript, console or export keeps it.
            text, extras = confidential.PLACEHOLDER, {"custom": {confidential.MARKER: True}}
        message = Message(
            conversation_id=incoming.conversation_id,
            direction="out",
            reply_to_id=incoming.id,
            text=text,
            payload=extras or None,
        )
        session.add(message)
        stored.append(message)
    now = utcnow()
    if answered:
        incoming.status = ANSWERED
    elif incoming.status != ANSWERED:
        incoming.status = UNANSWERED
    # Released: a retry of an unanswered message is processed at once.
    incoming.status_at, incoming.leased_until = now, None
    incoming.conversation.last_message_at = now
    session.commit()
    return stored


def extend_lease(session: Session, message_id: int, lease_seconds: int) -> None:
    """The delivery answering the message is still at it (Rasa is slow): nobody takes it over meanwhile."""
    incoming = incoming_message(session, message_id)
    if incoming.status == RECEIVED:
        incoming.leased_until = max(incoming.leased_until or utcnow(), utcnow() + timedelta(seconds=lease_seconds))
    session.commit()


def sweep_unanswered(session: Session, now: datetime, grace: timedelta) -> list[Message]:
    """Tell each citizen whose message nobody answered to send it again; the caller commits.

    These are the turns whose process died (its hold on the message ran out) and that no channel
    retried within `grace` after that.
    """
    waiting = session.scalars(
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.status == RECEIVED,
            Message.leased_until < now - grace,
            Message.leased_until >= now - SWEEP_HORIZON,
            # While a person has the conversation, its messages wait in the staff inbox, not for the assistant.
            Conversation.mode == "bot",
        )
        .order_by(Message.id)
    ).all()
    told = []
    for message in waiting:
        # Conditional, so that an answer recorded meanwhile (or another sweep) wins and nothing is sent twice.
        taken = session.execute(
            update(Message)
            .where(Message.id == message.id, Message.status == RECEIVED)
            .values(status=UNANSWERED, status_at=now, leased_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not taken:
            continue
        session.expire(message, ["status", "status_at", "leased_until"])
        conversation = message.conversation
        outbox.enqueue(
            session,
            conversation,
            text=messaging.unanswered(message.text, outbox.language_of(conversation)),
            kind="unanswered",
            dedupe_key=f"unanswered:{message.id}",
        )
        told.append(message)
    return told


def transcript(session: Session, channel: str, channel_user_id: str, limit: int = 200) -> list[Message]:
    conversation = _find_conversation(session, channel, channel_user_id)
    if conversation is None:
        raise ConversationNotFound(f"no conversation for {channel}:{channel_user_id}")
    newest = session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id.desc()).limit(limit)
    )
    return list(reversed(list(newest)))


def messages_of(session: Session, conversation_id: int, limit: int = 200) -> list[Message]:
    """A conversation's newest messages, oldest first (the training console's review of one exchange)."""
    newest = session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id.desc()).limit(limit)
    )
    return list(reversed(list(newest)))
