"""A fake Telegram Bot API on loopback, so gateway tests drive the real python-telegram-bot client against it."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import io
import itertools
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# python-telegram-bot JSON-encodes every parameter except strings, which it sends raw: without this list a
# text of "42" or "true" would come back as a number or a bool.
_TEXT_FIELDS = frozenset(
    {
        "text",
        "caption",
        "url",
        "secret_token",
        "callback_query_id",
        "parse_mode",
        "action",
        "photo",
        "language_code",
        "file_id",
    }
)
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
_MAX_POLL_SECONDS = 10.0
_CITIZENS = [("서연", "김"), ("민준", "이"), ("지우", "박"), ("하은", "최"), ("도윤", "정")]
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
    "as a content and reply markup of the current message"
)


@dataclass(frozen=True)
class StoredFile:
    """A file a citizen sent, as Telegram keeps it for bots: getFile names its path, the file route serves it."""

    file_unique_id: str
    file_path: str
    content: bytes


@functools.cache
def small_jpeg() -> bytes:
    """A real JPEG of a few hundred bytes: what a citizen's photo is when a test does not care which."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (40, 120, 60)).save(buffer, format="JPEG")
    return buffer.getvalue()


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def _error(status: int, description: str, parameters: dict | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


def _decode(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _TEXT_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # a plain string such as chat_id="@paju_news"


async def _parameters(request: Request) -> dict[str, Any]:
    """Query string, JSON body, url-encoded or multipart form: the Bot API accepts them all."""
    params: dict[str, Any] = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        params.update(json.loads(await request.body() or b"{}"))
    else:
        async with request.form() as form:
            for name, value in form.multi_items():
                is_file = isinstance(value, UploadFile)
                params[name] = {"filename": value.filename, "content": await value.read()} if is_file else value
    return {name: _decode(name, value) for name, value in params.items()}


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # Telegram counts entity offsets in UTF-16 code units


class LoopbackServer:
    """Serves an ASGI app with uvicorn on a free 127.0.0.1 port in a daemon thread."""

    def __init__(self, app: Any) -> None:
        # Binding here rather than passing port=0 to uvicorn lets us know the port before the thread starts.
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


# Telegram waits about a minute for a webhook to answer and tries a failed delivery again a few times.
WEBHOOK_TIMEOUT_SECONDS = 60
WEBHOOK_RETRY_SECONDS = 1.0


class FakeTelegram:
    """The Bot API methods the gateway uses, plus a citizen's side for injecting updates and a record of calls."""

    def __init__(self, token: str = "123456:TEST-TOKEN", webhook_attempts: int = 5) -> None:
        self.token = token
        self.webhook_attempts = webhook_attempts
        bot_id = int(token.split(":")[0])  # Telegram tokens start with the bot's user id
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": "파주 도우미", "username": "paju_helper_test_bot"}
        self.calls: list[tuple[str, dict]] = []
        self.webhook_deliveries: list[tuple[int, int | None]] = []  # (update_id, HTTP status or None if unreachable)
        self._lock = threading.RLock()  # the test thread injects while the server thread answers the bot
        self._stopping = False
        self._updates: list[dict] = []
        self._pushed: list[dict] = []  # every update ever sent, for redelivery
        self._update_ids = itertools.count(700_000_001)
        self._query_ids = itertools.count(4_382_000_000_000_000_001)
        self._last_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict] = {}
        self._chats: dict[int, dict] = {}
        self._failures: dict[str, list[tuple[int, str, dict | None]]] = {}
        self._webhook: dict[str, Any] = {}
        self._commands: list[dict] = []
        self._files: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self.downloads: list[str] = []  # the file paths the bot downloaded, in order
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outgoing: asyncio.Queue[tuple[dict, dict]] | None = None
        handlers: dict[str, Callable[[dict], Any]] = {
            "getMe": lambda p: {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False},
            "getUpdates": self._take_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": lambda p: self._set_webhook({"drop_pending_updates": p.get("drop_pending_updates")}),
            "getWebhookInfo": self._webhook_info,
            "sendMessage": lambda p: self._send(p, text=p["text"]),
            "sendPhoto": lambda p: self._send(p, photo=_photo_sizes("bot"), caption=p.get("caption")),
            "editMessageText": lambda p: self._edit(p, text=p["text"]),
            "editMessageReplyMarkup": self._edit,
            "answerCallbackQuery": lambda p: True,
            "sendChatAction": lambda p: True,
            "setMyCommands": lambda p: self._set_commands(p["commands"]),
            "deleteMyCommands": lambda p: self._set_commands([]),
            "getMyCommands": lambda p: self._commands,
            "getFile": self._get_file,
            "close": lambda p: True,
            "logOut": lambda p: True,
        }
        # Bot API method names are case-insensitive; calls are recorded under the documented spelling.
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}
        routes = [
            Route("/bot{token}/{method}", self._handle, methods=["GET", "POST"]),
            Route("/file/bot{token}/{file_path:path}", self._download, methods=["GET"]),
        ]
        self._server = LoopbackServer(Starlette(routes=routes, lifespan=self._lifespan))

    def start(self) -> FakeTelegram:
        self._server.start()
        return self

    def stop(self) -> None:
        self._stopping = True  # ends a pending long poll now instead of after its timeout
        self._server.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}/bot"

    # --- the citizen's side -------------------------------------------------------------------------------------

    def send_text(
        self, chat_id: int, text: str, user_id: int | None = None, chat_type: str = "private", language_code: str = "ko"
    ) -> int:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):  # CommandHandler only sees commands that carry a bot_command entity
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_length(text.split()[0])}]
        return self._citizen_message(chat_id, user_id, chat_type, language_code, content)

    def send_location(self, chat_id: int, latitude: float, longitude: float) -> int:
        return self._citizen_message(
            chat_id, None, "private", "ko", {"location": {"latitude": latitude, "longitude": longitude}}
        )

    def send_photo(
        self, chat_id: int, content: bytes | None = None, caption: str | None = None, language_code: str = "ko"
    ) -> int:
        """A photo from the citizen, kept as Telegram keeps one, in three sizes the bot can each download. The
        largest is `content` (a small JPEG when none is given); the smaller two stand in for Telegram's own
        rescaling with the first bytes of it, in proportion to their side."""
        content = small_jpeg() if content is None else content
        number = next(self._file_numbers)
        sizes = []
        with self._lock:
            for side in (90, 320, 1280):
                data = content if side == 1280 else content[: max(1, len(content) * side // 1280)]
                name = f"{number}-{side}"
                stored = self._store_file(f"AgACAgUAAxk-citizen-{name}", f"photos/file_{name}.jpg", data)
                sizes.append(stored | {"width": side, "height": side * 3 // 4})
        content_fields: dict[str, Any] = {"photo": sizes}
        if caption:
            content_fields["caption"] = caption
        return self._citizen_message(chat_id, None, "private", language_code, content_fields)

    def send_document(
        self, chat_id: int, content: bytes, mime_type: str, file_name: str, language_code: str = "ko"
    ) -> int:
        """A file from the citizen (an image sent as a file keeps its own bytes and name)."""
        number = next(self._file_numbers)
        suffix = file_name.rpartition(".")[2] if "." in file_name else "bin"
        with self._lock:
            stored = self._store_file(f"BQACAgUAAxk-document-{number}", f"documents/file_{number}.{suffix}", content)
        document = stored | {"file_name": file_name, "mime_type": mime_type}
        return self._citizen_message(chat_id, None, "private", language_code, {"document": document})

    def file(self, file_id: str) -> StoredFile:
        with self._lock:
            return self._files[file_id]

    def send_sticker(self, chat_id: int) -> int:
        sticker = {"file_id": "CAACAgUAAxkBAAIBHmZ", "file_unique_id": "AgADmZ", "type": "regular", "emoji": "👍"}
        sticker |= {"width": 512, "height": 512, "is_animated": False, "is_video": False}
        return self._citizen_message(chat_id, None, "private", "ko", {"sticker": sticker})

    def edit_text(self, chat_id: int, message_id: int, text: str) -> None:
        with self._lock:
            message = {**self._messages[(chat_id, message_id)], "text": text, "edit_date": int(time.time())}
            self._messages[(chat_id, message_id)] = message
            self._push({"edited_message": message})

    def press_button(self, chat_id: int, message_id: int, callback_data: str, user_id: int | None = None) -> str:
        with self._lock:
            message = self._messages.get((chat_id, message_id))
            if message is None or not message["from"]["is_bot"]:
                raise AssertionError(f"the bot sent no message {message_id} to chat {chat_id}")
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            buttons = [button.get("callback_data") for row in rows for button in row]
            if callback_data not in buttons:
                raise AssertionError(f"message {message_id} has no button {callback_data!r}, only {buttons}")
            query = {"id": str(next(self._query_ids)), "from": _citizen(chat_id, user_id, "ko")}
            query |= {"chat_instance": f"-{abs(chat_id)}7741", "data": callback_data, "message": _as_sent(message)}
            self._push({"callback_query": query})
        return query["id"]

    def redeliver(self, chat_id: int, message_id: int) -> int:
        """Sends the update that carried this citizen's message again, with its update_id, as Telegram does after a
        webhook call failed (or as a bot restarted without confirming it would get it); returns the update_id."""
        with self._lock:
            update = next(
                u for u in reversed(self._pushed)
                if u.get("message", {}).get("chat", {}).get("id") == chat_id
                and u["message"]["message_id"] == message_id
            )  # fmt: skip
            self._deliver(copy.deepcopy(update))
        return update["update_id"]

    # --- what the bot did ---------------------------------------------------------------------------------------

    def sent(self, chat_id: int) -> list[dict]:
        with self._lock:
            mine = [m for (chat, _), m in sorted(self._messages.items()) if chat == chat_id and m["from"]["is_bot"]]
            return [{**copy.deepcopy(m), "reply_markup": copy.deepcopy(m.get("reply_markup"))} for m in mine]

    def wait_for(self, predicate: Callable[[FakeTelegram], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                calls = "\n".join(f"  {name} {params}" for name, params in self.calls if name != "getUpdates")
                raise AssertionError(
                    f"not true after {timeout}s; the bot called (polls left out):\n{calls or '  nothing'}"
                )
            time.sleep(0.05)

    async def wait_for_async(self, predicate: Callable[[FakeTelegram], bool], timeout: float = 30) -> None:
        """wait_for for a test whose event loop also runs the bot, which a blocking wait would freeze."""
        await asyncio.to_thread(self.wait_for, predicate, timeout)

    def fail_next(
        self, method: str, status: int, description: str, retry_after: int | None = None, times: int = 1
    ) -> None:
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        with self._lock:
            self._failures.setdefault(method.lower(), []).extend([(status, description, parameters)] * times)

    # --- the server side ----------------------------------------------------------------------------------------

    async def _handle(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        if (entry := self._handlers.get(request.path_params["method"].lower())) is None:
            return _error(404, "Not Found")
        name, handler = entry
        params = await _parameters(request)
        with self._lock:
            self.calls.append((name, params))
            failures = self._failures.get(name.lower())
            if failures:
                return _error(*failures.pop(0))
            if name == "getUpdates" and not self._webhook:
                self._confirm_updates(params)
        deadline = time.monotonic() + min(float(params.get("timeout", 0)), _MAX_POLL_SECONDS)
        try:
            while True:
                with self._lock:
                    result = handler(params)
                # Only getUpdates answers an empty list; it waits for an update until its timeout.
                if name != "getUpdates" or result or time.monotonic() >= deadline or self._stopping:
                    return JSONResponse({"ok": True, "result": result})
                await asyncio.sleep(0.02)
        except _ApiError as error:
            return _error(error.status, error.description)
        except KeyError as missing:  # a 500 would reach the bot as a vague NetworkError
            return _error(400, f"Bad Request: parameter {missing} is required")

    def _confirm_updates(self, params: dict) -> None:
        """Once per getUpdates call, as Telegram does: a positive offset confirms every earlier update; a negative
        one keeps only the last -offset. A call still waiting (its bot may have died) confirms nothing more, so an
        update delivered again meanwhile stays for the next bot."""
        offset = params.get("offset") or 0
        self._updates = self._updates[offset:] if offset < 0 else [u for u in self._updates if u["update_id"] >= offset]

    def _take_updates(self, params: dict) -> list[dict]:
        if self._webhook:
            raise _ApiError(409, _WEBHOOK_CONFLICT)
        offset = params.get("offset") or 0
        pending = self._updates if offset < 0 else [u for u in self._updates if u["update_id"] >= offset]
        return pending[: params.get("limit") or 100]

    def _set_webhook(self, params: dict) -> bool:
        self._webhook = {"url": params["url"], "secret_token": params.get("secret_token")} if params.get("url") else {}
        if params.get("drop_pending_updates"):
            self._updates = []
        return True

    def _webhook_info(self, params: dict) -> dict:
        url = self._webhook.get("url", "")
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    def _store_file(self, file_id: str, file_path: str, content: bytes) -> dict:
        """Keeps a file for getFile and the file route; returns its fields as a message carries them."""
        unique_id = "AQAD" + file_id.partition("-")[2].replace("-", "")
        self._files[file_id] = StoredFile(unique_id, file_path, content)
        return {"file_id": file_id, "file_unique_id": unique_id, "file_size": len(content)}

    def _get_file(self, params: dict) -> dict:
        stored = self._files.get(params["file_id"])
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        fields = {"file_id": params["file_id"], "file_unique_id": stored.file_unique_id}
        return fields | {"file_size": len(stored.content), "file_path": stored.file_path}

    async def _download(self, request: Request) -> Response:
        """Telegram's file server: https://api.telegram.org/file/bot<token>/<file_path>."""
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.path_params["file_path"]
        with self._lock:
            stored = next((f for f in self._files.values() if f.file_path == path), None)
            if stored is not None:
                self.downloads.append(path)
        if stored is None:
            return _error(404, "Not Found")
        return Response(stored.content, media_type="application/octet-stream")

    def _set_commands(self, commands: list[dict]) -> bool:
        self._commands = commands
        return True

    def _send(self, params: dict, **content: Any) -> dict:
        chat_id = params["chat_id"]
        chat_type = "private" if isinstance(chat_id, int) and chat_id > 0 else "supergroup"  # group ids are negative
        chat = self._chats.get(chat_id, {"id": chat_id, "type": chat_type})
        content = {name: value for name, value in content.items() if value is not None}
        markup = {"reply_markup": params["reply_markup"]} if "reply_markup" in params else {}
        return _as_sent(self._store(chat, self.bot_user, content | markup))

    def _edit(self, params: dict, **content: Any) -> dict:
        key = (params.get("chat_id"), params.get("message_id"))
        if key not in self._messages or not self._messages[key]["from"]["is_bot"]:
            raise _ApiError(400, "Bad Request: message to edit not found")
        old = self._messages[key]
        # Like Telegram, an edit without reply_markup takes the keyboard away.
        new = {k: v for k, v in old.items() if k != "reply_markup"} | content
        if "reply_markup" in params:
            new["reply_markup"] = params["reply_markup"]
        if {k: v for k, v in new.items() if k != "edit_date"} == {k: v for k, v in old.items() if k != "edit_date"}:
            raise _ApiError(400, _NOT_MODIFIED)
        self._messages[key] = new | {"edit_date": int(time.time())}
        return _as_sent(self._messages[key])

    def _citizen_message(
        self, chat_id: int, user_id: int | None, chat_type: str, language_code: str, content: dict
    ) -> int:
        user = _citizen(chat_id, user_id, language_code)
        chat = {"id": chat_id, "type": chat_type}
        chat |= {"title": "운정 주민 모임"} if chat_type != "private" else {"first_name": user["first_name"]}
        with self._lock:
            message = self._store(self._chats.setdefault(chat_id, chat), user, content)
            self._push({"message": message})
        return message["message_id"]

    def _store(self, chat: dict, sender: dict, content: dict) -> dict:
        # Like a private chat, both sides share one message_id sequence per chat.
        message_id = self._last_message_id[chat["id"]] = self._last_message_id.get(chat["id"], 0) + 1
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat, "from": sender, **content}
        self._messages[(chat["id"], message_id)] = message
        return message

    def _push(self, content: dict) -> None:
        with self._lock:
            update = {"update_id": next(self._update_ids), **copy.deepcopy(content)}
            self._pushed.append(copy.deepcopy(update))
            self._deliver(update)

    def _deliver(self, update: dict) -> None:
        with self._lock:
            if not self._webhook:
                self._updates.append(update)
            elif self._loop is not None and self._outgoing is not None:
                self._loop.call_soon_threadsafe(self._outgoing.put_nowait, (dict(self._webhook), update))

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop, self._outgoing = asyncio.get_running_loop(), asyncio.Queue()
        worker = asyncio.create_task(self._post_to_webhook(self._outgoing))
        yield
        worker.cancel()

    async def _post_to_webhook(self, outgoing: asyncio.Queue[tuple[dict, dict]]) -> None:
        """Delivers each chat's updates one at a time and in order, different chats at once, and tries a failed
        delivery again after a pause, as Telegram does (it gives up after a few attempts)."""
        chats: dict[int, asyncio.Queue[tuple[dict, dict]]] = {}
        deliverers: list[asyncio.Task] = []
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS) as client:
            while True:
                webhook, update = await outgoing.get()
                chat_id = _chat_of(update)
                if chat_id not in chats:
                    chats[chat_id] = asyncio.Queue()
                    deliverers.append(asyncio.create_task(self._deliver_to_chat(client, chats[chat_id])))
                chats[chat_id].put_nowait((webhook, update))

    async def _deliver_to_chat(self, client: httpx.AsyncClient, queue: asyncio.Queue[tuple[dict, dict]]) -> None:
        while True:
            webhook, update = await queue.get()
            headers = {"X-Telegram-Bot-Api-Secret-Token": webhook["secret_token"]} if webhook["secret_token"] else {}
            for attempt in range(self.webhook_attempts):
                if attempt:
                    await asyncio.sleep(WEBHOOK_RETRY_SECONDS * attempt)
                try:
                    status: int | None = (await client.post(webhook["url"], json=update, headers=headers)).status_code
                except httpx.HTTPError:
                    status = None
                self.webhook_deliveries.append((update["update_id"], status))
                if status is not None and status < 300:
                    break


def _chat_of(update: dict) -> int:
    pressed = update.get("callback_query") or {}
    message = update.get("message") or update.get("edited_message") or pressed.get("message")
    return (message or {}).get("chat", {}).get("id", 0)


def _as_sent(message: dict) -> dict:
    # A Message only ever carries an inline keyboard; reply keyboards live on in sent() alone.
    markup = message.get("reply_markup")
    answer = copy.deepcopy(message)
    if markup is not None and "inline_keyboard" not in markup:
        del answer["reply_markup"]
    return answer


def _citizen(chat_id: int, user_id: int | None, language_code: str) -> dict:
    # In a private chat the chat id is the citizen's user id; in a group the test names the user.
    user_id = user_id if user_id is not None else abs(chat_id)
    first_name, last_name = _CITIZENS[user_id % len(_CITIZENS)]
    user = {"id": user_id, "is_bot": False, "first_name": first_name, "last_name": last_name}
    return user | {"language_code": language_code}


def _photo_sizes(owner: str) -> list[dict]:
    sizes = [{"width": side, "height": side, "file_unique_id": f"AQAD{owner}{side}"} for side in (90, 320, 1280)]
    return [size | {"file_id": f"AgACAgUAAxk-{owner}-{size['width']}"} for size in sizes]
