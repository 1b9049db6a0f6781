"""The FastAPI dependencies every router and console module shares, declared once (as the FastAPI full-stack
template's deps.py does): the session, the signed-in staff member, an admin, service calls, the caller's language."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.core.auth import is_service_call, require_service
from api.core.database import get_session
from api.core.errors import preferred_language
from api.identity.sms import SmsSender, sms_sender
from api.staff import service as staff_service
from api.staff.models import StaffUser

SessionDep = Annotated[Session, Depends(get_session)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]


def current_staff(session: SessionDep, credentials: BearerDep) -> StaffUser:
    """The staff member whose bearer token the request carries (REST routes; the console signs in by cookie)."""
    user = credentials and staff_service.user_for_token(session, credentials.credentials)
    if not user:
        raise HTTPException(401, "sign in as a staff member", {"WWW-Authenticate": "Bearer"})
    return user


StaffDep = Annotated[StaffUser, Depends(current_staff)]


def require_admin(user: StaffDep) -> StaffUser:
    if user.role != "admin":
        raise HTTPException(403, "admins only")
    return user


AdminDep = Annotated[StaffUser, Depends(require_admin)]
# The caller's language from Accept-Language: "en" or "ko".
LanguageDep = Annotated[str, Depends(preferred_language)]
# True for a call with the service token, False for one without (a wrong token is refused).
ServiceCallDep = Annotated[bool, Depends(is_service_call)]
# For `dependencies=[ServiceDep]`: routes only the gateway and the action server may call.
ServiceDep = Depends(require_service)


def get_sms_sender(request: Request) -> SmsSender:
    return sms_sender(request.app.state.settings)


# The SMS provider one-time codes go out through (api/identity/sms.py).
SmsDep = Annotated[SmsSender, Depends(get_sms_sender)]
