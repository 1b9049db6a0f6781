"""`GET /api/health`: whether the database answers and Rasa is reachable."""

import logging
from typing import Literal

import httpx
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import text

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    database: Literal["ok", "error"]
    rasa: Literal["ok", "unreachable"]


def _database_ok(request: Request) -> bool:
    try:
        with request.app.state.sessionmaker() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:
        logger.exception("health: database check failed")
        return False


async def _rasa_ok(request: Request) -> bool:
    settings = request.app.state.settings
    try:
        async with httpx.AsyncClient(timeout=settings.health_timeout_seconds) as client:
            answer = await client.get(f"{settings.rasa_url.rstrip('/')}/")
        return answer.status_code == 200
    except httpx.HTTPError:
        return False


@router.get("/api/health", response_model=Health)
async def health(request: Request, response: Response) -> Health:
    database = _database_ok(request)
    rasa = await _rasa_ok(request)
    if not database:
        response.status_code = 503
    return Health(
        status="ok" if database and rasa else ("degraded" if database else "down"),
        database="ok" if database else "error",
        rasa="ok" if rasa else "unreachable",
    )
