"""HTTP routes of the conversations domain, used by the gateway and the action server."""

from fastapi import APIRouter, Request, Response, status

from api.conversations import handoffs, service, turns
from api.conversations import outbox as outbox_service
from api.conversations.departments import DEFAULT_DEPARTMENT, DEPARTMENTS
from api.conversations.schemas import (
    Channel,
    ClaimedMessage,
    ClaimRequest,
    CollectRequest,
    DeliveryRecorded,
    DeliveryResult,
    DepartmentOut,
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
    TurnBegun,
    TurnEnd,
)
from api.core.ids import Id
from api.deps import LanguageDep, ServiceDep, SessionDep

router = APIRouter(prefix="/api/conversations", tags=["conversations"], dependencies=[ServiceDep])


def _recorded_out(recorded: service.Recorded) -> dict:
    return {
        "message_id": recorded.message.id,
        "conversation_id": recorded.conversation.id,
        "mode": recorded.conversation.mode,
        "duplicate": recorded.duplicate,
        "replies": [MessageOut.model_validate(m) for m in recorded.replies],
        "button_offered": recorded.button_offered,
        "button": recorded.button,
        "preferred_language": recorded.conversation.preferred_language,
        "language": recorded.conversation.language,
        "reset_bot": recorded.reset_bot,
        "retry": recorded.retry,
        "in_progress": recorded.in_progress,
    }


@router.post("/turns", response_model=TurnBegun, status_code=status.HTTP_201_CREATED)
def begin_turn(incoming: IncomingMessage, session: SessionDep, response: Response) -> TurnBegun:
    """The gateway's one call before Rasa: record the message, hold it for this delivery, say who answers it."""
    begun = turns.begin(session, incoming)
    if begun.recorded.duplicate:
        response.status_code = status.HTTP_200_OK
    return TurnBegun(
        **_recorded_out(begun.recorded),
        handoff_taken=begun.handoff_taken,
        settled=begun.settled,
        answer=[MessageOut.model_validate(m) for m in begun.answer],
    )


@router.post("/turns/{message_id}/end", response_model=list[MessageOut], status_code=201)
def end_turn(message_id: Id, body: TurnEnd, session: SessionDep) -> list[MessageOut]:
    """The gateway's one call after Rasa: record the replies, release the message, and what else the turn did."""
    return [MessageOut.model_validate(m) for m in turns.end(session, message_id, body)]


@router.post("/messages", response_model=RecordedIncoming, status_code=status.HTTP_201_CREATED)
def record_incoming(incoming: IncomingMessage, session: SessionDep, response: Response) -> RecordedIncoming:
    recorded = service.record_incoming(session, incoming)
    if recorded.duplicate:
        response.status_code = status.HTTP_200_OK
    return RecordedIncoming(**_recorded_out(recorded))


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


@router.get("/departments", response_model=list[DepartmentOut])
def departments(language: LanguageDep) -> list[DepartmentOut]:
    """The departments a handoff can go to, named in the caller's language and in both; `default` is where a
    request without a department goes."""
    return [
        DepartmentOut(
            code=d.code,
            name=d.name(language),
            name_ko=d.name_ko,
            name_en=d.name_en,
            default=d.code == DEFAULT_DEPARTMENT,
        )
        for d in DEPARTMENTS.values()
    ]


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


outbox_router = APIRouter(prefix="/api/outbox", tags=["outbox"], dependencies=[ServiceDep])


@outbox_router.post("", response_model=OutboxOut, status_code=201)
def enqueue(body: OutboxIn, session: SessionDep, response: Response) -> OutboxOut:
    conversation = service.existing_conversation(session, body.channel, body.channel_user_id)
    outbox, written = outbox_service.enqueue_once(
        session, conversation, text=body.text, kind=body.kind, buttons=body.buttons, dedupe_key=body.dedupe_key
    )
    session.commit()
    if not written:
        response.status_code = status.HTTP_200_OK
    return OutboxOut.model_validate(outbox)


def _claimed(item: outbox_service.Claimed) -> ClaimedMessage:
    extras = item.message.payload or {}
    staff = extras.get("author") == "staff"
    return ClaimedMessage(
        id=item.outbox.id,
        message_id=item.message.id,
        channel=item.conversation.channel,
        channel_user_id=item.conversation.channel_user_id,
        language=outbox_service.language_of(item.conversation),
        text=item.message.text,
        buttons=extras.get("buttons"),
        attempts=item.outbox.attempts,
        author="staff" if staff else None,
        author_name=extras.get("author_name") if staff else None,
    )


@outbox_router.post("/claim", response_model=list[ClaimedMessage])
def claim(body: ClaimRequest, session: SessionDep) -> list[ClaimedMessage]:
    return [_claimed(item) for item in outbox_service.claim(session, body.channels, body.limit, body.lease_seconds)]


@outbox_router.post("/collect", response_model=list[ClaimedMessage])
def collect(body: CollectRequest, session: SessionDep) -> list[ClaimedMessage]:
    conversation = service.existing_conversation(session, body.channel, body.channel_user_id)
    return [_claimed(item) for item in outbox_service.collect(session, conversation, body.after)]


@outbox_router.post("/{outbox_id}/result", response_model=DeliveryRecorded)
def report(outbox_id: Id, body: DeliveryResult, session: SessionDep) -> DeliveryRecorded:
    reported = outbox_service.report(
        session,
        outbox_id,
        body.status,
        attempt=body.attempt,
        error=body.error,
        retry_after=body.retry_after,
        channel_message_id=body.channel_message_id,
    )
    return DeliveryRecorded(**OutboxOut.model_validate(reported.outbox).model_dump(), applied=reported.applied)


@outbox_router.get("/{outbox_id}", response_model=OutboxOut)
def outbox_message(outbox_id: Id, session: SessionDep) -> OutboxOut:
    return OutboxOut.model_validate(outbox_service.get(session, outbox_id))
