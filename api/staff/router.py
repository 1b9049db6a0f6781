"""Sign-in for city staff: bearer tokens for the REST api (api/deps.py guards the staff routes with them)."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.core.rate_limits import RateLimits, RateLimitsDep, client_address
from api.deps import BearerDep, SessionDep, StaffDep
from api.staff import service

router = APIRouter(prefix="/api/auth", tags=["staff"])


class SignIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)
    # Admins: the current 6-digit code of the authenticator app enrolled in the console.
    totp_code: str | None = Field(default=None, max_length=10)


class SignedIn(BaseModel):
    token: str
    role: str
    name: str


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
def sign_out(session: SessionDep, user: StaffDep, credentials: BearerDep) -> None:
    service.sign_out(session, credentials.credentials)
