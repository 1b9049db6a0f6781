"""Console sign-in: a server-side session in an HttpOnly cookie, and a CSRF token that every form must carry.
Admins give a code of their authenticator app after the password, and enrol one at their first sign-in."""

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.core.errors import DomainError
from api.core.rate_limits import RateLimited, RateLimitsDep
from api.deps import SessionDep
from api.staff import second_factor
from api.staff import service as staff_service
from api.staff.models import StaffUser
from api.staff.router import count_sign_in
from api.web.pages import render

COOKIE = "paju_console"
# Before sign-in there is no session: the sign-in form's token is checked against this cookie instead.
SIGN_IN_COOKIE = "paju_console_sign_in"
# Between an admin's right password and their code: names the half-done sign-in (api/staff SignInChallenge).
CHALLENGE_COOKIE = "paju_console_second_factor"
COOKIE_PATH = "/console"
SIGN_IN_PATH = f"{COOKIE_PATH}/sign-in"
CODE_PATH = f"{SIGN_IN_PATH}/code"
HOME = "/console/queue"
CSRF_REFUSED = "보안 토큰이 맞지 않아 요청을 처리하지 않았어요. 페이지를 새로 고친 뒤 다시 시도해 주세요."

router = APIRouter(prefix="/console", include_in_schema=False)


@dataclass(frozen=True)
class Signed:
    user: StaffUser
    csrf_token: str


class SignInRequired(Exception):
    """A page asked for without a session: the browser goes to the sign-in page and comes back."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class ConsoleForbidden(Exception):
    def __init__(self, message: str, signed: Signed | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.signed = signed


def _signed(request: Request, session: Session) -> Signed | None:
    token = request.cookies.get(COOKIE)
    console = staff_service.console_session_for_token(session, token) if token else None
    return Signed(console.user, console.csrf_token) if console else None


def page_session(request: Request, session: SessionDep) -> Signed:
    signed = _signed(request, session)
    if signed is None:
        # After signing in, the browser comes back to the page it asked for; a form post, to the queue.
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(back if request.method == "GET" else HOME)
    return signed


def form_session(
    request: Request, session: SessionDep, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Signed:
    """A form post: signed in, and carrying this session's CSRF token; else refused before anything changes."""
    signed = page_session(request, session)
    if not hmac.compare_digest(csrf_token.encode(), signed.csrf_token.encode()):
        raise ConsoleForbidden(CSRF_REFUSED, signed)
    return signed


def _admin(signed: Signed) -> Signed:
    if signed.user.role != "admin":
        raise ConsoleForbidden("관리자만 쓸 수 있는 기능이에요.", signed)
    return signed


def admin_page(signed: Annotated[Signed, Depends(page_session)]) -> Signed:
    return _admin(signed)


def admin_form(signed: Annotated[Signed, Depends(form_session)]) -> Signed:
    return _admin(signed)


def stream_user(request: Request) -> StaffUser:
    """For the live stream: its own short database session, so a long stream holds no connection."""
    with request.app.state.sessionmaker() as session:
        signed = _signed(request, session)
    if signed is None:
        raise HTTPException(401, "sign in to the staff console")
    return signed.user


ConsolePage = Annotated[Signed, Depends(page_session)]
ConsoleForm = Annotated[Signed, Depends(form_session)]
AdminPage = Annotated[Signed, Depends(admin_page)]
AdminForm = Annotated[Signed, Depends(admin_form)]


