"""A gateway's turn on one citizen message: begun with one call (record, hold, who answers) and ended with one
(replies, release, and what the turn changed or learnt), so that a typed message costs the gateway two api calls."""

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from api.conversations import handoffs, service
from api.conversations.models import Message
from api.conversations.schemas import IncomingMessage, Reply, TurnEnd
from api.training import inbox
from common.payloads import payload

logger = logging.getLogger(__name__)
# The button of the "waiting for a person" replies that stops waiting and brings the assistant back.
CANCEL_HANDOFF = payload("cancel_handoff")


@dataclass
class Begun:
    recorded: service.Recorded
    # The citizen pressed CANCEL_HANDOFF after a person had taken the conversation: the caller tells them so.
    handoff_taken: bool = False
    # Answered here, without the assistant: the caller sends `answer` (perhaps nothing) and ends no turn.
    settled: bool = False
    answer: list[Message] = field(default_factory=list)


def begin(session: Session, incoming: IncomingMessage) -> Begun:
    """Records the message and holds it for the caller (service.record_incoming), and settles what needs no assistant.

    While a person has the conversation the staff inbox answers the message, so it is marked answered at once and a
    retry of it is not routed twice; the citizen may be told it reached staff, or why a button does nothing now.
    CANCEL_HANDOFF, when it was offered, cancels the waiting request right here. An answer to the satisfaction
    question is kept and thanked here too: it is nothing for the assistant to understand.
    """
    recorded = service.record_incoming(session, incoming)
    if recorded.duplicate:
        return Begun(recorded)
    conversation = recorded.conversation
    if rating := handoffs.rating_of(recorded.button, incoming.text, session, conversation):
        return _settled(session, recorded, handoffs.rate(session, conversation, *rating))
    if conversation.mode != "human":
        return Begun(recorded)
    if recorded.button == CANCEL_HANDOFF:
        try:
            handoffs.cancel(session, incoming.channel, incoming.channel_user_id)
        except (handoffs.AlreadyClaimed, handoffs.HandoffNotFound):
            return Begun(recorded, handoff_taken=True)
        recorded.reset_bot = True  # back to the assistant, which starts afresh
        return Begun(recorded)
    return _settled(
        session, recorded, handoffs.answer_while_human(session, conversation, recorded.button_offered is not None)
    )


def _settled(session: Session, recorded: service.Recorded, text: str | None) -> Begun:
    replies = [Reply(text=text)] if text else []
    return Begun(recorded, settled=True, answer=service.record_replies(session, recorded.message.id, replies))


def end(session: Session, message_id: int, ended: TurnEnd) -> list[Message]:
    """Records the replies and releases the message (service.record_replies), with the turn's other outcomes."""
    # Held until the end: the session keeps loaded rows only while someone does, and the calls below look the
    # message up again (with it held, in the session rather than the database).
    incoming = service.incoming_message(session, message_id)
    conversation = incoming.conversation
    if ended.bot_reset:
        conversation.bot_reset_pending = False
    if ended.language_choice:
        conversation.preferred_language = None if ended.language_choice == "auto" else ended.language_choice
    stored = service.record_replies(session, message_id, ended.replies, ended.answered)
    if ended.parse is not None:
        _report_parse(session, message_id, ended)
    return stored


def _report_parse(session: Session, message_id: int, ended: TurnEnd) -> None:
    # The NLU inbox is analytics: its failing must not undo the answer, which is committed already.
    try:
        inbox.record(session, inbox.Parse(message_id=message_id, **ended.parse.model_dump()))
    except Exception as error:
        session.rollback()
        logger.warning("nlu inbox report dropped", extra={"message_id": message_id, "error": repr(error)})
