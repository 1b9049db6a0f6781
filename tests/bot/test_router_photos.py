"""A photo through the router: recorded as a turn, uploaded to the api (respx stands in for its photo route), and
its id handed to the assistant; a refusal answered with the api's own words; a retry never keeps a second photo."""

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
import respx

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from bot.gateway.api_client import ApiClient, ApiRefused, PhotoRefused
from bot.gateway.messages import IncomingMessage, Photo
from bot.gateway.own_replies import own_reply
from bot.gateway.rasa_client import RasaClient
from bot.gateway.router import MessageRouter
from tests.support.fake_telegram import small_jpeg
from tests.support.report_photos_api import PhotoRoute, api_with_photo_route

TOKEN = "router-photos-test-token-0123456789"
API = "http://api.test"
CLOSED_PORT = "http://127.0.0.1:9"
RECEIVED = "사진을 받았어요. 어떤 불편을 신고하시겠어요?"


class Rasa:
    """A Rasa that thanks for every photo; `down` makes it unreachable. Keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.sent.append(json.loads(request.content)["message"])
        return httpx.Response(200, json={"messages": [{"text": RECEIVED}], "parse": None})


@pytest.fixture
def api_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, service_token=TOKEN))
    yield app
    app.state.engine.dispose()


@pytest.fixture
def photos(api_app) -> Iterator[PhotoRoute]:
    with api_with_photo_route(API, api_app) as route:
        yield route


@pytest.fixture
def rasa() -> Rasa:
    return Rasa()


def _router(rasa: Rasa) -> tuple[MessageRouter, ApiClient]:
    api = ApiClient(API, TOKEN, 5)
    return MessageRouter(api, RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(rasa)), 1000), api


def _photo_message(caption: str = "", content: bytes | None = None, language: str = "ko") -> IncomingMessage:
    photo = Photo(content or small_jpeg(), "image/jpeg", "AQADpothole.jpg")
    return IncomingMessage("telegram", "5550123", uuid.uuid4().hex, text=caption, photo=photo, language_hint=language)


def _statuses(transcript: list[dict]) -> list[str]:
    return [m["status"] for m in transcript if m["direction"] == "in"]


async def test_a_photo_is_uploaded_for_its_conversation_and_the_assistant_gets_its_id(photos, rasa):
    router, api = _router(rasa)
    replies = await router.handle(_photo_message())

    assert [reply.text for reply in replies] == [RECEIVED]
    assert rasa.sent == ['/report_photo{"photo_id":12}']
    [upload] = photos.uploads
    assert (upload["channel"], upload["channel_user_id"]) == ("telegram", "5550123")
    assert (upload["content"], upload["content_type"], upload["filename"]) == (
        small_jpeg(),
        "image/jpeg",
        "AQADpothole.jpg",
    )
    assert upload["accept_language"] == "ko"
    transcript = await api.transcript("telegram", "5550123")
    assert [(m["direction"], m["text"]) for m in transcript] == [("in", "[사진]"), ("out", RECEIVED)]
    assert transcript[0]["payload"] == {"photo": {"content_type": "image/jpeg", "bytes": len(small_jpeg())}}
    assert _statuses(transcript) == ["answered"]


async def test_a_photo_that_tells_where_it_was_taken_brings_the_place_to_the_assistant(photos, rasa):
    photos.location = (37.7599, 126.7802)
    await _router(rasa)[0].handle(_photo_message())
    assert rasa.sent == ['/report_photo{"photo_id":12,"latitude":37.7599,"longitude":126.7802}']


async def test_a_caption_is_kept_in_the_transcript_beside_the_photo_in_the_citizens_language(photos, rasa):
    router, api = _router(rasa)
    await router.handle(_photo_message("A broken streetlight on my street", language="ko"))
    [upload] = photos.uploads
    assert upload["accept_language"] == "en"
    transcript = await api.transcript("telegram", "5550123")
    assert transcript[0]["text"] == "[photo] A broken streetlight on my street"
    assert rasa.sent == ['/report_photo{"photo_id":12}']


@pytest.mark.parametrize(
    ("status", "code", "detail"),
    [
        (413, "photo_too_large", "사진이 너무 커요. 10MB까지의 사진만 받을 수 있어요."),
        (422, "photo_not_image", "사진 파일이 아니에요. 사진을 보내 주세요."),
        (429, "too_many_photos", "오늘은 사진을 더 받을 수 없어요. 내일 다시 보내 주세요."),
    ],
)
async def test_a_refused_photo_is_answered_with_the_apis_words_and_never_reaches_the_assistant(
    photos, rasa, status, code, detail
):
    photos.refusal = (status, code, detail)
    router, api = _router(rasa)
    replies = await router.handle(_photo_message())

    assert [reply.text for reply in replies] == [detail]
    assert rasa.sent == []
    transcript = await api.transcript("telegram", "5550123")
    assert [(m["direction"], m["text"]) for m in transcript] == [("in", "[사진]"), ("out", detail)]
    assert _statuses(transcript) == ["answered"], "the refusal is the answer: a retry gets the same"


async def test_when_the_api_cannot_take_the_photo_the_citizen_is_told_and_the_retry_is_answered(photos, rasa):
    photos.status = 503
    router, api = _router(rasa)
    message = _photo_message()
    [apology] = await router.handle(message)
    assert apology.text == own_reply("assistant_down", "ko").text
    assert rasa.sent == [] and _statuses(await api.transcript("telegram", "5550123")) == ["unanswered"]

    photos.status = None
    replies = await router.handle(message)
    assert [reply.text for reply in replies] == [RECEIVED]
    assert rasa.sent == ['/report_photo{"photo_id":12}']
    assert _statuses(await api.transcript("telegram", "5550123")) == ["answered"]


async def test_a_retried_delivery_of_an_answered_photo_gets_the_same_answer_without_a_second_upload(photos, rasa):
    router, _api = _router(rasa)
    message = _photo_message()
    first = await router.handle(message)
    again = await _router(rasa)[0].handle(message)  # Telegram delivering the update again, to another replica
    assert again == first
    assert len(photos.uploads) == 1 and len(rasa.sent) == 1


async def test_a_retry_after_the_assistant_was_down_uploads_the_same_bytes_and_one_photo_is_kept(photos, rasa):
    rasa.down = True
    router, _api = _router(rasa)
    message = _photo_message()
    [apology] = await router.handle(message)
    assert apology.text == own_reply("assistant_down", "ko").text

    rasa.down = False
    await router.handle(message)
    assert [upload["content"] for upload in photos.uploads] == [small_jpeg(), small_jpeg()]
    assert len(photos.kept) == 1, "the api keeps one photo per conversation and bytes"
    assert rasa.sent == ['/report_photo{"photo_id":12}']


async def test_a_photo_while_a_person_has_the_conversation_waits_in_the_staff_inbox_unuploaded(photos, rasa):
    router, api = _router(rasa)
    await router.handle(IncomingMessage("telegram", "5550123", "hello", text="안녕하세요"))
    handoff = {"channel": "telegram", "channel_user_id": "5550123"}
    assert (await api._http.post("/api/conversations/handoffs", json=handoff)).status_code == 201

    assert await router.handle(_photo_message()) == []
    assert photos.uploads == [] and rasa.sent == ["안녕하세요"]


async def test_the_api_client_tells_a_refusal_it_can_show_from_one_it_cannot():
    api = ApiClient(API, TOKEN, 5)
    with respx.mock(base_url=API) as mock:
        route = mock.post("/api/reports/photos")
        route.respond(429, json={"detail": "Too many photos today.", "code": "too_many_photos"})
        with pytest.raises(PhotoRefused) as refused:
            await api.upload_report_photo("web", "a" * 32, b"bytes", "photo.jpg", "image/jpeg", "en")
        assert (refused.value.message, refused.value.status, refused.value.code) == (
            "Too many photos today.",
            429,
            "too_many_photos",
        )
        assert route.calls.last.request.headers["accept-language"] == "en"

        # FastAPI's own 422 (a field missing) has no words for a citizen: not a refusal to show.
        route.respond(422, json={"detail": [{"loc": ["body", "file"], "msg": "Field required"}]})
        with pytest.raises(ApiRefused) as invalid:
            await api.upload_report_photo("web", "a" * 32, b"bytes", "photo.jpg", "image/jpeg", "ko")
        assert not isinstance(invalid.value, PhotoRefused)
    await api.close()
