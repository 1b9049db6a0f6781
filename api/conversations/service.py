"""Rules of the conversations domain: recording messages exactly once, transcripts, handoffs."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.conversations.button_keys import button_key
from api.conversations.models import Conversation, Message
from api.conversations.schemas import IncomingMessage, Reply
from api.core.errors import NotFound
from common.clock import utcnow


class MessageNotFound(NotFound):
    pass


class ConversationNotFound(NotFound):
    pass


# How far back a pressed button may have been offered; older buttons are stale.
OFFERED_BUTTONS_WINDOW = 20


@dataclass
class Recorded:
    message: Message
    conversation: Conversation
    duplicate: bool
    replies: list[Message]
    button_offered: bool | None = None  # None: the message is not a button press
    button: str | None = None  # the pressed button's payload
    reset_bot: bool = False


def _find_conversation(session: Session, channel: str, channel_user_id: str) -> Conversation | None:
    return session.scalar(
        select(Conversation).where(Conversation.channel == channel, Conversation.channel_user_id == channel_user_id)
    )


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
    """Store a citizen's message once per channel message id and tell the conversation's mode."""
    conversation = get_or_create_conversation(session, incoming.channel, incoming.channel_user_id)
    if incoming.channel_message_id:
        existing = _find_incoming(session, conversation.id, incoming.channel_message_id)
        if existing:
            return Recorded(existing, conversation, True, _replies_to(session, existing.id))

    message = Message(
        conversation_id=conversation.id,
        direction="in",
        channel_message_id=incoming.channel_message_id,
        text=incoming.text,
        payload=incoming.payload,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        existing = _find_incoming(session, conversation.id, incoming.channel_message_id)
        session.commit()
        return Recorded(existing, conversation, True, _replies_to(session, existing.id))

    conversation.last_message_at = utcnow()
    # Writing again means the messenger delivers to them again (they unblocked the bot).
    conversation.reachable = True
    if incoming.language:
        conversation.language = incoming.language
    pressed = incoming.payload or {}
    button, offered = None, None
    if "button" in pressed or "button_key" in pressed:
        button = _offered_button(session, conversation.id, pressed.get("button"), pressed.get("button_key"))
        offered = button is not None
        if button is not None:
            message.payload = {"button": button}
    reset_bot = conversation.bot_reset_pending and conversation.mode == "bot"
    session.commit()
    return Recorded(message, conversation, False, [], offered, button, reset_bot)


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


def bot_reset_done(session: Session, channel: str, channel_user_id: str) -> None:
    """The gateway restarted the assistant's dialogue after a person handed the conversation back."""
    conversation = existing_conversation(session, channel, channel_user_id)
    conversation.bot_reset_pending = False
    session.commit()


def incoming_message(session: Session, message_id: int) -> Message:
    incoming = session.get(Message, message_id)
    if incoming is None or incoming.direction != "in":
        raise MessageNotFound(f"incoming message {message_id} not found", f"받은 메시지 {message_id}이(가) 없습니다")
    return incoming


def record_replies(session: Session, message_id: int, replies: list[Reply]) -> list[Message]:
    """Store the assistant's answers to one incoming message, in the order they were given."""
    incoming = session.get(Message, message_id)
    if incoming is None or incoming.direction != "in":
        raise MessageNotFound(f"incoming message {message_id} not found")
    stored = []
    for reply in replies:
        extras = reply.model_dump(exclude={"text"}, exclude_none=True)
        message = Message(
            conversation_id=incoming.conversation_id,
            direction="out",
            reply_to_id=incoming.id,
            text=reply.text,
            payload=extras or None,
        )
        session.add(message)
        stored.append(message)
    incoming.conversation.last_message_at = utcnow()
    session.commit()
    return stored


def transcript(session: Session, channel: str, channel_user_id: str, limit: int = 200) -> list[Message]:
    conversation = _find_conversation(session, channel, channel_user_id)
    if conversation is None:
        raise ConversationNotFound(f"no conversation for {channel}:{channel_user_id}")
    newest = session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id.desc()).limit(limit)
    )
    return list(reversed(list(newest)))
