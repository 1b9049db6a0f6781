"""One running stack (api, gateway, rasa, actions) shared by the end-to-end and browser tests."""

import uuid
from collections.abc import Iterator

import httpx
import pytest

from api.core.database import make_engine, make_sessionmaker
from api.notices.seed import seed_notices
from api.opendata.seed import seed_opendata
from api.tours.seed import seed_tours
from tests.support.fake_telegram import FakeTelegram
from tests.support.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("stack"))
    try:
        running.start()
        yield running
    finally:
        running.stop_all()


@pytest.fixture
def chat(stack: Stack):
    """Sends web-chat messages as one new citizen; returns the replies of each message."""
    user_id = uuid.uuid4().hex
    client = httpx.Client(base_url=stack.url("gateway"), timeout=30)

    def send(text: str = "", payload: str | None = None, message_id: str | None = None) -> list[dict]:
        response = client.post(
            "/web/messages",
            json={"user_id": user_id, "message_id": message_id or uuid.uuid4().hex, "text": text, "payload": payload},
        )
        assert response.status_code == 200, response.text
        return response.json()["replies"]

    send.user_id = user_id
    send.history = lambda: client.get("/web/history", params={"user_id": user_id}).json()
    yield send
    client.close()


@pytest.fixture(scope="session")
def telegram(tmp_path_factory) -> Iterator[tuple[FakeTelegram, Stack]]:
    fake = FakeTelegram().start()
    stack = Stack(
        tmp_path_factory.mktemp("telegram-stack"),
        # No quiet hours here: a test published at night would otherwise wait for the morning.
        extra_env={
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            "NOTICE_QUIET_START": "00:00",
            "NOTICE_QUIET_END": "00:00",
        },
    )
    try:
        stack.start()
        engine = make_engine(stack.database_url)
        with make_sessionmaker(engine)() as session:
            seed_tours(session)
            seed_opendata(session)
            seed_notices(session)
            session.commit()
        engine.dispose()
        yield fake, stack
    finally:
        stack.stop_all()
        fake.stop()
