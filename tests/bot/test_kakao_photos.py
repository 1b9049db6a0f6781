"""Photos on KakaoTalk: the secure image plugin's addresses are downloaded from Kakao's image server only (the fake
Kakao serves them on loopback), bounded in size and time, and each is routed as a photo of its own."""

import asyncio
import json

import httpx
import pytest
import respx

from bot.gateway.api_client import ApiClient
from bot.gateway.app import create_app
from bot.gateway.channels.kakao import KakaoChannel, SkillRequest, photo_urls
from bot.gateway.channels.kakao_photos import KakaoPhotos, PhotoNotReceived, PhotoTooLarge, secure_urls
from bot.gateway.messages import IncomingMessage, Reply
from bot.gateway.rasa_client import RasaClient
from bot.gateway.router import MessageRouter
from bot.gateway.settings import GatewaySettings
from tests.support.fake_kakao import FakeKakao, bot_user_key
from tests.support.fake_telegram import small_jpeg
from tests.support.gateway_api import API, API_TOKEN, RECEIVED, jpeg, photo_files, stored_photos
from tests.support.kakao_limits import skill_response_breaches

SECRET = "kakao-skill-secret-for-the-photo-tests-0123"
HEADERS = {"X-Kakao-Skill-Secret": SECRET}
USER = bot_user_key("photo-citizen")
CLOSED_PORT = "http://127.0.0.1:9"
THANKS = "사진을 받았어요."
KAKAO_IMAGES = "https://secure.kakaocdn.net/dna/"


class Router:
    """Stands in for the router: keeps each message and thanks for it."""

    def __init__(self) -> None:
        self.handled: list[IncomingMessage] = []

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        self.handled.append(message)
        return [Reply(text=THANKS)]


class Api:
    async def enqueue_outbox(self, *args, **fields) -> None:
        raise AssertionError("nothing here should take the outbox")


@pytest.fixture
def kakao():
    fake = FakeKakao(skill_secret=SECRET).start()
    yield fake
    fake.stop()


def _gateway(router, fake: FakeKakao, **settings) -> tuple[httpx.AsyncClient, KakaoChannel]:
    quiet = {"api_url": CLOSED_PORT, "rasa_url": CLOSED_PORT, "telegram_bot_token": "", "kakao_skill_secret": SECRET}
    gateway_settings = GatewaySettings(
        _env_file=None, **quiet | {"kakao_image_url_prefixes": fake.image_url_prefix} | settings
    )
    app = create_app(gateway_settings)
    channel = KakaoChannel(gateway_settings, router, Api())
    app.state.kakao = channel
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"), channel


async def _ask(client: httpx.AsyncClient, body: dict) -> str:
    response = await client.post("/kakao/skill", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert skill_response_breaches(response.json()) == []
    return "\n".join(output["simpleText"]["text"] for output in response.json()["template"]["outputs"])


async def test_a_photo_from_the_secure_image_plugin_is_downloaded_from_kakao_and_routed_as_a_photo(kakao):
    router = Router()
    client, channel = _gateway(router, kakao)
    async with client:
        answer = await _ask(client, kakao.photo(USER, photos=[small_jpeg()], content_type="image/jpeg"))
    await channel.stop()
    assert answer == THANKS
    [message] = router.handled
    assert (message.channel, message.channel_user_id, message.text) == ("kakao", USER, "")
    assert (message.photo.data, message.photo.content_type) == (small_jpeg(), "image/jpeg")
    assert message.photo.filename.endswith(".jpg") and "?" not in message.photo.filename
    assert len(kakao.photo_downloads) == 1


async def test_each_of_several_photos_is_a_message_of_its_own_and_kakaos_retry_is_the_same_messages(kakao):
    router = Router()
    client, channel = _gateway(router, kakao)
    request = kakao.photo(USER, photos=[small_jpeg(), small_jpeg() + b"\x00"], content_type="image/jpeg")
    async with client:
        answer = await _ask(client, request)
        await _ask(client, request)  # Kakao sending the same request again
    await channel.stop()
    assert answer == f"{THANKS}\n{THANKS}"
    first, second, first_again, second_again = router.handled
    assert first.channel_message_id.endswith(":1") and second.channel_message_id.endswith(":2")
    assert second.photo.data == small_jpeg() + b"\x00"
    assert (first_again.channel_message_id, second_again.channel_message_id) == (
        first.channel_message_id,
        second.channel_message_id,
    )


async def test_a_photo_over_the_limit_is_refused_in_words_and_never_routed(kakao):
    router = Router()
    client, channel = _gateway(router, kakao, report_photo_max_bytes=100)
    async with client:
        answer = await _ask(client, kakao.photo(USER, lang="en", photos=[bytes(5000)]))
    await channel.stop()
    assert answer == "That photo is too large. Photos of up to 100 bytes are accepted."
    assert router.handled == []


async def test_a_photo_at_an_address_outside_kakaos_image_server_is_never_downloaded(kakao):
    router = Router()
    client, channel = _gateway(router, kakao, kakao_image_url_prefixes=KAKAO_IMAGES)
    async with client:
        answer = await _ask(client, kakao.photo(USER, photos=[small_jpeg()]))
    await channel.stop()
    assert answer == "사진을 받지 못했어요. 잠시 후 다시 보내 주세요."
    assert kakao.photo_downloads == [] and router.handled == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://secure.kakaocdn.net/dna/abc/img_org.jpg?credential=x&expires=1", True),
        ("http://secure.kakaocdn.net/dna/abc/img_org.jpg", False),  # not the scheme the city listed
        ("https://secure.kakaocdn.net/other/img.jpg", False),
        ("https://secure.kakaocdn.net.example.org/dna/img.jpg", False),
        ("https://secure.kakaocdn.net@169.254.169.254/dna/img.jpg", False),
        ("https://user@secure.kakaocdn.net/dna/img.jpg", False),
        ("https://secure.kakaocdn.net:8443/dna/img.jpg", False),
        ("https://SECURE.KAKAOCDN.NET/dna/img.jpg", True),
        ("https://[::1/dna/img.jpg", False),
        ("file:///etc/passwd", False),
    ],
)
def test_only_addresses_under_a_listed_prefix_are_allowed(url, allowed):
    assert KakaoPhotos([KAKAO_IMAGES], 1024, 1).allowed(url) is allowed


