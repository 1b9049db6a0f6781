"""Sign-in for city staff (bearer tokens for the REST api) and the dependencies that guard staff routes."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.core.database import get_session
from api.staff import service
from api.staff.models import StaffUser

router = APIRouter(prefix="/api/auth", tags=["staff"])
SessionDep = Annotated[Session, Depends(get_session)]
_bearer = HTTPBearer(auto_error=False)


class SignIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


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


@router.post("/sign-in", response_model=SignedIn)
def sign_in(body: SignIn, session: SessionDep) -> SignedIn:
    token, staff_session = service.sign_in(session, body.email, body.password)
    return SignedIn(token=token, role=staff_session.user.role, name=staff_session.user.name)


@router.post("/sign-out", status_code=204)
def sign_out(
    session: SessionDep,
    user: StaffDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    service.sign_out(session, credentials.credentials)
