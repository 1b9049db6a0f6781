"""The action server's entry point: rasa_sdk's app, answering only callers that show ACTIONS_TOKEN.

rasa_sdk 3.6 has no authentication of its own and listens on every interface, so anyone who could reach
port 5055 could run `action_my_bookings` for any sender id with the api's SERVICE_TOKEN behind it.
Run it as `python -m actions.server` (Procfile, tests/support/stack.py), never `python -m rasa_sdk`.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from dataclasses import dataclass

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app as create_sdk_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions import api_client

logger = logging.getLogger(__name__)

# Liveness probes (the test stack, a container orchestrator) carry no secret; /health says nothing else.
OPEN_PATHS = frozenset({"/health"})


@dataclass(frozen=True)
class ActionServerSettings:
    """What the action server reads from the environment: the shared secret and where to listen."""

    token: str
    # Loopback: Rasa runs beside it. A container sets ACTIONS_HOST=0.0.0.0 (the token still guards it).
    host: str = "127.0.0.1"
    port: int = 5055

    @classmethod
    def from_env(cls) -> ActionServerSettings:
        return cls(
            token=os.environ.get("ACTIONS_TOKEN", ""),
            host=os.environ.get("ACTIONS_HOST", "127.0.0.1"),
            port=int(os.environ.get("ACTIONS_PORT", "5055")),
        )


def presents_token(authorization: str, token: str) -> bool:
    """Whether an `Authorization` header carries the shared secret as a bearer token."""
    scheme, _, presented = authorization.partition(" ")
    # With no secret configured an empty header would match an empty secret: refuse everyone instead.
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


def create_app(token: str, action_package: str = "actions") -> Sanic:
    """rasa_sdk's app (`/webhook`, `/actions`, `/health`) with every route but `/health` behind the token."""
    # No CORS: only Rasa calls this server, never a browser.
    app = create_sdk_app(action_package, cors_origins=None)

    @app.middleware("request")
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or presents_token(request.headers.get("authorization", ""), token):
            return None
        logger.warning("refused %s %s: no or wrong ACTIONS_TOKEN", request.method, request.path)
        return response.json({"error": "missing or wrong action server token"}, status=401)

    @app.listener("after_server_stop")
    async def close_api_connections(_app: Sanic, _loop: object) -> None:
        await api_client.close_pool()

    return app


def _arguments(settings: ActionServerSettings, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Paju action server (rasa_sdk behind ACTIONS_TOKEN)")
    parser.add_argument("--host", default=settings.host, help="interface to listen on (ACTIONS_HOST)")
    parser.add_argument("--port", type=int, default=settings.port, help="port to listen on (ACTIONS_PORT)")
    parser.add_argument("--actions", default="actions", help="package the actions are loaded from")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    settings = ActionServerSettings.from_env()
    arguments = _arguments(settings, argv)
    if not settings.token:
        sys.exit("ACTIONS_TOKEN is not set: the action server will not run open (make run writes one into .env)")
    utils.configure_colored_logging(logging.INFO)
    utils.update_sanic_log_level()
    app = create_app(settings.token, arguments.actions)
    logger.info("action server on http://%s:%s", arguments.host, arguments.port)
    app.run(arguments.host, arguments.port, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
