"""The Telegram channel: python-telegram-bot inside the gateway, polling or webhook, one handler per update kind."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import operator
from datetime import timedelta
from typing import Any

import httpx
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    PhotoSize,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.gateway.api_client import ApiUnavailable
from bot.gateway.channels.telegram_render import InlineButton, TelegramMessage, outbox_reply, render
from bot.gateway.messages import IncomingMessage, Photo, Reply
from bot.gateway.outbox import Delivery
from bot.gateway.own_replies import own_reply, photo_too_large
from bot.gateway.rate_limits import GatewayLimits, RateLimited
from bot.gateway.router import MessageRouter, TurnInProgress
from bot.gateway.settings import GatewaySettings
from common.button_keys import KEY_PREFIX

logger = logging.getLogger(__name__)

TEXTS = {
    "media": {
        "ko": "저는 글, 위치, 사진만 읽을 수 있어요. 궁금한 것은 글로 적어 주세요.",
        "en": "I can read text, locations and photos only. Please type your question.",
    },
    "group": {
        "ko": "개인 정보 보호를 위해 그룹 대화에서는 답하지 않아요. 저와 1:1 대화로 물어봐 주세요.",
        "en": "To protect personal data I don't answer in group chats. Please message me directly.",
    },
    "retry": {
        "ko": "지금은 메시지를 처리할 수 없어요. 잠시 후 다시 보내 주세요.",
        "en": "I can't process messages right now. Please send yours again in a moment.",
    },
}
# Images sent as files that are taken as photos, and the ending of a name for one that came without a name.
IMAGE_DOCUMENTS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
# Telegram shows every photo as JPEG.
PHOTO_TYPE = "image/jpeg"
# A photo of up to 10 MiB may take a while to come from Telegram's file server.
DOWNLOAD_TIMEOUT_SECONDS = 30.0
# The answers that ask the citizen to send the same again: the api or Rasa could not be reached.
APOLOGIES = {*TEXTS["retry"].values(), *(own_reply("assistant_down", language).text for language in ("ko", "en"))}


class PhotoTooLarge(Exception):
    """Telegram's file is larger than the gateway takes."""


def file_url(base_url: str) -> str:
    """Where the Bot API serves files, beside its methods: https://api.telegram.org/bot → …/file/bot (so for a
    self-hosted Bot API server or the tests' fake, whatever TELEGRAM_BASE_URL points at)."""
    head, found, tail = base_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if found else base_url


def largest_fitting(sizes: tuple[PhotoSize, ...], max_bytes: int) -> PhotoSize | None:
    """The largest of the sizes Telegram keeps of a photo that is not over the limit (one that does not say its
    size is checked once downloaded); None when every size is over it."""
    fitting = [size for size in sizes if size.file_size is None or size.file_size <= max_bytes]
    return max(fitting, key=lambda size: size.width * size.height, default=None)


def _language(update: Update) -> str:
    user = update.effective_user
    return "en" if user and user.language_code and not user.language_code.startswith("ko") else "ko"


