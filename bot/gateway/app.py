"""The gateway process: messenger I/O in front of Rasa and the api."""

import hmac
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.staticfiles import StaticFiles

from bot.gateway.api_client import ApiClient
from bot.gateway.channels import kakao, web
from bot.gateway.channels.kakao_events import KakaoEventApi
from bot.gateway.outbox import OutboxWorker
from bot.gateway.rasa_client import RasaClient
from bot.gateway.rate_limits import GatewayLimits
from bot.gateway.router import MessageRouter
from bot.gateway.security_headers import SecurityHeaders, content_security_policy
from bot.gateway.settings import GatewaySettings, get_settings
from common.log_format import configure_logging
from common.request_limits import BodyLimit

logger = logging.getLogger("gateway")


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        api = ApiClient(settings.api_url, settings.service_token, settings.api_timeout_seconds)
        rasa = RasaClient(settings.rasa_replicas, settings.rasa_timeout_seconds, settings.rasa_jwt_secret)
        app.state.api = api
        app.state.router = MessageRouter(
            api, rasa, settings.max_nlu_chars, settings.nlu_inbox_reports, settings.turn_lease_seconds
        )
        app.state.limits = GatewayLimits(settings)
        app.state.telegram = None
        if settings.telegram_bot_token:
            from bot.gateway.channels.telegram import TelegramChannel

            app.state.telegram = TelegramChannel(settings, app.state.router, app.state.limits)
            await app.state.telegram.start()
        else:
            logger.info("Telegram is off: TELEGRAM_BOT_TOKEN is not set")
        deliverers = {"telegram": app.state.telegram} if app.state.telegram else {}
        app.state.kakao = None
        kakao_events = None
        if settings.kakao_skill_secret.get_secret_value():
            app.state.kakao = kakao.KakaoChannel(settings, app.state.router, api, app.state.limits)
            kakao_events = KakaoEventApi.from_settings(settings)
            if kakao_events:
                deliverers["kakao"] = kakao_events
            else:
                logger.warning("KakaoTalk messages the city sends wait: KAKAO_BOT_ID or KAKAO_REST_API_KEY is not set")
        else:
            logger.info("KakaoTalk is off: KAKAO_SKILL_SECRET is not set")
        outbox = OutboxWorker(api, deliverers, settings.outbox_poll_seconds, settings.outbox_batch)
        outbox.start()
        logger.info("gateway ready", extra={"api": settings.api_url, "rasa": settings.rasa_replicas})
        yield
        await outbox.stop()
        if app.state.kakao:
            await app.state.kakao.stop()
        if kakao_events:
            await kakao_events.close()
        if app.state.telegram:
            await app.state.telegram.stop()
        await api.close()
        await rasa.close()

    # No /docs or /openapi.json: the gateway faces the public and its routes are the chat page's, not an api
    # anyone should browse (the api keeps its own OpenAPI).
    app = FastAPI(title="Paju assistant gateway", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    # Inside the security headers, so a refused body carries them too.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, routes=web.photo_body_limit(settings))
    app.add_middleware(
        SecurityHeaders,
        content_security_policy=content_security_policy(settings.api_url, settings.chat_frame_ancestors),
    )
    app.state.web_identity = web.WebIdentity.from_settings(settings)
    app.state.photo_max_bytes = settings.report_photo_max_bytes
    app.state.settings = settings
    app.state.web_event_streams = web.EventStreams(settings.web_events_max_streams)
    app.include_router(web.router)
    app.include_router(kakao.router)
    app.mount("/static", StaticFiles(directory=web.STATIC), name="static")

    @app.post("/telegram/webhook", include_in_schema=False)
    async def telegram_webhook(request: Request) -> dict[str, bool]:
        secret = request.headers.get("x-telegram-bot-api-secret-token", "")
        expected = settings.telegram_webhook_secret
        # Without a configured secret nothing is accepted: anyone could post fake updates.
        if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
            raise HTTPException(403, "wrong webhook secret")
        if request.app.state.telegram is None:
            raise HTTPException(404, "telegram is off")
        await request.app.state.telegram.process_webhook(await request.json())
        return {"ok": True}

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
