"""The fake Telegram Bot API against the real python-telegram-bot client, so gateway tests can trust it."""

import asyncio
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.gateway.channels.telegram import file_url
from tests.support.fake_telegram import FakeTelegram, LoopbackServer

CHAT = 5550101
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("예약하기", callback_data="book:42")]])


@pytest.fixture
def fake():
    telegram = FakeTelegram().start()
    yield telegram
    telegram.stop()


def _bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or fake.token, base_url=fake.base_url)


async def test_get_me_describes_the_fake_bot(fake):
    async with _bot(fake) as bot:
        me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "paju_helper_test_bot")


async def test_a_wrong_token_is_refused(fake):
    with pytest.raises(InvalidToken, match="rejected"):
        async with _bot(fake, "999:WRONG"):  # initialize() calls getMe
            pass
    assert fake.calls == []


async def test_send_message_is_recorded_with_numbers_as_numbers_and_the_keyboard_decoded(fake):
    async with _bot(fake) as bot:
        message = await bot.send_message(CHAT, "42", reply_markup=KEYBOARD)
    expected_keyboard = {"inline_keyboard": [[{"text": "예약하기", "callback_data": "book:42"}]]}
    assert fake.calls[-1] == ("sendMessage", {"chat_id": CHAT, "text": "42", "reply_markup": expected_keyboard})
    assert message.reply_markup == KEYBOARD and message.from_user.is_bot
    assert [(m["message_id"], m["text"], m["reply_markup"]) for m in fake.sent(CHAT)] == [(1, "42", expected_keyboard)]


def test_a_json_body_is_accepted_method_names_ignore_case_and_an_unknown_method_is_404(fake):
    url = f"{fake.base_url}{fake.token}"
    sent = httpx.post(
        f"{url}/SENDMESSAGE", json={"chat_id": CHAT, "text": "7", "reply_markup": '{"inline_keyboard": []}'}
    )
    assert sent.json()["result"]["text"] == "7"
    assert fake.calls == [("sendMessage", {"chat_id": CHAT, "text": "7", "reply_markup": {"inline_keyboard": []}})]
    assert httpx.post(f"{url}/sendCarrierPigeon").json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_send_photo_accepts_a_url_or_an_uploaded_file(fake):
    async with _bot(fake) as bot:
        await bot.send_photo(CHAT, "https://example.org/imjingak.jpg", caption="임진각")
        uploaded = await bot.send_photo(CHAT, b"\x89PNG fake bytes")
    assert fake.calls[-2][1]["photo"] == "https://example.org/imjingak.jpg"
    assert fake.calls[-1][1]["photo"]["content"] == b"\x89PNG fake bytes"
    assert uploaded.photo and [m["caption"] for m in fake.sent(CHAT) if "caption" in m] == ["임진각"]


async def test_a_citizens_photo_and_file_are_fetched_with_get_file_and_downloaded_from_the_file_route(fake):
    fake.send_photo(CHAT, b"\xff\xd8 a photo of a pothole", caption="포트홀")
    fake.send_document(CHAT, b"\x89PNG a streetlight", "image/png", "가로등.png")
    bot = Bot(fake.token, base_url=fake.base_url, base_file_url=file_url(fake.base_url))
    async with bot:
        photo, document = await bot.get_updates()
        largest = photo.message.photo[-1]
        photo_file = await bot.get_file(largest.file_id)
        document_file = await bot.get_file(document.message.document.file_id)
        photo_bytes = await photo_file.download_as_bytearray()
        document_bytes = await document_file.download_as_bytearray()
        with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
            await bot.get_file("no-such-file")
    assert (largest.width, largest.file_size, photo.message.caption) == (1280, 23, "포트홀")
    assert [size.file_size for size in photo.message.photo] == [1, 5, 23]
    assert photo_file.file_size == 23 and bytes(photo_bytes) == b"\xff\xd8 a photo of a pothole"
    assert (document.message.document.file_name, document.message.document.mime_type) == ("가로등.png", "image/png")
    assert bytes(document_bytes) == b"\x89PNG a streetlight"
    assert fake.downloads == ["photos/file_1-1280.jpg", "documents/file_2.png"]
    forged = httpx.get(f"{file_url(fake.base_url)}999:WRONG/documents/file_2.png")
    assert forged.status_code == 401


async def test_an_injected_text_arrives_by_get_updates_and_the_offset_forgets_it(fake):
    message_id = fake.send_text(CHAT, "/start 안녕하세요")
    async with _bot(fake) as bot:
        [update] = await bot.get_updates(timeout=1)
        again = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert update.message.message_id == message_id and update.message.text == "/start 안녕하세요"
    assert update.message.from_user.language_code == "ko" and update.message.chat.type == "private"
    assert update.message.entities[0].type == "bot_command" and again == ()