def test_the_plugins_secure_urls_are_read_from_params_or_detail_params_once_each():
    urls = "List(https://secure.kakaocdn.net/dna/a/img.jpg?credential=a,b&x=1, https://secure.kakaocdn.net/dna/b.jpg)"
    plugin = json.dumps({"privacyAgreement": "Y", "imageQuantity": "2", "secureUrls": urls})
    both = SkillRequest(
        user_id=USER, params={"secureimage": plugin}, detail_params={"secureimage": {"origin": plugin, "value": plugin}}
    )
    detail_only = SkillRequest(user_id=USER, detail_params={"photo": {"value": plugin}})
    expected = ["https://secure.kakaocdn.net/dna/a/img.jpg?credential=a,b&x=1", "https://secure.kakaocdn.net/dna/b.jpg"]
    assert photo_urls(both) == expected and photo_urls(detail_only) == expected
    assert secure_urls({"secureimage": {"secureUrls": "List(https://secure.kakaocdn.net/dna/c.jpg)"}}) == [
        "https://secure.kakaocdn.net/dna/c.jpg"
    ]
    assert secure_urls({"place": "파주시청", "secureimage": "{not json secureUrls"}) == []


async def test_a_download_that_takes_too_long_is_redirected_elsewhere_or_grows_too_large_is_given_up():
    photos = KakaoPhotos([KAKAO_IMAGES], 1024 * 1024, timeout_seconds=0.3)

    async def stalls(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, content=small_jpeg())

    sent_chunks = 0

    async def endless():
        nonlocal sent_chunks
        while True:
            sent_chunks += 1
            yield bytes(64 * 1024)

    with respx.mock(assert_all_called=False) as kakao_cdn:
        kakao_cdn.get(f"{KAKAO_IMAGES}slow.jpg").mock(side_effect=stalls)
        kakao_cdn.get(f"{KAKAO_IMAGES}moved.jpg").respond(302, headers={"Location": "http://169.254.169.254/"})
        elsewhere = kakao_cdn.get("http://169.254.169.254/").respond(200, content=b"secrets")
        kakao_cdn.get(f"{KAKAO_IMAGES}big.jpg").respond(200, headers={"Content-Length": str(2 * 1024 * 1024)})
        kakao_cdn.get(f"{KAKAO_IMAGES}endless.jpg").mock(
            side_effect=lambda request: httpx.Response(200, content=endless())
        )
        with pytest.raises(PhotoNotReceived):
            await photos.download(f"{KAKAO_IMAGES}slow.jpg")
        with pytest.raises(PhotoNotReceived):
            await photos.download(f"{KAKAO_IMAGES}moved.jpg")
        with pytest.raises(PhotoTooLarge):
            await photos.download(f"{KAKAO_IMAGES}big.jpg")
        with pytest.raises(PhotoTooLarge):  # no size declared: counted as it arrives, and cut off past the limit
            await photos.download(f"{KAKAO_IMAGES}endless.jpg")
    assert sent_chunks < 20
    assert not elsewhere.called
    await photos.close()


async def test_a_kakao_photo_reaches_the_assistant_as_its_photo_id_through_the_real_router(
    kakao, api_app, api_network, rasa
):
    api = ApiClient(API, API_TOKEN, 5)
    router = MessageRouter(api, RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(rasa)), 1000)
    client, channel = _gateway(router, kakao)
    async with client:
        answer = await _ask(client, kakao.photo(USER, photos=[jpeg()], content_type="image/jpeg"))
    await channel.stop()
    transcript = await api.transcript("kakao", USER)
    await api.close()

    assert answer == RECEIVED
    [photo] = stored_photos(api_app)
    assert (photo.channel, photo.channel_user_id) == ("kakao", USER) and len(photo_files(api_app)) == 1
    assert rasa.sent == [f'/report_photo{{"photo_id":{photo.id}}}']
    assert [(m["direction"], m["text"]) for m in transcript] == [("in", "[사진]"), ("out", RECEIVED)]


def test_the_fake_kakaos_settings_let_the_gateway_download_from_its_image_server_only(kakao, monkeypatch):
    for name, value in kakao.environment().items():
        monkeypatch.setenv(name, value)
    settings = GatewaySettings(_env_file=None)
    photos = KakaoPhotos.from_settings(settings.kakao_image_url_prefixes, 1024, 1)
    [url] = photo_urls(SkillRequest(user_id=USER, params=kakao.photo(USER)["action"]["params"]))
    assert photos.allowed(url) and not photos.allowed(f"{kakao.base_url}/callback/token")
