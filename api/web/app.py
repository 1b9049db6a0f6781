"""Puts the staff console into the api app: routers, static files, answers to signed-out and forbidden requests."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.web import admin, auth, automation, cases, conversations, datasets, knowledge, notices, reports, training
from api.web.auth import ConsoleForbidden, SignInRequired, sign_in_redirect
from api.web.pages import error_page


def install_console(app: FastAPI) -> None:
    app.include_router(auth.router)
    app.include_router(conversations.router)
    app.include_router(admin.router)
    app.include_router(notices.router)
    app.include_router(knowledge.router)
    app.include_router(training.router)
    app.include_router(automation.router)
    app.include_router(reports.router)
    app.include_router(datasets.router)
    app.include_router(cases.router)
    app.mount("/console/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")

    @app.exception_handler(SignInRequired)
    async def _sign_in_required(request: Request, exc: SignInRequired) -> RedirectResponse:
        return sign_in_redirect(exc.next_url)

    @app.exception_handler(ConsoleForbidden)
    async def _forbidden(request: Request, exc: ConsoleForbidden) -> HTMLResponse:
        return error_page(request, exc.signed, exc.message, "/console/queue", status_code=403)
