"""HTTP routes of the conversations domain, used by the gateway and the action server."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from sqlalchemy.orm import Session

from api.conversations import service
from api.conversations.schemas import (
    Channel,
    HandoffOut,
    HandoffRequest,
    IncomingMessage,
    MessageOut,
    RecordedIncoming,
    RepliesIn,
)
from api.core.auth import require_service
from api.core.database import get_session

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
    )


@router.post("/messages/{message_id}/replies", response_model=list[MessageOut], status_code=201)
def record_replies(message_id: int, body: RepliesIn, session: SessionDep) -> list[MessageOut]:
    return [MessageOut.model_validate(m) for m in service.record_replies(session, message_id, body.replies)]


@router.get("/{channel}/{channel_user_id}/messages", response_model=list[MessageOut])
def transcript(channel: Channel, channel_user_id: str, session: SessionDep) -> list[MessageOut]:
    return [MessageOut.model_validate(m) for m in service.transcript(session, channel, channel_user_id)]


@router.post("/handoffs", response_model=HandoffOut, status_code=201)
def request_handoff(body: HandoffRequest, session: SessionDep) -> HandoffOut:
    handoff, waiting_ahead = service.request_handoff(session, body.channel, body.channel_user_id, body.reason)
    return HandoffOut(
        id=handoff.id,
        status=handoff.status,
        reason=handoff.reason,
        requested_at=handoff.requested_at,
        waiting_ahead=waiting_ahead,
    )
