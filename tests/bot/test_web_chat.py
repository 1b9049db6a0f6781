"""The web chat knows a citizen only by the signed HttpOnly cookie it gave them: no id in a URL, body, script or log."""

import json
import logging
import uuid
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app as create_api
from bot.gateway.api_client import ApiClient
from bot.gateway.app import create_app as create_gateway
from bot.gateway.channels import web
from bot.gateway.rasa_client import RasaClient
from bot.gateway.rate_limits import GatewayLimits
from bot.gateway.router import MessageRouter
from bot.gateway.settings import GatewaySettings

TOKEN = "web-chat-test-token-0123456789"
SECRET = "web-session-secret-for-the-tests-0123456789"
STATIC = Path(web.__file__).resolve().parents[1] / "static"


class Greeter:
    """A Rasa that greets every message."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"messages": [{"text": "안녕하세요! 파주시 시민 도우미예요."}], "parse": None})


@pytest.fixture
def api_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    app = create_api(Settings(database_url=url, service_token=TOKEN))
    yield app
    app.state.engine.dispose()


def _gateway(api_app, rasa_answers=None, **settings):
    """The gateway app in front of the api app, without its lifespan (no Telegram, no outbox loop); Rasa stands in
    as `rasa_answers` (an httpx handler), a greeter unless given."""
    gateway_settings = GatewaySettings(service_token=TOKEN, web_session_secret=SECRET, **settings)
    gateway = create_gateway(gateway_settings)
    gateway.state.api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    rasa = RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(rasa_answers or Greeter()))
    gateway.state.router = MessageRouter(gateway.state.api, rasa, 1000)
    gateway.state.limits = GatewayLimits(gateway_settings)
    return gateway


def _browser(gateway, scheme: str = "http") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url=f"{scheme}://testserver")


async def _say(browser: httpx.AsyncClient, text: str = "안녕하세요", message_id: str | None = None) -> list[dict]:
    response = await browser.post("/web/messages", json={"message_id": message_id or uuid.uuid4().hex, "text": text})
    assert response.status_code == 200, response.text
    return response.json()["replies"]


def _user_id(browser: httpx.AsyncClient) -> str:
    return browser.cookies[web.COOKIE].partition(".")[0]


async def test_the_chat_page_gives_a_first_visitor_a_signed_httponly_samesite_cookie(api_app):
    async with _browser(_gateway(api_app)) as browser:
        page = await browser.get("/")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{web.COOKIE}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in attributes, "plain http locally"


async def test_the_cookie_is_secure_when_configured_or_when_the_chat_is_served_over_https(api_app):
    async with _browser(_gateway(api_app, web_cookie_secure=True)) as browser:
        assert "secure" in (await browser.get("/")).headers["set-cookie"].lower()
    async with _browser(_gateway(api_app), scheme="https") as browser:
        assert "secure" in (await browser.get("/")).headers["set-cookie"].lower()


def test_the_page_and_its_script_hold_no_user_id_and_make_no_ids_from_time_or_math_random():
    script = (STATIC / "chat.js").read_text()
    page = (STATIC / "index.html").read_text()
    for source in (script, page):
        assert "user_id" not in source and "userId" not in source
    assert "Math.random" not in script and "Date.now" not in script


async def test_a_citizen_reads_only_their_own_history_and_a_fresh_client_gets_an_empty_one(api_app):
    gateway = _gateway(api_app)
    async with _browser(gateway) as citizen, _browser(gateway) as stranger:
        await citizen.get("/")
        await _say(citizen, "안녕하세요")
        mine = (await citizen.get("/web/history")).json()
        assert [(m["direction"], m["text"]) for m in mine] == [
            ("in", "안녕하세요"),
            ("out", "안녕하세요! 파주시 시민 도우미예요."),
        ]
        # The old way of asking, with the id in the query string, is ignored.
        response = await stranger.get("/web/history", params={"user_id": _user_id(citizen)})
        assert response.status_code == 200
        assert response.json() == []
        assert _user_id(stranger) != _user_id(citizen)


class Charter:
    """A Rasa that answers with a chart."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        chart = "https://paju.example/api/opendata/charts/abc.png"
        return httpx.Response(200, json={"messages": [{"text": "2024년 추이예요."}, {"image": chart}], "parse": None})


