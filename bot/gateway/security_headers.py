"""Browser-facing headers of every gateway response: what the web chat page may load and who may frame it."""

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(api_url: str, frame_ancestors: str) -> str:
    """The chat page loads only its own script and style and talks only to the gateway.

    Images are the exception: open-data charts come from the api's public address (another origin locally, https
    in production), so https images and the api's origin are allowed, and blob: for the thumbnail of a photo the
    citizen is sending, shown from their own device; images cannot run code.
    """
    api = urlsplit(api_url)
    api_origin = f"{api.scheme}://{api.netloc}" if api.scheme and api.netloc else ""
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": " ".join(filter(None, ["'self'", "data:", "blob:", "https:", api_origin])),
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": frame_ancestors,
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeaders:
    """Adds the headers to every response unless a route set its own (pure ASGI: streaming is untouched)."""

    def __init__(self, app: ASGIApp, content_security_policy: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            # Chart links and the like need not tell other sites which chat page the citizen was on.
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _value in message.get("headers", [])}
                extra = [(name, value) for name, value in self.headers if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
