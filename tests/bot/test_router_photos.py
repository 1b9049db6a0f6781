"""A photo through the router: recorded as a turn, uploaded to the api (the real app, on this machine), and its id
handed to the assistant; a refusal answered with the api's own words; a retry never keeps a second photo."""

import uuid

import httpx
import pytest

from bot.gateway.api_client import ApiClient, ApiRefused, PhotoRefused
from bot.gateway.messages import IncomingMessage, Photo
from bot.gateway.own_replies import own_reply
from bot.gateway.rasa_client import RasaClient
from bot.gateway.router import MessageRouter
from tests.support.gateway_api import (
    API,
    API_TOKEN,
    PHOTO_UPLOAD,
    RECEIVED,
    jpeg,
    noisy_jpeg,
    photo_files,
    stored_photos,
)

NOT_IMAGE = "사진 파일이 아니에요. 휴대전화로 찍은 사진을 그대로 보내 주세요."
TOO_LARGE = "사진이 너무 커요. 1메가바이트보다 작은 사진을 보내 주세요."
TOO_MANY = "오늘 신고하지 않은 사진을 10장 보내셨어요. 먼저 신고를 마쳐 주세요."
# Ten photos of one day that no report took yet: the most the api keeps for a conversation.
TEN_PHOTOS = [jpeg((25 * shade, 80, 200)) for shade in range(10)]


def _router(rasa) -> tuple[MessageRouter, ApiClient]:
    api = ApiClient(API, API_TOKEN, 5)
    return MessageRouter(api, RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(rasa)), 1000), api


def _photo_message(caption: str = "", content: bytes | None = None, language: str = "ko") -> IncomingMessage:
    photo = Photo(jpeg() if content is None else content, "image/jpeg", "AQADpothole.jpg")
    return IncomingMessage("telegram", "5550123", uuid.uuid4().hex, text=caption, photo=photo, language_hint=language)


def _statuses(transcript: list[dict]) -> list[str]:
    return [m["status"] for m in transcript if m["direction"] == "in"]


async def test_a_photo_is_kept_for_its_conversation_and_the_assistant_gets_its_id(api_app, api_network, rasa):
    router, api = _router(rasa)
    replies = await router.handle(_photo_message())

    assert [reply.text for reply in replies] == [RECEIVED]
    [photo] = stored_photos(api_app)
    assert (photo.channel, photo.channel_user_id) == ("telegram", "5550123")
    assert len(photo_files(api_app)) == 1
    assert rasa.sent == [f'/report_photo{{"photo_id":{photo.id}}}']
    transcript = await api.transcript("telegram", "5550123")
    assert [(m["direction"], m["text"]) for m in transcript] == [("in", "[사진]"), ("out", RECEIVED)]
    assert transcript[0]["payload"] == {"photo": {"content_type": "image/jpeg", "bytes": len(jpeg())}}
    assert _statuses(transcript) == ["answered"]


async def test_a_photo_that_tells_where_it_was_taken_brings_the_place_to_the_assistant(api_app, api_network, rasa):
    await _router(rasa)[0].handle(_photo_message(content=jpeg(gps=(37.7599, 126.7802))))
    [photo] = stored_photos(api_app)
    assert (photo.latitude, photo.longitude) == (37.7599, 126.7802)
    assert rasa.sent == [f'/report_photo{{"photo_id":{photo.id},"latitude":37.7599,"longitude":126.7802}}']


async def test_a_caption_is_kept_in_the_transcript_beside_the_photo_in_the_citizens_language(
    api_app, api_network, rasa
):
    router, api = _router(rasa)
    await router.handle(_photo_message("A broken streetlight on my street", language="ko"))
    transcript = await api.transcript("telegram", "5550123")
    assert transcript[0]["text"] == "[photo] A broken streetlight on my street"
    [photo] = stored_photos(api_app)
    assert rasa.sent == [f'/report_photo{{"photo_id":{photo.id}}}']


async def test_a_refusal_comes_in_the_language_of_the_caption(api_app, api_network, rasa):
    replies = await _router(rasa)[0].handle(
        _photo_message("Here is the pothole", content=b"just some words", language="ko")
    )
    assert [reply.text for reply in replies] == [
        "That file is not a photo I can use. Please send a JPEG, PNG or WebP picture."
    ]
    assert stored_photos(api_app) == [] and rasa.sent == []


