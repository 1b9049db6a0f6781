"""The api process: app factory wiring settings, database, logging, errors and domain routers."""

import logging
import time
import uuid

from fastapi import FastAPI, Request

from api import health
from api.automation.scheduler import lifespan as automation_lifespan
from api.conversations.router import outbox_router
from api.conversations.router import router as conversations_router
from api.core.database import make_engine, make_sessionmaker
from api.core.errors import install_error_handlers
from api.core.logging import configure_logging
from api.core.settings import Settings, get_settings
from api.notices.router import router as notices_router
from api.opendata.facilities import router as facilities_router
from api.opendata.router import router as opendata_router
from api.staff.router import router as staff_router
from api.tours.router import router as tours_router
from api.training.router import router as training_router
from api.web.app import install_console

logger = logging.getLogger("api")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    if not settings.service_token:
        logger.warning("SERVICE_TOKEN is not set: every service route will refuse requests")

    app = FastAPI(title="Paju citizen assistant api", version="0.1.0", lifespan=automation_lifespan)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)

    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(conversations_router)
    app.include_router(outbox_router)
    app.include_router(tours_router)
    app.include_router(facilities_router)
    app.include_router(opendata_router)
    app.include_router(notices_router)
    app.include_router(staff_router)
    app.include_router(training_router)
    install_console(app)

    @app.middleware("http")
    async def log_requests(request: Request, call_next):
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:12]
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["x-request-id"] = request_id
        logger.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response

    return app
