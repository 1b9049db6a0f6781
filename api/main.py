"""The api process: app factory wiring settings, database, logging, errors and domain routers."""

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import health
from api.automation.scheduler import lifespan as automation_lifespan
from api.conversations.router import outbox_router
from api.conversations.router import router as conversations_router
from api.core.database import make_engine, make_sessionmaker
from api.core.errors import install_error_handlers
from api.core.json_bodies import RefuseUnstorableText
from api.core.logging import route_of
from api.core.rate_limits import count_request, install_rate_limits
from api.core.settings import Settings, get_settings
from api.knowledge import service as knowledge
from api.knowledge.router import router as knowledge_router
from api.notices.router import router as notices_router
from api.opendata.facilities import router as facilities_router
from api.opendata.router import router as opendata_router
from api.reports.router import router as reports_router
from api.staff.router import router as staff_router
from api.tours.router import router as tours_router
from api.training.router import router as training_router
from api.web import public_data
from api.web.app import install_console
from common.log_format import configure_logging
from common.request_limits import BodyLimit

logger = logging.getLogger("api")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    if not settings.service_token:
        logger.warning("SERVICE_TOKEN is not set: every service route will refuse requests")

    app = FastAPI(
        title="Paju citizen assistant api",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(count_request)],
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)

    install_error_handlers(app)
    # The innermost middleware: the body it reads whole has passed the size limit already.
    app.add_middleware(RefuseUnstorableText)
    install_rate_limits(app, settings)
    app.include_router(health.router)
    app.include_router(conversations_router)
    app.include_router(outbox_router)
    app.include_router(tours_router)
    app.include_router(facilities_router)
    app.include_router(opendata_router)
    app.include_router(notices_router)
    app.include_router(knowledge_router)
    app.include_router(reports_router)
    app.include_router(staff_router)
    app.include_router(training_router)
    app.include_router(public_data.router)
    install_console(app)
    # Inside the request log, so a refused body is logged like any answer.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, routes=body_limits(settings))

    app.add_middleware(LogRequests)
    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the app serves: the knowledge index built in the background, and the scheduler. Not in create_app, so
    that building an app to read its OpenAPI starts no thread (one parsing beside Hypothesis broke its collection)."""
    if app.state.settings.knowledge_warm_up:
        knowledge.warm_up(app.state.sessionmaker)
    async with automation_lifespan(app):
        yield


class LogRequests:
    """Logs each answered request (route, status, time) and returns its id, given or new, as x-request-id.

    A plain ASGI middleware: Starlette's `@app.middleware("http")` runs the rest of the app in a task of its
    own and streams the response through a queue, a large share of what a short request costs.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id")
        request_id = given or uuid.uuid4().hex[:12]
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
        logger.info(
            "request",
            extra={
                "request_id": request_id,
                "method": scope["method"],
                "path": route_of(Request(scope)),
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )


def body_limits(settings: Settings) -> dict[str, int]:
    """The routes whose bodies may be larger than MAX_BODY_BYTES, first match first. A route that takes files
    gets its own line here, and its upload is counted while it streams in like every other body."""
    longer = settings.staff_max_body_bytes
    upload = settings.opendata_max_upload_bytes + settings.max_body_bytes
    return {
        "POST /console/sign-in": settings.max_body_bytes,
        # The CSV file, plus its metadata and the multipart framing around both (the api's and the console's).
        "POST /console/admin/datasets": upload,
        "POST /console/admin/datasets/{dataset_id}/versions": upload,
        "* /console/{page:path}": longer,
        "POST /api/datasets": upload,
        # Twice the largest photo, so a photo somewhat too large is read far enough to be refused as one, with the
        # photo's own words (photo_too_large); the framing and two small fields on top.
        "POST /api/reports/photos": 2 * settings.report_photo_max_bytes + settings.max_body_bytes,
        "POST /api/notices": longer,
        "PATCH /api/notices/{notice_id}": longer,
        "POST /api/personal-notices": longer,
        "POST /api/training/examples": longer,
        # The gateway records whole transcripts' worth of text: a long message, a notice read out in full.
        "POST /api/conversations/turns": longer,
        "POST /api/conversations/turns/{message_id}/end": longer,
        "POST /api/conversations/messages": longer,
        "POST /api/conversations/messages/{message_id}/replies": longer,
        "POST /api/training/inbox": longer,
    }
