"""Words the api defines are read from it, kept for a few minutes, and still used while it is down."""

import httpx
import pytest
import respx

from actions import vocabulary
from actions.api_client import ApiClient, ApiUnavailable
from tests.actions.conftest import NOTICE_CATEGORIES, READ_CATEGORIES, READ_DEPARTMENTS

API = "http://api.test"


@respx.mock
async def test_the_categories_are_read_from_the_api_once_and_again_after_a_few_minutes(monkeypatch):
    monkeypatch.setattr(ApiClient, "notice_categories", READ_CATEGORIES)
    route = respx.get(f"{API}/api/notices/categories").respond(200, json=NOTICE_CATEGORIES)
    api = ApiClient(API, "svc")
    now = 1000.0
    monkeypatch.setattr(vocabulary.time, "monotonic", lambda: now)

    categories = await vocabulary.notice_categories(api)
    assert categories["traffic"].name("en") == "Traffic and roads" and "도로" in categories["traffic"].words
    await vocabulary.notice_categories(api)
    assert route.call_count == 1
    assert route.calls.last.request.headers["Authorization"] == "Bearer svc", "both names and words need the token"

    now += vocabulary.KEEP_SECONDS + 1
    route.respond(200, json=[*NOTICE_CATEGORIES, {"code": "housing", "name_ko": "주택", "name_en": "Housing"}])
    assert "housing" in await vocabulary.notice_categories(api)
    assert route.call_count == 2


@respx.mock
async def test_while_the_api_is_down_the_categories_last_read_still_serve(monkeypatch):
    monkeypatch.setattr(ApiClient, "notice_categories", READ_CATEGORIES)
    route = respx.get(f"{API}/api/notices/categories").respond(200, json=NOTICE_CATEGORIES)
    api = ApiClient(API, "svc")
    now = 1000.0
    monkeypatch.setattr(vocabulary.time, "monotonic", lambda: now)
    await vocabulary.notice_categories(api)

    now += vocabulary.KEEP_SECONDS + 1
    route.mock(side_effect=httpx.ConnectError("down"))
    assert "safety" in await vocabulary.notice_categories(api)
    monkeypatch.setattr(vocabulary, "_kept", {})
    with pytest.raises(ApiUnavailable):  # with nothing read before, the outage is the action's to apologise for
        await vocabulary.notice_categories(api)


@respx.mock
async def test_the_departments_and_the_default_one_are_the_apis(monkeypatch):
    monkeypatch.setattr(ApiClient, "departments", READ_DEPARTMENTS)
    listed = [{"code": "tourism", "default": False}, {"code": "civil_affairs", "default": True}]
    respx.get(f"{API}/api/conversations/departments").respond(200, json=listed)
    known = await vocabulary.departments(ApiClient(API, "svc"))
    assert (known.codes, known.default) == (("tourism", "civil_affairs"), "civil_affairs")