@pytest.mark.clock("2026-06-10T14:00:00+09:00")
@pytest.mark.parametrize(
    ("api_settings", "earlier", "refused", "detail"),
    [
        ({}, [], b"A text file, not a photo.\n", NOT_IMAGE),
        ({"report_photo_max_bytes": 1024 * 1024}, [], noisy_jpeg(1200), TOO_LARGE),
        ({}, TEN_PHOTOS, jpeg((250, 250, 0)), TOO_MANY),
    ],
    ids=["not_an_image", "over_the_apis_limit", "the_eleventh_of_the_day"],
)
async def test_a_refused_photo_is_answered_with_the_apis_words_and_never_reaches_the_assistant(
    api_app, api_network, rasa, earlier, refused, detail
):
    router, api = _router(rasa)
    for content in earlier:
        assert [reply.text for reply in await router.handle(_photo_message(content=content))] == [RECEIVED]
    kept = stored_photos(api_app)
    replies = await router.handle(_photo_message(content=refused))

    assert [reply.text for reply in replies] == [detail]
    assert len(rasa.sent) == len(earlier), "the refused photo never reaches the assistant"
    assert stored_photos(api_app) == kept and len(photo_files(api_app)) == len(earlier)
    transcript = await api.transcript("telegram", "5550123")
    assert [(m["direction"], m["text"]) for m in transcript[-2:]] == [("in", "[사진]"), ("out", detail)]
    assert set(_statuses(transcript)) == {"answered"}, "the refusal is the answer: a retry gets the same"


async def test_when_the_api_cannot_take_the_photo_the_citizen_is_told_and_the_retry_is_answered(
    api_app, api_network, rasa
):
    upload = api_network[PHOTO_UPLOAD]
    working = upload.side_effect
    upload.side_effect = lambda request: httpx.Response(503, json={"detail": "internal error"})
    router, api = _router(rasa)
    message = _photo_message()
    [apology] = await router.handle(message)
    assert apology.text == own_reply("assistant_down", "ko").text
    assert rasa.sent == [] and stored_photos(api_app) == []
    assert _statuses(await api.transcript("telegram", "5550123")) == ["unanswered"]

    upload.side_effect = working
    replies = await router.handle(message)
    assert [reply.text for reply in replies] == [RECEIVED]
    [photo] = stored_photos(api_app)
    assert rasa.sent == [f'/report_photo{{"photo_id":{photo.id}}}']
    assert _statuses(await api.transcript("telegram", "5550123")) == ["answered"]


async def test_a_retried_delivery_of_an_answered_photo_gets_the_same_answer_without_a_second_upload(
    api_app, api_network, rasa
):
    router, _api = _router(rasa)
    message = _photo_message()
    first = await router.handle(message)
    again = await _router(rasa)[0].handle(message)  # Telegram delivering the update again, to another replica
    assert again == first
    assert api_network[PHOTO_UPLOAD].call_count == 1 and len(rasa.sent) == 1
    assert len(stored_photos(api_app)) == 1


async def test_a_retry_after_the_assistant_was_down_uploads_the_same_bytes_and_one_photo_is_kept(
    api_app, api_network, rasa
):
    rasa.down = True
    router, _api = _router(rasa)
    message = _photo_message()
    [apology] = await router.handle(message)
    assert apology.text == own_reply("assistant_down", "ko").text

    rasa.down = False
    await router.handle(message)
    assert api_network[PHOTO_UPLOAD].call_count == 2
    [photo] = stored_photos(api_app)
    assert len(photo_files(api_app)) == 1, "the api keeps one photo per conversation and picture"
    assert rasa.sent == [f'/report_photo{{"photo_id":{photo.id}}}']


async def test_a_photo_while_a_person_has_the_conversation_waits_in_the_staff_inbox_unuploaded(
    api_app, api_network, rasa
):
    router, api = _router(rasa)
    await router.handle(IncomingMessage("telegram", "5550123", "hello", text="안녕하세요"))
    handoff = {"channel": "telegram", "channel_user_id": "5550123"}
    assert (await api._http.post("/api/conversations/handoffs", json=handoff)).status_code == 201

    # The first message of the wait is acknowledged, as any message is; the photo is not uploaded as a report's.
    [acknowledged] = await router.handle(_photo_message())
    assert acknowledged.text.startswith("접수됐어요, 담당자에게 전달했어요")
    assert stored_photos(api_app) == [] and photo_files(api_app) == []
    assert rasa.sent == ["안녕하세요"]


async def test_the_api_client_tells_a_refusal_it_can_show_from_one_it_cannot(api_network):
    api = ApiClient(API, API_TOKEN, 5)
    with pytest.raises(PhotoRefused) as refused:
        await api.upload_report_photo("web", "a" * 32, b"just some words", "photo.jpg", "image/jpeg", "en")
    assert (refused.value.message, refused.value.status, refused.value.code) == (
        "That file is not a photo I can use. Please send a JPEG, PNG or WebP picture.",
        422,
        "photo_not_image",
    )

    # FastAPI's own 422 (a field it will not take) has no words for a citizen: not a refusal to show.
    with pytest.raises(ApiRefused) as invalid:
        await api.upload_report_photo("web", "not an id!", jpeg(), "photo.jpg", "image/jpeg", "ko")
    assert invalid.value.status == 422 and not isinstance(invalid.value, PhotoRefused)
    await api.close()
