"""HTTP routes of the knowledge base the actions call: ask a question, show one entry's answer, say whether an
answer helped. The console's pages are in api/web."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.core.ids import Id
from api.deps import ServiceDep, SessionDep
from api.knowledge import service
from api.knowledge.schemas import AskIn, AskOut, FeedbackIn, Language

router = APIRouter(prefix="/api/knowledge", tags=["knowledge"], dependencies=[ServiceDep])


@router.post("/ask", response_model=AskOut)
def ask(body: AskIn, session: SessionDep) -> AskOut:
    """The best published entry's or notice's answer to a question, with its source and close alternatives;
    `answered` false (with whom to call) when nothing matches well enough."""
    answer = service.ask(session, body.question, body.language, strict=body.strict, channel=body.channel)
    session.commit()
    return answer


@router.get("/entries/{entry_id}/answer", response_model=AskOut)
def entry_answer(entry_id: Id, session: SessionDep, language: Annotated[Language, Query()] = "ko") -> AskOut:
    return service.entry_answer(session, entry_id, language)


@router.post("/feedback", status_code=204)
def feedback(body: FeedbackIn, session: SessionDep) -> Response:
    service.record_feedback(session, body.ask_id, body.helpful)
    session.commit()
    return Response(status_code=204)
