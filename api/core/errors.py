"""Domain errors raised by services, and their single mapping to HTTP responses."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.core.logging import route_of

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of every rule violation a service reports.

    `status_code` is its HTTP meaning, `code` a stable name clients can branch on, and the
    message exists in English and Korean: the response uses the one the request's
    Accept-Language prefers.
    """

    status_code = 400
    code = "error"

    def __init__(self, detail: str, detail_ko: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_ko = detail_ko or detail

    def message(self, language: str) -> str:
        return self.detail_ko if language == "ko" else self.detail


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


def preferred_language(request: Request) -> str:
    accepted = request.headers.get("accept-language", "").lower()
    return "ko" if accepted.startswith("ko") else "en"


def error_response(request: Request, exc: DomainError) -> JSONResponse:
    """A domain error as the api answers it; also for middleware, which exception handlers do not reach."""
    body = {"detail": exc.message(preferred_language(request)), "code": exc.code}
    return JSONResponse(body, status_code=exc.status_code)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": route_of(request)})
        return JSONResponse({"detail": "internal error"}, status_code=500)