def safe_next(next_url: str | None) -> str:
    """Only a console path: a sign-in link cannot send staff to another site."""
    if next_url and next_url.startswith("/console/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url
    return HOME


def sign_in_redirect(next_url: str) -> RedirectResponse:
    return RedirectResponse(f"/console/sign-in?next={quote(safe_next(next_url))}", status_code=303)


def _sign_in_page(
    request: Request, template: str, next_url: str, error: str | None, status_code: int, **extra
) -> HTMLResponse:
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    context = {"signed": None, "csrf_token": token, "next": safe_next(next_url), "error": error, **extra}
    response = render(request, template, context, status_code=status_code)
    _set_cookie(request, response, SIGN_IN_COOKIE, token, 3600, SIGN_IN_PATH)
    return response


def _sign_in_form(request: Request, next_url: str, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    return _sign_in_page(request, "sign_in.html", next_url, error, status_code)


def _code_form(
    request: Request, session: Session, user: StaffUser, next_url: str, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    """The code of the admin's app; before it is enrolled, its secret to add to the app, shown until confirmed."""
    enrolment = None if second_factor.enrolled(user) else second_factor.enrolment(session, user)
    return _sign_in_page(request, "sign_in_code.html", next_url, error, status_code, enrolment=enrolment)


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int, path: str) -> None:
    secure = request.app.state.settings.console_cookie_secure
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="lax", secure=secure)


def _check_sign_in_token(request: Request, csrf_token: str) -> None:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token.encode(), expected.encode()):
        raise ConsoleForbidden("보안 토큰이 맞지 않아요. 로그인 페이지를 새로 연 뒤 다시 시도해 주세요.")


def _signed_in_response(session: Session, user: StaffUser, request: Request, next_url: str) -> RedirectResponse:
    token, _console = staff_service.start_console_session(session, user)
    response = RedirectResponse(safe_next(next_url), status_code=303)
    _set_cookie(request, response, COOKIE, token, int(staff_service.SESSION_LIFETIME.total_seconds()), COOKIE_PATH)
    response.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN_PATH)
    response.delete_cookie(CHALLENGE_COOKIE, path=SIGN_IN_PATH)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, session: SessionDep, next: str = HOME) -> Response:
    if _signed(request, session):
        return RedirectResponse(safe_next(next), status_code=303)
    return _sign_in_form(request, next)


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    session: SessionDep,
    limits: RateLimitsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = HOME,
) -> Response:
    _check_sign_in_token(request, csrf_token)
    try:
        count_sign_in(request, limits, email)
        user = staff_service.check_password(session, email, password)
    except RateLimited as refused:
        page = _sign_in_form(request, next, refused.message("ko"), refused.status_code)
        page.headers["Retry-After"] = str(refused.retry_after)
        return page
    except DomainError as error:
        return _sign_in_form(request, next, error.message("ko"), error.status_code)
    if second_factor.needed(user, request.app.state.settings.admin_totp_required):
        challenge = staff_service.start_challenge(session, user)
        response = RedirectResponse(f"{CODE_PATH}?next={quote(safe_next(next))}", status_code=303)
        lifetime = int(staff_service.CHALLENGE_LIFETIME.total_seconds())
        _set_cookie(request, response, CHALLENGE_COOKIE, challenge, lifetime, SIGN_IN_PATH)
        return response
    staff_service.signed_in(session, user)
    return _signed_in_response(session, user, request, next)


@router.get("/sign-in/code", response_class=HTMLResponse)
def code_page(request: Request, session: SessionDep, next: str = HOME) -> Response:
    try:
        user = staff_service.challenged_user(session, request.cookies.get(CHALLENGE_COOKIE, ""))
    except DomainError:
        return sign_in_redirect(next)
    return _code_form(request, session, user, next)


@router.post("/sign-in/code", response_class=HTMLResponse)
def enter_code(
    request: Request,
    session: SessionDep,
    code: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = HOME,
) -> Response:
    """The admin's code: the first one also confirms the app they just added. Wrong codes count like wrong
    passwords towards the lockout."""
    challenge = request.cookies.get(CHALLENGE_COOKIE, "")
    try:
        user = staff_service.challenged_user(session, challenge)
    except DomainError:
        return sign_in_redirect(next)
    _check_sign_in_token(request, csrf_token)
    try:
        staff_service.pass_second_factor(session, challenge, code)
    except staff_service.AccountLocked as error:
        return _sign_in_form(request, next, error.message("ko"), error.status_code)
    except DomainError as error:
        return _code_form(request, session, user, next, error.message("ko"), error.status_code)
    return _signed_in_response(session, user, request, next)


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, signed: ConsoleForm) -> RedirectResponse:
    staff_service.end_console_session(session, request.cookies[COOKIE])
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response
