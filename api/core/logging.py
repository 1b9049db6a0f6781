"""Which route a request matched, as the logs name it (the JSON log format itself is common.log_format)."""

from starlette.requests import Request


def route_of(request: Request) -> str:
    """The matched route's template (`/api/bookings/{code}`) rather than the path: ids in paths are personal data.

    A path no route matched carries no id of ours, and shows what was asked for.
    """
    route = request.scope.get("route")
    return getattr(route, "path", None) or request.url.path
