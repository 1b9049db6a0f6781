"""Photos on Telegram, with the real python-telegram-bot against the fake Bot API: a photo or an image sent as a
file is downloaded through the Bot API's file server and routed as a photo; one over the limit is refused before
any download; stickers, voice, video and other files keep a clear refusal."""

import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import respx
from PIL import Image

from bot.gateway.api_client import ApiClient
from bot.gateway.channels.telegram import TEXTS, TelegramChannel, file_url
from bot.gateway.messages import IncomingMessage, Reply
from bot.gateway.own_replies import photo_too_large
from bot.gateway.rasa_client import RasaClient
from bot.gateway.router import MessageRouter
from bot.gateway.settings import GatewaySettings
from tests.support.fake_telegram import FakeTelegram, small_jpeg

CHAT = 5550202
THANKS = "사진을 받았어요."


class Router:
    """Stands in for the router: keeps each message and thanks for it."""

    def __init__(self) -> None:
        self.handled: list[IncomingMessage] = []

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        self.handled.append(message)
        return [Reply(text=THANKS)]


@asynccontextmanager
async def telegram(router, **settings) -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram().start()
    gateway_settings = GatewaySettings(
        _env_file=None, telegram_bot_token=fake.token, telegram_base_url=fake.base_url, **settings
    )
    channel = TelegramChannel(gateway_settings, router)
    await channel.start()
    try:
        yield fake
    finally:
        await channel.stop()
        fake.stop()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 4), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


async def _answer(fake: FakeTelegram, before: int = 0) -> str:
    await fake.wait_for_async(lambda f: len(f.sent(CHAT)) > before, timeout=10)
    return fake.sent(CHAT)[-1]["text"]


def _sides_downloaded(fake: FakeTelegram) -> list[int]:
    """The sizes of the photos downloaded, by their side in pixels (photos/file_<n>-<side>.jpg)."""
    return [int(path.rsplit("-", 1)[1].removesuffix(".jpg")) for path in fake.downloads]


def test_files_come_from_the_bot_apis_file_server_beside_its_methods():
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url("http://bot-api.internal/telegram/bot{token}") == "http://bot-api.internal/telegram/file/bot{token}"


async def test_a_photo_is_downloaded_in_its_largest_size_and_routed_with_its_caption():
    router = Router()
    async with telegram(router) as fake:
        photo = small_jpeg() * 4  # bytes the gateway passes on as they are: the api decides what they are
        fake.send_photo(CHAT, photo, caption="가로등이 꺼졌어요")
        assert await _answer(fake) == THANKS
    [message] = router.handled
    assert (message.channel, message.channel_user_id, message.text) == ("telegram", str(CHAT), "가로등이 꺼졌어요")
    assert message.photo.data == photo and message.photo.content_type == "image/jpeg"
    assert message.photo.filename.endswith(".jpg")
    assert _sides_downloaded(fake) == [1280]


async def test_the_largest_size_within_the_limit_is_taken_when_the_original_is_over_it():
    router = Router()
    photo = bytes(range(256)) * 40  # 10,240 bytes; Telegram's 320 px copy stands in as its first 2,560
    async with telegram(router, report_photo_max_bytes=4000) as fake:
        fake.send_photo(CHAT, photo)
        assert await _answer(fake) == THANKS
    [message] = router.handled
    assert message.photo.data == photo[:2560]
    assert _sides_downloaded(fake) == [320]


async def test_a_photo_over_the_limit_in_every_size_is_refused_in_words_without_downloading_it():
    router = Router()
    async with telegram(router, report_photo_max_bytes=10) as fake:
        fake.send_photo(CHAT, small_jpeg())
        refusal = await _answer(fake)
    assert refusal == photo_too_large(10, "ko").text == "사진이 너무 커요. 10바이트까지의 사진만 받을 수 있어요."
    assert fake.downloads == [] and router.handled == []


async def test_an_image_sent_as_a_file_is_taken_as_a_photo_with_its_type_and_name():
    router = Router()
    async with telegram(router) as fake:
        fake.send_document(CHAT, _png(), "image/png", "포트홀.png")
        assert await _answer(fake) == THANKS
        fake.send_document(CHAT, b"RIFF0000WEBPVP8 ", "image/webp", "sidewalk.webp", language_code="en")
        assert await _answer(fake, 1) == THANKS
    png, webp = router.handled
    assert (png.photo.data, png.photo.content_type, png.photo.filename) == (_png(), "image/png", "포트홀.png")
    assert (webp.photo.content_type, webp.language_hint) == ("image/webp", "en")


async def test_an_image_file_over_the_limit_is_refused_in_the_citizens_language_without_downloading_it():
    router = Router()
    async with telegram(router, report_photo_max_bytes=2 * 1024 * 1024) as fake:
        fake.send_document(CHAT, b"\xff\xd8" + bytes(3 * 1024 * 1024), "image/jpeg", "scan.jpg", language_code="en")
        refusal = await _answer(fake)
    assert refusal == "That photo is too large. Photos of up to 2 MB are accepted."
    assert fake.downloads == [] and router.handled == []


async def test_other_files_and_stickers_are_refused_saying_that_text_locations_and_photos_are_read():
    router = Router()
    async with telegram(router) as fake:
        fake.send_document(CHAT, b"%PDF-1.7", "application/pdf", "민원서류.pdf")
        assert (
            await _answer(fake)
            == TEXTS["media"]["ko"]
            == "저는 글, 위치, 사진만 읽을 수 있어요. 궁금한 것은 글로 적어 주세요."
        )
        fake.send_sticker(CHAT)
        assert await _answer(fake, 1) == TEXTS["media"]["ko"]
        fake.send_document(CHAT, b"GIF89a", "image/gif", "funny.gif", language_code="en")
        assert await _answer(fake, 2) == "I can read text, locations and photos only. Please type your question."
    assert fake.downloads == [] and router.handled == []


async def test_a_photo_telegram_cannot_serve_is_answered_with_a_request_to_send_it_again():
    router = Router()
    async with telegram(router) as fake:
        fake.fail_next("getFile", 400, "Bad Request: file is too big")
        fake.send_photo(CHAT)
        assert await _answer(fake) == "사진을 받지 못했어요. 잠시 후 다시 보내 주세요."
    assert router.handled == []


async def test_a_photo_the_api_refuses_gets_the_apis_words_in_the_chat():
    """The whole way: the real router, the api's refusal (respx) and the chat the citizen reads."""
    refusal = "사진 파일이 아니에요. 사진을 보내 주세요."
    with respx.mock(base_url="http://api.test", assert_all_called=False) as api:
        api.route(host="127.0.0.1").pass_through()  # the fake Bot API
        api.post("/api/conversations/turns").respond(
            200,
            json={"message_id": 41, "conversation_id": 7, "mode": "bot", "duplicate": False, "replies": []},
        )
        api.post("/api/conversations/messages/41/lease").respond(200, json={})
        ended = api.post("/api/conversations/turns/41/end").respond(200, json={})
        photos = api.post("/api/reports/photos").respond(422, json={"detail": refusal, "code": "photo_not_image"})
        client = ApiClient("http://api.test", "token", 5)
        rasa = RasaClient("http://127.0.0.1:9", 2)
        async with telegram(MessageRouter(client, rasa, 1000)) as fake:
            fake.send_photo(CHAT, b"not a photo at all")
            assert await _answer(fake) == refusal
        await client.close()
    assert photos.calls.last.request.content.count(b"not a photo at all") == 1
    assert json.loads(ended.calls.last.request.content)["replies"] == [{"text": refusal}]