async def test_a_chart_the_assistant_sent_is_shown_again_after_a_reload(api_app):
    gateway = _gateway(api_app, Charter())
    async with _browser(gateway) as citizen:
        await citizen.get("/")
        await _say(citizen, "2024년 관광객 추이 그래프")
        items = (await citizen.get("/web/history")).json()
    assert [(m["direction"], m["text"], m["image"]) for m in items] == [
        ("in", "2024년 관광객 추이 그래프", None),
        ("out", "2024년 추이예요.", None),
        ("out", None, "https://paju.example/api/opendata/charts/abc.png"),
    ]


LINK = "https://www.paju.go.kr/www/contents.do?key=2871&tab=passport&from=knowledge-answer"


class Linker:
    """A Rasa that answers with a link, a javascript: address and a postback, as the knowledge answer does."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        buttons = [
            {"title": "자세히 보기 (누리집)", "payload": LINK},
            {"title": "위험한 링크", "payload": "javascript:alert(document.cookie)"},
            {"title": "도움이 됐어요", "payload": "/affirm"},
        ]
        return httpx.Response(
            200, json={"messages": [{"text": "여권은 민원여권과에서 발급해요.", "buttons": buttons}], "parse": None}
        )


SHOWN = [
    {"title": "자세히 보기 (누리집)", "payload": LINK, "url": LINK},
    {"title": "도움이 됐어요", "payload": "/affirm", "url": None},
]


async def test_a_link_button_comes_marked_with_its_address_again_after_a_reload_and_a_javascript_one_never(api_app):
    gateway = _gateway(api_app, Linker())
    async with _browser(gateway) as citizen:
        await citizen.get("/")
        [reply] = await _say(citizen, "여권 어디서 만들어요?")
        assert reply["buttons"] == SHOWN
        # Recorded in the transcript like any other button: a reload shows it again.
        [_asked, answered] = (await citizen.get("/web/history")).json()
    assert answered["buttons"] == SHOWN
    assert "javascript:" not in json.dumps([reply, answered])


async def test_a_city_message_with_a_link_reaches_the_page_marked_and_without_its_javascript_button(api_app):
    gateway = _gateway(api_app)
    async with _browser(gateway) as citizen:
        await _say(citizen)
        buttons = [{"title": "공지 보기", "payload": LINK}, {"title": "위험", "payload": "data:text/html,<b>x</b>"}]
        staff_reply = {
            "channel": "web",
            "channel_user_id": _user_id(citizen),
            "text": "새 공지예요",
            "buttons": buttons,
        }
        assert (await gateway.state.api._http.post("/api/outbox", json=staff_reply)).status_code == 201
        [update] = (await citizen.get("/web/updates")).json()
    assert update["buttons"] == [{"title": "공지 보기", "payload": LINK, "url": LINK}]


def test_the_page_opens_a_link_in_a_new_tab_without_an_opener_and_only_an_https_one():
    script = (STATIC / "chat.js").read_text()
    assert 'link.target = "_blank"' in script and 'link.rel = "noopener noreferrer"' in script
    assert 'url.startsWith("https://")' in script and '.protocol === "https:"' in script
    assert "innerHTML" not in script, "titles and addresses are text and attributes, never markup"


@pytest.mark.parametrize(
    "forge",
    [
        lambda victim: f"{victim}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # a made-up signature
        lambda victim: victim,  # the bare id
        lambda victim: web.WebIdentity("another-secret", False, 1)._signed(victim),  # signed with another key
    ],
)
async def test_a_forged_cookie_gets_a_fresh_identity_with_an_empty_history_never_the_victims(api_app, forge):
    gateway = _gateway(api_app)
    async with _browser(gateway) as victim:
        await _say(victim, "제 예약을 확인해 주세요")
        victim_id = _user_id(victim)
    async with _browser(gateway) as forger:
        forger.cookies.set(web.COOKIE, forge(victim_id), domain="testserver.local")
        response = await forger.get("/web/history")
        assert response.json() == []
        issued = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        assert issued.partition(".")[0] != victim_id


async def test_waiting_messages_go_only_to_the_cookies_holder(api_app):
    gateway = _gateway(api_app)
    async with _browser(gateway) as citizen, _browser(gateway) as stranger:
        await _say(citizen)
        staff_reply = {"channel": "web", "channel_user_id": _user_id(citizen), "text": "담당자 답변입니다"}
        response = await gateway.state.api._http.post("/api/outbox", json=staff_reply)
        assert response.status_code == 201, response.text

        assert (await stranger.get("/web/updates", params={"user_id": _user_id(citizen)})).json() == []
        assert [m["text"] for m in (await citizen.get("/web/updates")).json()] == ["담당자 답변입니다"]
        assert (await citizen.get("/web/updates")).json() == [], "handed over once"


async def test_a_city_message_whose_poll_answer_was_lost_comes_again_to_a_poll_from_the_pages_cursor(api_app):
    gateway = _gateway(api_app)
    async with _browser(gateway) as citizen, _browser(gateway) as stranger:
        await _say(citizen)
        await _say(stranger)
        newest = (await citizen.get("/web/history")).json()[-1]["id"]
        staff_reply = {"channel": "web", "channel_user_id": _user_id(citizen), "text": "담당자 답변입니다"}
        assert (await gateway.state.api._http.post("/api/outbox", json=staff_reply)).status_code == 201

        [handed] = (await citizen.get("/web/updates", params={"after": newest})).json()
        assert handed["text"] == "담당자 답변입니다" and handed["id"] > newest
        # The answer never reached the page (the gateway died on the way): it asks again from the same cursor.
        assert (await citizen.get("/web/updates", params={"after": newest})).json() == [handed]
        assert (await citizen.get("/web/updates", params={"after": handed["id"]})).json() == []
        assert (await stranger.get("/web/updates", params={"after": 0})).json() == []
        for bad in (-1, 2**31, "abc"):
            assert (await citizen.get("/web/updates", params={"after": bad})).status_code == 422


async def test_a_user_id_in_the_message_body_is_ignored(api_app):
    gateway = _gateway(api_app)
    async with _browser(gateway) as victim, _browser(gateway) as forger:
        await _say(victim, "안녕하세요")
        response = await forger.post(
            "/web/messages", json={"user_id": _user_id(victim), "message_id": uuid.uuid4().hex, "text": "끼어들기"}
        )
        assert response.status_code == 200
        assert [m["text"] for m in (await victim.get("/web/history")).json()] == [
            "안녕하세요",
            "안녕하세요! 파주시 시민 도우미예요.",
        ]


async def test_one_browser_keeps_its_identity_across_messages_and_page_loads(api_app):
    gateway = _gateway(api_app)
    async with _browser(gateway) as citizen:
        await citizen.get("/")
        first = _user_id(citizen)
        await _say(citizen, "안녕")
        await citizen.get("/")
        await _say(citizen, "고마워요")
        assert _user_id(citizen) == first
        assert len((await citizen.get("/web/history")).json()) == 4


async def test_the_web_user_id_of_a_request_is_the_signed_cookies_id_or_none(api_app):
    gateway = _gateway(api_app)
    async with _browser(gateway) as citizen:
        await citizen.get("/")
        signed = citizen.cookies[web.COOKIE]

    def request(cookie: str | None) -> Request:
        headers = [(b"cookie", f"{web.COOKIE}={cookie}".encode())] if cookie else []
        return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "app": gateway})

    assert web.web_user_id(request(signed)) == signed.partition(".")[0]
    assert web.web_user_id(request(None)) is None
    assert web.web_user_id(request(signed[:-2] + "xx")) is None


async def test_a_retried_send_of_one_message_is_answered_once(api_app):
    gateway = _gateway(api_app)
    async with _browser(gateway) as citizen:
        message_id = uuid.uuid4().hex
        first = await _say(citizen, "안녕하세요", message_id)
        assert await _say(citizen, "안녕하세요", message_id) == first
        history = (await citizen.get("/web/history")).json()
        assert [m["direction"] for m in history] == ["in", "out"]


class Recorded(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_no_log_line_of_the_gateway_or_the_api_names_the_web_user(api_app):
    gateway = _gateway(api_app)
    # Rasa down: the gateway logs a warning about this very conversation.
    gateway.state.router = MessageRouter(gateway.state.api, RasaClient("http://127.0.0.1:9", 2), 1000)
    log = Recorded()
    root = logging.getLogger()
    # Added after the apps configured logging, which replaces the root's handlers.
    root.addHandler(log)
    level, root.level = root.level, logging.DEBUG
    try:
        async with _browser(gateway) as citizen:
            await citizen.get("/")
            await _say(citizen, "안녕하세요")
            await citizen.get("/web/history")
            await citizen.get("/web/updates")
            user_id = _user_id(citizen)
    finally:
        root.removeHandler(log)
        root.level = level
    messages = [record.getMessage() for record in log.records]
    assert "rasa unavailable" in messages
    assert "request" in messages, "the api logged its requests"
    for record in log.records:
        assert user_id not in json.dumps(record.__dict__, default=str), record.getMessage()
