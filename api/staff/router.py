"""Sign-in for city staff (bearer tokens for the REST api) and the dependencies that guard staff routes."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.core.database import get_session
from api.core.rate_limits import RateLimits, RateLimitsDep, client_address
from api.staff import service
from api.staff.models import StaffUser

router = APIRouter(prefix="/api/auth", tags=["staff"])
SessionDep = Annotated[Session, Depends(get_session)]
_bearer = HTTPBearer(auto_error=False)


class SignIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)
    # Admins: the current 6-digit code of the authenticator app enrolled in the console.
    totp_code: str | None = Field(default=None, max_length=10)


class SignedIn(BaseModel):
    token: str
    role: str
    name: str


def current_staff(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StaffUser:
    user = credentials and service.user_for_token(session, credentials.credentials)
    if not user:
        raise HTTPException(401, "sign in as a staff member", {"WWW-Authenticate": "Bearer"})
    return user


def require_admin(user: Annotated[StaffUser, Depends(current_staff)]) -> StaffUser:
    if user.role != "admin":
        raise HTTPException(403, "admins only")
    return user


StaffDep = Annotated[StaffUser, Depends(current_staff)]


def count_sign_in(request: Request, limits: RateLimits, email: str) -> None:
    """Every attempt counts, right or wrong, for the address and for the account (console and REST alike):
    the account lock stops guesses at one password, these stop one address trying many accounts."""
    limits.hit(
        ("sign_in_per_client", client_address(request)),
        ("sign_in_per_account", email.strip().lower()),
    )


@router.post("/sign-in", response_model=SignedIn)
def sign_in(body: SignIn, session: SessionDep, request: Request, limits: RateLimitsDep) -> SignedIn:
    count_sign_in(request, limits, body.email)
    required = request.app.state.settings.admin_totp_required
    token, staff_session = service.sign_in(session, body.email, body.password, body.totp_code, required)
    return SignedIn(token=token, role=staff_session.user.role, name=staff_session.user.name)


@router.post("/sign-out", status_code=204)
def sign_out(
    session: SessionDep,
    user: StaffDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    service.sign_out(session, credentials.credentials)
