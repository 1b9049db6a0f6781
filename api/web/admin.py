"""Admin pages of the console: staff accounts (create, deactivate, reset password, role) and canned replies."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.conversations import handoffs
from api.core.database import get_session
from api.core.errors import DomainError
from api.staff import service as staff_service
from api.web.auth import AdminForm, AdminPage
from api.web.pages import error_page, render

router = APIRouter(prefix="/console/admin", include_in_schema=False)
SessionDep = Annotated[Session, Depends(get_session)]
USERS = "/console/admin/users"
CANNED = "/console/admin/canned"
Text = Annotated[str, Form(max_length=handoffs.MAX_TEXT_CHARS)]


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    context = {"signed": signed, "users": staff_service.list_users(session), "roles": staff_service.ROLES}
    return render(request, "admin_users.html", context)


@router.post("/users")
def create_user(
    request: Request,
    session: SessionDep,
    signed: AdminForm,
    email: Annotated[str, Form(max_length=254)] = "",
    name: Annotated[str, Form(max_length=60)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=8)] = "staff",
) -> Response:
    try:
        user = staff_service.create_user(session, email, name, password, role)
    except DomainError as error:
        return error_page(request, signed, error, USERS)
    staff_service.audit(session, signed.user, "create_account", f"staff:{user.id}", role)
    session.commit()
    return RedirectResponse(USERS, status_code=303)


@router.post("/users/{user_id}/active")
def set_active(
    request: Request,
    user_id: int,
    session: SessionDep,
    signed: AdminForm,
    active: Annotated[bool, Form()] = False,
) -> Response:
    try:
        staff_service.set_active(session, signed.user, user_id, active)
    except DomainError as error:
        return error_page(request, signed, error, USERS)
    return RedirectResponse(USERS, status_code=303)


@router.post("/users/{user_id}/password")
def reset_password(
    request: Request,
    user_id: int,
    session: SessionDep,
    signed: AdminForm,
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        staff_service.reset_password(session, signed.user, user_id, password)
    except DomainError as error:
        return error_page(request, signed, error, USERS)
    return RedirectResponse(USERS, status_code=303)


@router.post("/users/{user_id}/role")
def set_role(
    request: Request,
    user_id: int,
    session: SessionDep,
    signed: AdminForm,
    role: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        staff_service.set_role(session, signed.user, user_id, role)
    except DomainError as error:
        return error_page(request, signed, error, USERS)
    return RedirectResponse(USERS, status_code=303)


@router.get("/canned", response_class=HTMLResponse)
def canned_page(request: Request, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    return render(request, "admin_canned.html", {"signed": signed, "canned": handoffs.canned_replies(session)})


@router.post("/canned")
def add_canned(
    request: Request, session: SessionDep, signed: AdminForm, title: Text = "", text_ko: Text = "", text_en: Text = ""
) -> Response:
    try:
        handoffs.save_canned_reply(session, title, text_ko, text_en)
    except DomainError as error:
        return error_page(request, signed, error, CANNED)
    return RedirectResponse(CANNED, status_code=303)


@router.post("/canned/{canned_reply_id}")
def change_canned(
    request: Request,
    canned_reply_id: int,
    session: SessionDep,
    signed: AdminForm,
    title: Text = "",
    text_ko: Text = "",
    text_en: Text = "",
) -> Response:
    try:
        handoffs.save_canned_reply(session, title, text_ko, text_en, canned_reply_id)
    except DomainError as error:
        return error_page(request, signed, error, CANNED)
    return RedirectResponse(CANNED, status_code=303)


@router.post("/canned/{canned_reply_id}/delete")
def delete_canned(request: Request, canned_reply_id: int, session: SessionDep, signed: AdminForm) -> Response:
    try:
        handoffs.delete_canned_reply(session, canned_reply_id)
    except DomainError as error:
        return error_page(request, signed, error, CANNED)
    return RedirectResponse(CANNED, status_code=303)
