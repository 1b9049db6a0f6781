"""HTTP routes of the conversations domain, used by the gateway and the action server."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.conversations import handoffs, service
from api.conversations import outbox as outbox_service
from api.conversations.models import OutboxMessage
from api.conversations.schemas import (
    Channel,
    ClaimedMessage,
    ClaimRequest,
    CollectRequest,
    DeliveryResult,
    HandoffOut,
    HandoffRequest,
    IncomingMessage,
    LanguageChoice,
    LeaseIn,
    MessageOut,
    OutboxIn,
    OutboxOut,
    RecordedIncoming,
    RepliesIn,
)
from api.core.auth import require_service
from api.core.database import get_session
from api.core.ids import Id

router = APIRouter(prefix="/api/conversations", tags=["conversations"], dependencies=[Depends(require_service)])
SessionDep = Annotated[Session, Depends(get_session)]


@router.post("/messages", response_model=RecordedIncoming, status_code=status.HTTP_201_CREATED)
def record_incoming(incoming: IncomingMessage, session: SessionDep, response: Response) -> RecordedIncoming:
    recorded = service.record_incoming(session, incoming)
    if recorded.duplicate:
        response.status_code = status.HTTP_200_OK
    return RecordedIncoming(
        message_id=recorded.message.id,
        conversation_id=recorded.conversation.id,
        mode=recorded.conversation.mode,
        duplicate=recorded.duplicate,
        replies=[MessageOut.model_validate(m) for m in recorded.replies],
        button_offered=recorded.button_offered,
        button=recorded.button,
        preferred_language=recorded.conversation.preferred_language,
        reset_bot=recorded.reset_bot,
        retry=recorded.retry,
        in_progress=recorded.in_progress,
    )


@router.post("/messages/{message_id}/replies", response_model=list[MessageOut], status_code=201)
def record_replies(message_id: Id, body: RepliesIn, session: SessionDep) -> list[MessageOut]:
    stored = service.record_replies(session, message_id, body.replies, body.answered)
    return [MessageOut.model_validate(m) for m in stored]


@router.post("/messages/{message_id}/lease", status_code=204)
def extend_lease(message_id: Id, body: LeaseIn, session: SessionDep) -> None:
    service.extend_lease(session, message_id, body.lease_seconds)


@router.get("/{channel}/{channel_user_id}/messages", response_model=list[MessageOut])
def transcript(channel: Channel, channel_user_id: str, session: SessionDep) -> list[MessageOut]:
    return [MessageOut.model_validate(m) for m in service.transcript(session, channel, channel_user_id)]


@router.put("/{channel}/{channel_user_id}/language", status_code=204)
def choose_language(channel: Channel, channel_user_id: str, body: LanguageChoice, session: SessionDep) -> None:
    service.choose_language(session, channel, channel_user_id, body.language)


@router.post("/{channel}/{channel_user_id}/bot-reset", status_code=204)
def bot_reset_done(channel: Channel, channel_user_id: str, session: SessionDep) -> None:
    service.bot_reset_done(session, channel, channel_user_id)


def _handoff_out(ticket: handoffs.QueueTicket) -> HandoffOut:
    handoff = ticket.handoff
    return HandoffOut(
        id=handoff.id,
        status=handoff.status,
        reason=handoff.reason,
        department=handoff.department,
        requested_at=handoff.requested_at,
        waiting_ahead=ticket.waiting_ahead,
        office_open=ticket.office_open,
        expected_wait_minutes=ticket.expected_wait_minutes,
        next_opening=ticket.next_opening,
        transcript_url=f"/console/conversations/{handoff.conversation_id}",
    )


@router.post("/handoffs", response_model=HandoffOut, status_code=201)
def request_handoff(body: HandoffRequest, session: SessionDep, request: Request) -> HandoffOut:
    """Hand the conversation to staff (mode human) and tell the citizen's place, wait or the next opening."""
    settings = request.app.state.settings
    ticket = handoffs.request(
        session,
        body.channel,
        body.channel_user_id,
        body.reason,
        body.department,
        hours=handoffs.OfficeHours.from_settings(settings),
        default_minutes=settings.handoff_minutes_per_person,
    )
    return _handoff_out(ticket)


@router.post("/{channel}/{channel_user_id}/handoff/cancel", response_model=HandoffOut)
def cancel_handoff(channel: Channel, channel_user_id: str, session: SessionDep, request: Request) -> HandoffOut:
    """The citizen stops waiting for a person: the assistant answers again, starting afresh."""
    settings = request.app.state.settings
    handoff = handoffs.cancel(session, channel, channel_user_id)
    hours = handoffs.OfficeHours.from_settings(settings)
    return _handoff_out(handoffs.ticket(session, handoff, hours, settings.handoff_minutes_per_person))


outbox_router = APIRouter(prefix="/api/outbox", tags=["outbox"], dependencies=[Depends(require_service)])


@outbox_router.post("", response_model=OutboxOut, status_code=201)
def enqueue(body: OutboxIn, session: SessionDep, response: Response) -> OutboxOut:
    conversation = service.existing_conversation(session, body.channel, body.channel_user_id)
    before = body.dedupe_key and session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == body.dedupe_key)
    )
    outbox = outbox_service.enqueue(
        session, conversation, text=body.text, kind=body.kind, buttons=body.buttons, dedupe_key=body.dedupe_key
    )
    session.commit()
    if before:
        response.status_code = status.HTTP_200_OK
    return OutboxOut.model_validate(outbox)


def _claimed(item: outbox_service.Claimed) -> ClaimedMessage:
    return ClaimedMessage(
        id=item.outbox.id,
        message_id=item.message.id,
        channel=item.conversation.channel,
        channel_user_id=item.conversation.channel_user_id,
        language=outbox_service.language_of(item.conversation),
        text=item.message.text,
        buttons=(item.message.payload or {}).get("buttons"),
        attempts=item.outbox.attempts,
    )


@outbox_router.post("/claim", response_model=list[ClaimedMessage])
def claim(body: ClaimRequest, session: SessionDep) -> list[ClaimedMessage]:
    return [_claimed(item) for item in outbox_service.claim(session, body.channels, body.limit, body.lease_seconds)]


@outbox_router.post("/collect", response_model=list[ClaimedMessage])
def collect(body: CollectRequest, session: SessionDep) -> list[ClaimedMessage]:
    conversation = service.existing_conversation(session, body.channel, body.channel_user_id)
    return [_claimed(item) for item in outbox_service.collect(session, conversation)]


@outbox_router.post("/{outbox_id}/result", response_model=OutboxOut)
def report(outbox_id: Id, body: DeliveryResult, session: SessionDep) -> OutboxOut:
    outbox = outbox_service.report(
        session,
        outbox_id,
        body.status,
        error=body.error,
        retry_after=body.retry_after,
        channel_message_id=body.channel_message_id,
    )
    return OutboxOut.model_validate(outbox)


@outbox_router.get("/{outbox_id}", response_model=OutboxOut)
def outbox_message(outbox_id: Id, session: SessionDep) -> OutboxOut:
    return OutboxOut.model_validate(outbox_service.get(session, outbox_id))
