"""Push to the web chat (GET /web/events): the city's messages as server-sent events, to the cookie's holder only,
from whichever replica, resumed from the last event, and ended after a bound so the browser reconnects."""

import asyncio
import json
import time

from bot.gateway.channels import web
from bot.gateway.messages import Reply
from tests.bot import test_web_chat
from tests.bot.test_web_chat import _browser, _gateway, _say, _user_id

# The api app with the token the chat tests' gateway uses.
api_app = test_web_chat.api_app

BOUND = 1.0  # seconds a stream lasts in these tests (60 in production)


def _events(body: str) -> list[dict]:
    """The events of a stream's body: each with its id and its message."""
    found = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "data" in fields:
            found.append({"id": int(fields["id"]), **json.loads(fields["data"])})
    return found


async def _leave(gateway, user_id: str, text: str) -> None:
    """A staff member's reply, left in the api's outbox for the web chat user."""
    message = {"channel": "web", "channel_user_id": user_id, "text": text, "kind": "staff_reply"}
    response = await gateway.state.api._http.post("/api/outbox", json=message)
    assert response.status_code == 201, response.text


def _pushing(api_app, **settings):
    return _gateway(api_app, web_events_seconds=BOUND, web_events_poll_seconds=0.05, **settings)


async def test_a_city_message_is_pushed_to_the_open_page_and_the_stream_ends_after_its_bound(api_app):
    gateway = _pushing(api_app)
    async with _browser(gateway) as citizen, _browser(gateway) as stranger:
        await _say(citizen)
        await _say(stranger)
        await _leave(gateway, _user_id(citizen), "담당자 답변입니다")
        started = time.monotonic()
        response = await citizen.get("/web/events")
        took = time.monotonic() - started
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        [pushed] = _events(response.text)
        assert pushed["text"] == "담당자 답변입니다" and pushed["direction"] == "out"
        assert BOUND <= took < BOUND + 2, "the stream closes on its own so that the browser reconnects"
        assert "retry: " in response.text
        assert _events((await stranger.get("/web/events")).text) == [], "another citizen's stream carries none of it"
        assert (await citizen.get("/web/updates")).json() == [], "pushed, it is not handed over again by polling"


async def test_a_reconnecting_page_gets_only_what_came_after_its_last_event(api_app):
    gateway = _pushing(api_app)
    async with _browser(gateway) as citizen:
        await _say(citizen)
        await _leave(gateway, _user_id(citizen), "첫 번째 답변")
        [first] = _events((await citizen.get("/web/events")).text)
        await _leave(gateway, _user_id(citizen), "두 번째 답변")
        # The first stream's answer was lost on the way: from the page's cursor, both come again.
        again = _events((await citizen.get("/web/events", params={"after": first["id"] - 1})).text)
        assert [m["text"] for m in again] == ["첫 번째 답변", "두 번째 답변"]
        resumed = await citizen.get("/web/events", headers={"Last-Event-ID": str(first["id"])})
        assert [m["text"] for m in _events(resumed.text)] == ["두 번째 답변"]


async def test_a_message_left_through_one_replica_reaches_a_stream_held_by_the_other(api_app):
    first_replica, second_replica = _pushing(api_app), _pushing(api_app)
    async with _browser(first_replica) as citizen:
        await _say(citizen)
        cookie = citizen.cookies[web.COOKIE]
        user_id = _user_id(citizen)
    async with _browser(second_replica) as same_browser:
        same_browser.cookies.set(web.COOKIE, cookie, domain="testserver.local")
        stream = asyncio.create_task(same_browser.get("/web/events"))
        await asyncio.sleep(BOUND / 3)
        await _leave(first_replica, user_id, "다른 서버가 받은 답변")
        assert [m["text"] for m in _events((await stream).text)] == ["다른 서버가 받은 답변"]


async def test_only_the_holder_of_a_signed_cookie_has_a_stream(api_app):
    gateway = _pushing(api_app)
    async with _browser(gateway) as stranger:
        assert (await stranger.get("/web/events")).status_code == 401
        stranger.cookies.set(web.COOKIE, "0" * 32 + ".forged", domain="testserver.local")
        assert (await stranger.get("/web/events")).status_code == 401
        await stranger.get("/")
        assert (await stranger.get("/web/events", params={"after": -1})).status_code == 422


async def test_streams_count_against_the_update_limits_and_a_process_caps_the_open_ones(api_app):
    gateway = _pushing(api_app, rate_limit_web_updates_per_identity="2/minute", web_events_max_streams=1)
    async with _browser(gateway) as citizen, _browser(gateway) as neighbour:
        await citizen.get("/")
        await neighbour.get("/")
        holding = asyncio.create_task(citizen.get("/web/events"))
        await asyncio.sleep(BOUND / 3)
        refused = await neighbour.get("/web/events")
        assert refused.status_code == 503, "the page polls /web/updates instead"
        assert (await holding).status_code == 200
        assert (await neighbour.get("/web/events")).status_code == 200, "a slot is free again once a stream ends"
        assert (await citizen.get("/web/events")).status_code == 200
        limited = await citizen.get("/web/events", headers={"Accept-Language": "ko"})
        assert limited.status_code == 429 and "Retry-After" in limited.headers
        assert isinstance(limited.json()["detail"], str)


def test_a_staff_members_message_reaches_the_page_with_who_wrote_it():
    reply = web._web_reply(Reply(text="안녕하세요", custom={"author": "staff", "author_name": "관광과 상담원"}))
    assert (reply.author, reply.author_name) == ("staff", "관광과 상담원")
    assert web._web_reply(Reply(text="안녕하세요")).author is None
    item = web._city_message(
        {"message_id": 7, "text": "확인했어요", "buttons": None, "author": "staff", "author_name": "관광과 상담원"}
    )
    assert (item.author, item.author_name) == ("staff", "관광과 상담원")
