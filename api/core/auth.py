"""Authentication of service-to-service calls (gateway, actions) by a shared bearer token."""

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False)


# These dependencies only compare strings: as coroutines they run on the event loop, where a plain function
# would be sent to a worker thread and back on every request.


async def is_service_call(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> bool:
    """True for a call with the service token, False with none; a wrong token is refused."""
    if credentials is None:
        return False
    expected = request.app.state.settings.service_token
    if not expected or not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(403, "invalid service token")
    return True


async def require_service(service: Annotated[bool, Depends(is_service_call)]) -> None:
    if not service:
        raise HTTPException(401, "service token required", {"WWW-Authenticate": "Bearer"})
