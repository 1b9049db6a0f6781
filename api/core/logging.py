"""Structured (JSON lines) logging with phone numbers redacted, for every Python process."""

import json
import logging
from datetime import UTC, datetime

from starlette.requests import Request

from api.core.privacy import redact_phones

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact_phones(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = redact_phones(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact_phones(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log repeats what our request middleware logs, with less context.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)


def route_of(request: Request) -> str:
    """The matched route's template (`/api/bookings/{code}`) rather than the path: ids in paths are personal data.

    A path no route matched carries no id of ours, and shows what was asked for.
    """
    route = request.scope.get("route")
    return getattr(route, "path", None) or request.url.path
