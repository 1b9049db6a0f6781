"""Rate limits of the gateway: web chat messages per user and per address, history and updates, Telegram chats."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from bot.gateway.app import create_app
from bot.gateway.channels.telegram import TelegramChannel
from bot.gateway.messages import IncomingMessage, Reply
from bot.gateway.rate_limits import GatewayLimits
from bot.gateway.settings import GatewaySettings
from tests.support.fake_telegram import FakeTelegram
from tests.support.redis_server import temporary_prefix

CLOSED_PORT = "http://127.0.0.1:9"


class RecordingRouter:
    """Stands in for the router: what reached it is what the limits let through."""

    def __init__(self) -> None:
        self.handled: list[IncomingMessage] = []

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        self.handled.append(message)
        return [Reply(text="네, 알겠어요.")]


class RecordingApi:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def transcript(self, channel: str, channel_user_id: str) -> list[dict]:
        self.asked.append(channel_user_id)
        return []

    async def collect_outbox(self, channel: str, channel_user_id: str, after: int | None = None) -> list[dict]:
        self.asked.append(channel_user_id)
        return []

    async def close(self) -> None:
        pass


def _settings(**changes) -> GatewaySettings:
    quiet = {"api_url": CLOSED_PORT, "rasa_url": CLOSED_PORT, "telegram_bot_token": "", "nlu_inbox_reports": False}
    return GatewaySettings(**quiet | {"outbox_poll_seconds": 60} | changes)


@contextmanager
def gateway(**limits) -> Iterator[TestClient]:
    app = create_app(_settings(**limits))
    with TestClient(app, client=("203.0.113.7", 50000)) as client:
        app.state.router = RecordingRouter()
        app.state.api = RecordingApi()
        yield client


def _visitor(client: TestClient, address: str = "203.0.113.7") -> TestClient:
    """Another browser on the same gateway (its own cookie, so its own web chat user), from `address`."""
    other = TestClient(client.app, client=(address, 50000))
    other.portal = client.portal  # the running app's event loop, which its limits' store belongs to
    return other


def _say(client: TestClient, text: str = "안녕하세요", language: str | None = None):
    return client.post("/web/messages", json={"message_id": uuid.uuid4().hex, "text": text, "language": language})


def test_the_fourth_message_of_one_web_chat_user_in_a_minute_is_refused_in_korean_and_never_handled():
    with gateway(rate_limit_web_message_per_identity="3/minute") as client:
        assert [_say(client).status_code for _ in range(3)] == [200, 200, 200]
        refused = _say(client, text="네 번째")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["detail"].startswith("요청이 너무 많아요.")
        assert [m.text for m in client.app.state.router.handled] == ["안녕하세요"] * 3
        english = _say(client, text="hello", language="en")
        assert english.status_code == 429 and english.json()["detail"].startswith("Too many requests.")
        assert _say(_visitor(client)).status_code == 200  # another user is not held


def test_many_web_chat_users_from_one_address_share_its_limit():
    with gateway(rate_limit_web_message_per_client="4/minute") as client:
        answers = [_say(_visitor(client)).status_code for _ in range(5)]
        assert answers == [200, 200, 200, 200, 429]
        assert _say(_visitor(client, "198.51.100.2")).status_code == 200


def test_history_asked_for_too_often_from_one_address_is_refused():
    with gateway(rate_limit_web_history_per_client="2/minute") as client:
        answers = [_visitor(client).get("/web/history") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[-1].json()["detail"].startswith("요청이 너무 많아요.")


def test_one_user_polling_updates_too_often_is_refused_but_others_are_not():
    with gateway(rate_limit_web_updates_per_identity="2/minute") as client:
        client.get("/")  # the page gives the browser its identity
        assert [client.get("/web/updates").status_code for _ in range(3)] == [200, 200, 429]
        assert client.app.state.api.asked == [client.app.state.api.asked[0]] * 2
        assert _visitor(client).get("/web/updates").status_code == 200


def test_a_web_chat_limit_holds_across_two_gateways_sharing_redis():
    with temporary_prefix() as (url, prefix):
        shared = {
            "redis_url": url,
            "rate_limit_prefix": prefix,
            "rate_limit_web_message_per_identity": "2/minute",
            "web_session_secret": "replicas-share-this-secret-0123456789",
        }
        with gateway(**shared) as one, gateway(**shared) as two:
            assert _say(one).status_code == 200
            two.cookies.set("paju_chat", one.cookies.get("paju_chat"))  # the same browser, behind a balancer
            answers = [_say(replica).status_code for replica in (two, one, two)]
            assert answers == [200, 429, 429]


def test_web_chat_limits_reset_after_their_window():
    with temporary_prefix() as (url, prefix):
        limits = {"redis_url": url, "rate_limit_prefix": prefix, "rate_limit_web_message_per_identity": "1/second"}
        with gateway(**limits) as client:
            assert [_say(client).status_code for _ in range(2)] == [200, 429]
            time.sleep(1.1)
            assert _say(client).status_code == 200


# --- Telegram: per chat, whichever address Telegram's servers send from ------------------------------------------

CHAT, OTHER_CHAT = 5550101, 5550202
TOO_MANY = "요청이 너무 많아요."


async def test_a_telegram_chat_past_its_limit_is_told_once_and_its_messages_go_no_further():
    fake = FakeTelegram().start()
    settings = _settings(
        telegram_bot_token=fake.token, telegram_base_url=fake.base_url, rate_limit_telegram_per_chat="3/minute"
    )
    router = RecordingRouter()
    channel = TelegramChannel(settings, router, GatewayLimits(settings))
    await channel.start()
    try:
        for n in range(5):
            fake.send_text(CHAT, f"메시지 {n}")
        await fake.wait_for_async(lambda f: any(TOO_MANY in (m.get("text") or "") for m in f.sent(CHAT)))
        fake.send_text(OTHER_CHAT, "안녕하세요")  # another chat is answered as usual
        await fake.wait_for_async(lambda f: len(f.sent(OTHER_CHAT)) == 1)
        await asyncio.sleep(0.3)
        told = [m for m in fake.sent(CHAT) if TOO_MANY in (m.get("text") or "")]
        assert len(told) == 1
        handled = [m for m in router.handled if m.channel_user_id == str(CHAT)]
        assert len(handled) == 3
    finally:
        await channel.stop()
        fake.stop()