class TelegramChannel:
    """Turns Telegram updates into the gateway's messages and the assistant's replies into Telegram messages.

    Group chats are declined with a message: a citizen's bookings and personal data do not belong
    in a shared chat.
    """

    def __init__(self, settings: GatewaySettings, router: MessageRouter, limits: GatewayLimits | None = None) -> None:
        self._router = router
        self._limits = limits
        self._webhook_url = settings.telegram_webhook_url
        self._webhook_secret = settings.telegram_webhook_secret
        self._photo_max_bytes = settings.report_photo_max_bytes
        builder = Application.builder().token(settings.telegram_bot_token).concurrent_updates(True)
        if settings.telegram_base_url:
            builder = builder.base_url(settings.telegram_base_url).base_file_url(file_url(settings.telegram_base_url))
        if self._webhook_url:
            builder = builder.updater(None)
        self.application = builder.build()
        self._add_handlers()

    def _add_handlers(self) -> None:
        app = self.application
        # Before every other handler (group -1), whether the update came by polling or by the webhook.
        app.add_handler(TypeHandler(Update, self._within_limits), group=-1)
        # Edited messages are ignored: only new messages and button presses are handled.
        new = filters.UpdateType.MESSAGE
        app.add_handler(MessageHandler(new & filters.ChatType.GROUPS, self._on_group))
        private = new & filters.ChatType.PRIVATE
        app.add_handler(CommandHandler(["start", "help", "language"], self._on_command, filters=private))
        app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, self._on_text))
        app.add_handler(MessageHandler(private & filters.LOCATION, self._on_location))
        app.add_handler(MessageHandler(private & filters.PHOTO, self._on_photo))
        images = functools.reduce(operator.or_, (filters.Document.MimeType(kind) for kind in IMAGE_DOCUMENTS))
        app.add_handler(MessageHandler(private & images, self._on_image_document))
        app.add_handler(CallbackQueryHandler(self._on_button))
        app.add_handler(
            MessageHandler(
                new & (filters.PHOTO | filters.Sticker.ALL | filters.VOICE | filters.Document.ALL | filters.VIDEO),
                self._on_media,
            )
        )

    async def start(self) -> None:
        await self.application.initialize()
        await self.application.start()
        if self._webhook_url:
            await self.application.bot.set_webhook(self._webhook_url, secret_token=self._webhook_secret or None)
        else:
            await self.application.updater.start_polling()
        logger.info("telegram started", extra={"mode": "webhook" if self._webhook_url else "polling"})

    async def stop(self) -> None:
        if self.application.updater and self.application.updater.running:
            await self.application.updater.stop()
        await self.application.stop()
        await self.application.shutdown()

    async def process_webhook(self, body: dict) -> None:
        await self.application.process_update(Update.de_json(body, self.application.bot))

    # --- handlers ---------------------------------------------------------------------------------

    async def _within_limits(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Counts the update for its chat; past the limit it goes no further, and the chat is told once."""
        chat = update.effective_chat
        if self._limits is None or chat is None:
            return
        try:
            await self._limits.hit(("telegram_per_chat", str(chat.id)))
        except RateLimited as refused:
            if await self._limits.first_refusal("telegram_per_chat", str(chat.id)):
                with contextlib.suppress(TelegramError):
                    await self.application.bot.send_message(chat.id, refused.message(_language(update)))
            raise ApplicationHandlerStop from None

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        await self._route(
            update, IncomingMessage(**self._ids(update), text=message.text, language_hint=_language(update))
        )

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        command = update.effective_message.text.split()[0].lstrip("/").split("@")[0]
        incoming = IncomingMessage(
            **self._ids(update), text=f"/{command}", command=command, language_hint=_language(update)
        )
        await self._route(update, incoming)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        data = query.data or ""
        title = _pressed_title(query.message, data)
        # Show the choice in place of the buttons, so an old keyboard cannot be pressed twice; its links stay, as
        # opening one again asks nothing of the assistant.
        keyboard = _keyboard_rows(query.message)
        links = [row for row in ([button for button in row if button.url] for row in keyboard) if row]
        with contextlib.suppress(TelegramError):
            await query.edit_message_text(f"{query.message.text}\n\n✔ {title}", reply_markup=_inline_markup(links))
        # A long payload travelled as its short key; the api finds it among the buttons it offered.
        pressed = {"payload_key": data} if data.startswith(KEY_PREFIX) else {"payload": data}
        incoming = IncomingMessage(
            channel="telegram",
            channel_user_id=str(update.effective_user.id),
            channel_message_id=f"cb:{query.id}",
            text=title,
            language_hint=_language(update),
            **pressed,
        )
        await self._route(update, incoming, keyboard)

    async def _on_location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        location = update.effective_message.location
        incoming = IncomingMessage(
            **self._ids(update), location=(location.latitude, location.longitude), language_hint=_language(update)
        )
        await self._route(update, incoming)

    async def _on_photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        size = largest_fitting(update.effective_message.photo, self._photo_max_bytes)
        if size is None:
            await update.effective_message.reply_text(photo_too_large(self._photo_max_bytes, _language(update)).text)
            return
        await self._route_photo(update, size.file_id, PHOTO_TYPE, f"{size.file_unique_id}.jpg")

    async def _on_image_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        document = update.effective_message.document
        if document.file_size is not None and document.file_size > self._photo_max_bytes:
            await update.effective_message.reply_text(photo_too_large(self._photo_max_bytes, _language(update)).text)
            return
        name = document.file_name or f"{document.file_unique_id}{IMAGE_DOCUMENTS[document.mime_type]}"
        await self._route_photo(update, document.file_id, document.mime_type, name)

    async def _route_photo(self, update: Update, file_id: str, content_type: str, filename: str) -> None:
        message = update.effective_message
        language = _language(update)
        try:
            data = await self._download(file_id)
        except PhotoTooLarge:
            await message.reply_text(photo_too_large(self._photo_max_bytes, language).text)
            return
        except TelegramError as error:
            logger.warning("telegram photo not downloaded", extra={"error": f"{type(error).__name__}: {error}"})
            await message.reply_text(own_reply("photo_not_received", language).text)
            return
        incoming = IncomingMessage(
            **self._ids(update),
            text=message.caption or "",
            photo=Photo(data, content_type, filename),
            language_hint=language,
        )
        await self._route(update, incoming)

    async def _download(self, file_id: str) -> bytes:
        """The file's bytes from Telegram's file server; PhotoTooLarge, before downloading when Telegram says its
        size, if it is over the limit."""
        file = await self.application.bot.get_file(file_id)
        if file.file_size is not None and file.file_size > self._photo_max_bytes:
            raise PhotoTooLarge
        data = await file.download_as_bytearray(read_timeout=DOWNLOAD_TIMEOUT_SECONDS)
        if len(data) > self._photo_max_bytes:
            raise PhotoTooLarge
        return bytes(data)

    async def _on_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(TEXTS["media"][_language(update)])

    async def _on_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        bot = context.bot
        addressed = message.text and (f"@{bot.username}" in message.text or message.chat.type == ChatType.PRIVATE)
        if addressed or (message.reply_to_message and message.reply_to_message.from_user.id == bot.id):
            await message.reply_text(TEXTS["group"][_language(update)])

    # --- routing and sending ----------------------------------------------------------------------

    @staticmethod
    def _ids(update: Update) -> dict:
        return {
            "channel": "telegram",
            "channel_user_id": str(update.effective_user.id),
            "channel_message_id": str(update.effective_message.message_id),
        }

    async def _route(
        self, update: Update, incoming: IncomingMessage, pressed_keyboard: list[list[InlineButton]] | None = None
    ) -> None:
        chat_id = update.effective_chat.id
        typing = asyncio.create_task(self._typing(chat_id))
        try:
            replies = await self._router.handle(incoming)
        except ApiUnavailable:
            replies = [Reply(text=TEXTS["retry"][_language(update)])]
        except TurnInProgress:
            # Telegram delivered the update again while it is still being answered: that turn sends the answer.
            replies = []
        finally:
            typing.cancel()
        # The answer to a shared location takes away the location button's keyboard, if one was shown.
        messages = render(replies, remove_keyboard=incoming.location is not None)
        if pressed_keyboard and replies and all(reply.text in APOLOGIES for reply in replies):
            # The press was not answered and its keyboard is gone: the apology brings it back to press again.
            messages[-1].keyboard = pressed_keyboard
        for message in messages:
            await self._send(chat_id, message)

    async def _typing(self, chat_id: int) -> None:
        # Telegram shows "typing…" for 5 seconds per action: repeat while the assistant works.
        with contextlib.suppress(Exception):
            while True:
                await self.application.bot.send_chat_action(chat_id, ChatAction.TYPING)
                await asyncio.sleep(4)

    async def deliver(self, message: dict[str, Any]) -> Delivery:
        """Sends one outbox message; Telegram's answer decides whether and when to try again."""
        reply = outbox_reply(message)
        chat_id = int(message["channel_user_id"])
        sent_id = None
        try:
            for part in render([reply]):
                sent_id = await self._send(chat_id, part)
        except RetryAfter as error:
            return Delivery("retry", error=str(error), retry_after=_seconds(error.retry_after))
        except Forbidden as error:
            # The citizen blocked the bot (or deleted their account): retrying cannot help.
            return Delivery("unreachable", error=str(error))
        except BadRequest as error:
            status = "unreachable" if "chat not found" in str(error).lower() else "failed"
            return Delivery(status, error=str(error))
        except NetworkError as error:  # includes timeouts: try again with backoff
            return Delivery("retry", error=f"{type(error).__name__}: {error}")
        return Delivery("delivered", channel_message_id=str(sent_id))

    async def _send(self, chat_id: int, message: TelegramMessage) -> int:
        markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None
        if message.keyboard:
            markup = _inline_markup(message.keyboard)
        elif message.location_button:
            # Telegram asks the citizen before it shares the location; one-time hides the keyboard once pressed.
            markup = ReplyKeyboardMarkup(
                [[KeyboardButton(message.location_button, request_location=True)]],
                one_time_keyboard=True,
                resize_keyboard=True,
            )
        elif message.remove_keyboard:
            markup = ReplyKeyboardRemove()
        if message.photo:
            photo = await _image_bytes(message.photo)
            sent = await self.application.bot.send_photo(chat_id, photo, reply_markup=markup)
        else:
            sent = await self.application.bot.send_message(chat_id, message.text, reply_markup=markup)
        return sent.message_id


def _inline_markup(rows: list[list[InlineButton]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button.title, callback_data=button.callback_data, url=button.url) for button in row]
            for row in rows
        ]
    )


def _keyboard_rows(message: Any) -> list[list[InlineButton]]:
    keyboard = message.reply_markup.inline_keyboard if message and message.reply_markup else []
    return [[InlineButton(button.text, button.callback_data, button.url) for button in row] for row in keyboard]


def _pressed_title(message: Any, data: str) -> str:
    """The title of the pressed button, read from the keyboard it was pressed on."""
    keyboard = message.reply_markup.inline_keyboard if message and message.reply_markup else []
    return next((button.text for row in keyboard for button in row if button.callback_data == data), data)


async def _image_bytes(url: str) -> bytes | str:
    """The image itself: Telegram's servers cannot fetch a chart from the city's internal api address."""
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(url)
            response.raise_for_status()
            return response.content
    except httpx.HTTPError:
        logger.warning("image not fetched; passing its address to Telegram", extra={"url": url})
        return url


def _seconds(retry_after: int | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)