async def test_every_kind_of_injected_update_parses_as_a_telegram_update(fake):
    group_message = fake.send_text(-1009876, "/help@paju_helper_test_bot", user_id=CHAT, chat_type="supergroup")
    fake.send_photo(CHAT)
    fake.send_sticker(CHAT)
    fake.edit_text(-1009876, group_message, "/help")
    async with _bot(fake) as bot:
        group, photo, sticker, edited = await bot.get_updates()
    assert (group.message.chat.type, group.message.from_user.id, group.message.chat.title) == (
        "supergroup",
        CHAT,
        "운정 주민 모임",
    )
    assert photo.message.photo[-1].width == 1280 and sticker.message.sticker.emoji == "👍"
    assert edited.edited_message.text == "/help" and edited.edited_message.edit_date is not None


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(fake):
    asyncio.get_running_loop().call_later(0.3, fake.send_location, CHAT, 37.76, 126.78)
    async with _bot(fake) as bot:
        started = time.monotonic()
        [update] = await bot.get_updates(timeout=8)
    assert time.monotonic() - started < 3 and update.message.location.latitude == 37.76


async def test_a_button_press_arrives_with_its_data_and_the_message_it_belongs_to(fake):
    async with _bot(fake) as bot:
        sent = await bot.send_message(CHAT, "임진각 투어를 예약할까요?", reply_markup=KEYBOARD)
        query_id = fake.press_button(CHAT, sent.message_id, "book:42")
        [update] = await bot.get_updates()
        await update.callback_query.answer("접수했어요")
    query = update.callback_query
    assert (query.id, query.data, query.message.message_id) == (query_id, "book:42", sent.message_id)
    assert query.message.reply_markup == KEYBOARD
    assert fake.calls[-1] == ("answerCallbackQuery", {"callback_query_id": query_id, "text": "접수했어요"})
    with pytest.raises(AssertionError, match="no button"):
        fake.press_button(CHAT, sent.message_id, "book:43")


async def test_editing_without_a_keyboard_removes_it_and_an_identical_edit_is_refused(fake):
    async with _bot(fake) as bot:
        sent = await bot.send_message(CHAT, "좌석 확인 중", reply_markup=KEYBOARD)
        edited = await bot.edit_message_text("예약되었습니다", CHAT, sent.message_id)
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("예약되었습니다", CHAT, sent.message_id)
    assert edited.text == "예약되었습니다" and edited.reply_markup is None
    assert fake.sent(CHAT)[0]["reply_markup"] is None


async def test_fail_next_makes_send_message_raise_retry_after_then_forbidden(fake):
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    async with _bot(fake) as bot:
        with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
            await bot.send_message(CHAT, "첫 번째")
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(CHAT, "두 번째")
        await bot.send_message(CHAT, "세 번째")
    assert [m["text"] for m in fake.sent(CHAT)] == ["세 번째"]
    assert [params["text"] for name, params in fake.calls if name == "sendMessage"] == ["첫 번째", "두 번째", "세 번째"]


async def test_with_a_webhook_set_updates_are_posted_with_the_secret_and_polling_conflicts(fake):
    received: list[tuple[str | None, dict]] = []

    async def receive(request: Request) -> Response:
        received.append((request.headers.get("x-telegram-bot-api-secret-token"), await request.json()))
        return Response(status_code=200)

    receiver = LoopbackServer(Starlette(routes=[Route("/telegram", receive, methods=["POST"])]))
    receiver.start()
    try:
        async with _bot(fake) as bot:
            await bot.set_webhook(f"http://127.0.0.1:{receiver.port}/telegram", secret_token="paju-secret")
            fake.edit_text(CHAT, fake.send_text(CHAT, "운정역 가는 버스"), "운정역 가는 버스 알려줘")
            await fake.wait_for_async(lambda f: len(f.webhook_deliveries) == 2, timeout=10)
            with pytest.raises(Conflict):
                await bot.get_updates()
            info = await bot.get_webhook_info()
    finally:
        receiver.stop()
    assert info.url.endswith("/telegram") and [status for _, status in fake.webhook_deliveries] == [200, 200]
    assert [secret for secret, _ in received] == ["paju-secret", "paju-secret"]
    assert received[1][1]["edited_message"]["text"] == "운정역 가는 버스 알려줘"


async def test_an_application_polls_the_fake_and_replies(fake):
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"받았어요: {update.message.text}")

    application = Application.builder().token(fake.token).base_url(fake.base_url).build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    async with application:
        await application.updater.start_polling(poll_interval=0, timeout=5)
        await application.start()
        fake.send_text(CHAT, "분리수거 요일")
        await fake.wait_for_async(lambda f: len(f.sent(CHAT)) == 1, timeout=10)
        await application.updater.stop()
        await application.stop()
    assert fake.sent(CHAT)[0]["text"] == "받았어요: 분리수거 요일"


async def test_a_redelivered_update_comes_again_with_its_own_update_id_after_it_was_confirmed(fake):
    message_id = fake.send_text(CHAT, "안녕하세요")
    async with _bot(fake) as bot:
        [first] = await bot.get_updates(offset=0)
        assert await bot.get_updates(offset=first.update_id + 1) == ()  # confirmed, as a polling bot does
        assert fake.redeliver(CHAT, message_id) == first.update_id
        [again] = await bot.get_updates(offset=0)  # a restarted bot starts from no offset
    assert (again.update_id, again.message.message_id, again.message.text) == (
        first.update_id,
        message_id,
        "안녕하세요",
    )
