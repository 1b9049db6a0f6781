"""The credential the api and the gateway show Rasa's HTTP API: a short-lived JWT in the Authorization header.

Rasa 3.6 reads `--auth-token` only from a `?token=` query parameter, and URLs end up in error messages,
logs and the console; a JWT signed with RASA_JWT_SECRET (`rasa run --jwt-secret ... --jwt-method HS256`)
travels in a header, expires within minutes and never reveals the secret itself.
"""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

from common.clock import utcnow

LIFETIME = timedelta(minutes=5)


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rasa_jwt(secret: str, caller: str) -> str:
    """An HS256 JWT that Rasa's `requires_auth` accepts for every route: role `admin` (role `user` would only
    reach the conversation named like the user)."""
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"user": {"username": caller, "role": "admin"}, "exp": int((utcnow() + LIFETIME).timestamp())}
    signing_input = ".".join(_segment(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_segment(signature)}"


def rasa_authorization(secret: str, caller: str) -> dict[str, str]:
    """The header for one call to Rasa; none without a secret, so that Rasa refuses the call (401)."""
    return {"Authorization": f"Bearer {rasa_jwt(secret, caller)}"} if secret else {}
