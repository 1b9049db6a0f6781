"""Refuses a JSON request body whose strings are not Unicode text, before any route stores or echoes them."""

import json
from collections.abc import Iterator

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.errors import InvalidInput, error_response


class InvalidText(InvalidInput):
    code = "invalid_text"


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def has_unstorable_text(body: bytes) -> bool:
    """Whether the JSON spells half a surrogate pair alone (`"\\ud800"`) or a NUL character (`"\\u0000"`).

    Python's JSON decoder turns the first into a str that nothing encodes as UTF-8: not the database, not
    the log, not the response that echoes it back; PostgreSQL's text columns cannot hold the second.
    Pydantic lets both through untouched in a free-form field.
    """
    if b"\\u" not in body:
        return False
    try:
        decoded = json.loads(body)
    except ValueError:
        # Not JSON at all: the route says so in its own words.
        return False
    for text in _strings(decoded):
        if "\x00" in text:
            return True
        try:
            text.encode()
        except UnicodeEncodeError:
            return True
    return False


def _may_be_json(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
    return not content_type or content_type == b"application/json" or content_type.endswith(b"+json")


class RefuseUnstorableText:
    """Reads a JSON body whole, answers 422 if it has a lone surrogate, and hands it on unchanged otherwise.

    Installed inside the body-size limit, so what it holds in memory has already been counted.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _may_be_json(scope):
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        while not received or (received[-1]["type"] == "http.request" and received[-1].get("more_body", False)):
            received.append(await receive())
        body = b"".join(message.get("body", b"") for message in received if message["type"] == "http.request")
        if has_unstorable_text(body):
            refusal = InvalidText(
                "The request has text that is not valid Unicode.", "요청에 올바르지 않은 문자가 들어 있어요."
            )
            await error_response(Request(scope), refusal)(scope, receive, send)
            return

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)
