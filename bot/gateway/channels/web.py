"""The web chat channel: the chat page at `/` and its JSON endpoints."""

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from bot.gateway.api_client import ApiClient, ApiUnavailable
from bot.gateway.messages import IncomingMessage, Reply
from bot.gateway.router import MessageRouter

STATIC = Path(__file__).resolve().parents[1] / "static"
WebUserId = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]

router = APIRouter()


class WebMessage(BaseModel):
    user_id: WebUserId
    message_id: str = Field(min_length=1, max_length=64)
    text: str = Field(default="", max_length=16_384)
    payload: str | None = Field(default=None, max_length=1024)
    language: Literal["ko", "en"] | None = None


class WebReplies(BaseModel):
    replies: list[Reply]


class WebHistoryItem(BaseModel):
    id: int
    direction: Literal["in", "out"]
    text: str | None
    buttons: list[dict] | None = None


def _router(request: Request) -> MessageRouter:
    return request.app.state.router


def _api(request: Request) -> ApiClient:
    return request.app.state.api


@router.get("/", include_in_schema=False)
async def chat_page() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.post("/web/messages", response_model=WebReplies)
async def post_message(body: WebMessage, router_: MessageRouter = Depends(_router)) -> WebReplies:
    message = IncomingMessage(
        channel="web",
        channel_user_id=body.user_id,
        channel_message_id=body.message_id,
        text=body.text,
        payload=body.payload,
        language_hint=body.language,
    )
    try:
        replies = await router_.handle(message)
    except ApiUnavailable as error:
        raise HTTPException(503, "service temporarily unavailable, please retry") from error
    return WebReplies(replies=replies)


@router.get("/web/history", response_model=list[WebHistoryItem])
async def history(
    user_id: Annotated[str, Query(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9-]+$")],
    api: ApiClient = Depends(_api),
) -> list[WebHistoryItem]:
    try:
        messages = await api.transcript("web", user_id)
    except Exception as error:
        raise HTTPException(503, "history temporarily unavailable") from error
    return [
        WebHistoryItem(
            id=m["id"], direction=m["direction"], text=m["text"], buttons=(m.get("payload") or {}).get("buttons")
        )
        for m in messages
    ]


@router.get("/web/updates", response_model=list[WebHistoryItem])
async def updates(
    user_id: Annotated[str, Query(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9-]+$")],
    api: ApiClient = Depends(_api),
) -> list[WebHistoryItem]:
    """Messages the city sent since the page last asked (staff replies, reminders): the page polls this."""
    try:
        waiting = await api.collect_outbox("web", user_id)
    except ApiUnavailable as error:
        raise HTTPException(503, "updates temporarily unavailable") from error
    return [WebHistoryItem(id=m["message_id"], direction="out", text=m["text"], buttons=m["buttons"]) for m in waiting]
