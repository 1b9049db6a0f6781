"""The web chat's photo button and location button: a photo goes to POST /web/photos with the chat's signed identity,
a location as a message; the page carries both buttons and shows the citizen's photo from their own device."""

import re
import uuid
from pathlib import Path

import httpx
import pytest

from bot.gateway.api_client import ApiClient
from bot.gateway.app import create_app as create_gateway
from bot.gateway.channels import web
from bot.gateway.rasa_client import RasaClient
from bot.gateway.rate_limits import GatewayLimits
from bot.gateway.router import MessageRouter
from bot.gateway.settings import GatewaySettings
from tests.support.gateway_api import API, API_TOKEN, RECEIVED, Rasa, jpeg, noisy_jpeg, photo_files, stored_photos

SECRET = "web-session-secret-for-the-photo-tests-0123"
STATIC = Path(web.__file__).resolve().parents[1] / "static"
MIB = 1024 * 1024


def _browser(rasa: Rasa, **settings) -> httpx.AsyncClient:
    """A browser on the gateway app (without its lifespan) in front of the api."""
    gateway_settings = GatewaySettings(_env_file=None, service_token=API_TOKEN, web_session_secret=SECRET, **settings)
    gateway = create_gateway(gateway_settings)
    gateway.state.api = ApiClient(API, API_TOKEN, 5)
    rasa_client = RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(rasa))
    gateway.state.router = MessageRouter(gateway.state.api, rasa_client, 1000)
    gateway.state.limits = GatewayLimits(gateway_settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://testserver")


async def _send_photo(
    browser: httpx.AsyncClient, content: bytes, *, language: str = "ko", name: str = "pothole.jpg"
) -> httpx.Response:
    form = {"message_id": uuid.uuid4().hex, "language": language}
    return await browser.post("/web/photos", data=form, files={"file": (name, content, "image/jpeg")})


async def test_a_photo_from_the_web_chat_is_the_citizens_own_and_the_assistant_gets_its_id(api_app, api_network, rasa):
    async with _browser(rasa) as browser:
        await browser.get("/")
        user_id = browser.cookies[web.COOKIE].partition(".")[0]
        await browser.post("/web/messages", json={"message_id": uuid.uuid4().hex, "text": "가로등이 고장났어요"})
        answered = await _send_photo(browser, jpeg())
        history = (await browser.get("/web/history")).json()

    assert answered.status_code == 200, answered.text
    assert [reply["text"] for reply in answered.json()["replies"]] == [RECEIVED]
    [photo] = stored_photos(api_app)
    assert (photo.channel, photo.channel_user_id) == ("web", user_id)
    assert len(photo_files(api_app)) == 1
    assert rasa.sent == ["가로등이 고장났어요", f'/report_photo{{"photo_id":{photo.id}}}']
    # One conversation: the photo is in the same transcript as the words, and no address of it anywhere.
    assert [(m["direction"], m["text"]) for m in history if m["direction"] == "in"] == [
        ("in", "가로등이 고장났어요"),
        ("in", "[사진]"),
    ]
    assert "image" not in history[2] or history[2]["image"] is None


async def test_a_file_that_is_no_photo_is_answered_in_the_chat_with_the_apis_words(api_app, api_network, rasa):
    async with _browser(rasa) as browser:
        refused = await _send_photo(browser, b"Dear city, see attached.\n", language="en", name="letter.jpg")
    assert refused.status_code == 200
    assert [reply["text"] for reply in refused.json()["replies"]] == [
        "That file is not a photo I can use. Please send a JPEG, PNG or WebP picture."
    ]
    assert stored_photos(api_app) == [] and photo_files(api_app) == [] and rasa.sent == []


@pytest.mark.parametrize("api_settings", [{"report_photo_max_bytes": MIB}])
async def test_a_photo_the_gateway_takes_but_over_the_apis_limit_is_answered_with_the_apis_words(
    api_app, api_network, rasa
):
    photo = noisy_jpeg(1200)
    assert MIB < len(photo) < 2 * MIB
    async with _browser(rasa, report_photo_max_bytes=2 * MIB) as browser:
        refused = await _send_photo(browser, photo)
    assert refused.status_code == 200
    assert [reply["text"] for reply in refused.json()["replies"]] == [
        "사진이 너무 커요. 1메가바이트보다 작은 사진을 보내 주세요."
    ]
    assert stored_photos(api_app) == [] and photo_files(api_app) == [] and rasa.sent == []


async def test_the_photo_route_takes_a_photo_larger_than_any_message_and_no_more_than_the_photo_limit(
    api_app, api_network, rasa
):
    photo = noisy_jpeg(1200)
    assert MIB < len(photo) < 2 * MIB
    async with _browser(rasa, report_photo_max_bytes=2 * MIB) as browser:
        taken = await _send_photo(browser, photo)
        too_long = await browser.post("/web/messages", json={"message_id": uuid.uuid4().hex, "text": "가" * 400_000})
        too_large = await _send_photo(browser, bytes(3 * MIB))
    assert taken.status_code == 200
    assert [reply["text"] for reply in taken.json()["replies"]] == [RECEIVED]
    assert too_long.status_code == 413
    assert too_large.status_code == 413
    assert too_large.json()["detail"] == "요청이 너무 커요. 2 MiB까지만 받을 수 있어요."
    [kept] = stored_photos(api_app)
    assert rasa.sent == [f'/report_photo{{"photo_id":{kept.id}}}'] and len(photo_files(api_app)) == 1


async def test_a_photo_just_over_the_limit_is_refused_with_the_photo_limit_in_the_citizens_words(
    api_app, api_network, rasa
):
    async with _browser(rasa, report_photo_max_bytes=MIB) as browser:
        refused = await _send_photo(browser, bytes(MIB + 1), language="en")
    assert refused.status_code == 413
    assert refused.json()["detail"] == "That photo is too large. Photos of up to 1 MB are accepted."
    assert stored_photos(api_app) == [] and rasa.sent == []


async def test_photos_count_against_the_web_chats_message_limits(api_app, api_network, rasa):
    async with _browser(rasa, rate_limit_web_message_per_identity="2/minute") as browser:
        for colour in [(200, 0, 0), (0, 200, 0)]:
            assert (await _send_photo(browser, jpeg(colour))).status_code == 200
        refused = await _send_photo(browser, jpeg((0, 0, 200)))
    assert refused.status_code == 429 and refused.json()["detail"].startswith("요청이 너무 많아요.")
    assert len(stored_photos(api_app)) == 2 and len(rasa.sent) == 2


async def test_a_photo_request_without_a_file_or_message_id_is_refused_with_422_and_nothing_is_uploaded(
    api_app, api_network, rasa
):
    async with _browser(rasa) as browser:
        no_file = await browser.post("/web/photos", data={"message_id": uuid.uuid4().hex})
        no_id = await browser.post("/web/photos", files={"file": ("a.jpg", jpeg(), "image/jpeg")})
    assert (no_file.status_code, no_id.status_code) == (422, 422)
    assert stored_photos(api_app) == [] and rasa.sent == []


async def test_a_shared_location_reaches_the_assistant_as_the_point_a_telegram_location_would(api_network, rasa):
    async with _browser(rasa) as browser:
        body = {
            "message_id": uuid.uuid4().hex,
            "text": "📍 현재 위치",
            "location": {"latitude": 37.7599, "longitude": 126.7802},
        }
        answered = await browser.post("/web/messages", json=body)
        history = (await browser.get("/web/history")).json()
    assert answered.status_code == 200
    assert rasa.sent == ['/facility_nearby{"latitude":37.7599,"longitude":126.7802}']
    assert history[0]["text"] == "📍 현재 위치"


@pytest.mark.parametrize("location", [{"latitude": 200, "longitude": 126.8}, {"latitude": 37.7}, "here"])
async def test_a_location_that_is_no_point_on_earth_is_refused_with_422(api_network, rasa, location):
    async with _browser(rasa) as browser:
        refused = await browser.post("/web/messages", json={"message_id": uuid.uuid4().hex, "location": location})
    assert refused.status_code == 422 and rasa.sent == []


async def test_the_page_offers_a_photo_button_and_a_location_button_and_knows_the_photo_limit(rasa):
    async with _browser(rasa, report_photo_max_bytes=5 * 1024 * 1024) as browser:
        page = (await browser.get("/")).text
    assert 'data-photo-max-bytes="5242880"' in page
    assert re.search(r'<button id="photo" [^>]*aria-label="사진 보내기"[^>]*><svg [^>]*aria-hidden="true"', page)
    assert re.search(r'<button id="locate" [^>]*aria-label="현재 위치 보내기"[^>]*><svg [^>]*aria-hidden="true"', page)
    assert 'accept="image/jpeg,image/png,image/webp"' in page
    assert "<script>" not in page and "onclick" not in page, "no inline script: the CSP forbids it"


def test_the_script_shows_the_citizens_photo_from_their_device_and_asks_them_to_type_the_place_when_denied():
    script = (STATIC / "chat.js").read_text()
    assert "URL.createObjectURL(file)" in script and '"/web/photos"' in script
    assert '"Send a photo"' in script and '"Send my location"' in script
    assert "navigator.geolocation.getCurrentPosition" in script and "PERMISSION_DENIED" in script
    assert "장소 이름이나 주소를 글로 적어 주세요" in script and "Please type the place or address instead" in script


def test_at_phone_width_the_buttons_keep_their_size_and_the_input_shrinks_instead_of_leaving_the_screen():
    style = (STATIC / "chat.css").read_text()
    assert re.search(r"\.composer textarea \{[^}]*flex: 1; min-width: 0;", style)
    assert re.search(r"\.composer \.tool \{[^}]*flex: none; width: 44px;", style)
    phone = style[style.index("@media (max-width: 480px)") :]
    assert ".composer .tool { width: 40px; }" in phone
