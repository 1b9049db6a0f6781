"""One running stack (api, gateway, rasa, actions) shared by the end-to-end and browser tests."""

from collections.abc import Iterator

import pytest

from api.core.database import make_engine, make_sessionmaker
from api.knowledge.seed import seed_knowledge
from api.notices.seed import seed_notices
from api.opendata.seed import seed_opendata
from api.tours.seed import seed_tours
from tests.support.fake_kakao import FakeKakao
from tests.support.fake_sms import FakeSmsProvider
from tests.support.fake_telegram import FakeTelegram
from tests.support.stack import Stack
from tests.support.web_chat import WebChat


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
    """Sends web-chat messages as one new citizen (a browser of their own); returns the replies of each message."""
    citizen = WebChat(stack.url("gateway"))

    def send(text: str = "", payload: str | None = None, message_id: str | None = None) -> list[dict]:
        return citizen.send(text, payload, message_id)

    send.user_id = citizen.user_id
    send.history = citizen.history
    yield send
    citizen.close()


@pytest.fixture(scope="session")
def sms_provider() -> Iterator[FakeSmsProvider]:
    """Where the telegram stack's api sends one-time codes: the tests read them as the citizen's phone would."""
    provider = FakeSmsProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def telegram(tmp_path_factory, sms_provider) -> Iterator[tuple[FakeTelegram, Stack]]:
    fake = FakeTelegram().start()
    stack = Stack(
        tmp_path_factory.mktemp("telegram-stack"),
        # No quiet hours here: a test published at night would otherwise wait for the morning.
        extra_env={
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            "NOTICE_QUIET_START": "00:00",
            "NOTICE_QUIET_END": "00:00",
            **sms_provider.environment(),
        },
    )
    try:
        stack.start()
        engine = make_engine(stack.database_url)
        with make_sessionmaker(engine)() as session:
            seed_tours(session)
            seed_opendata(session)
            seed_notices(session)
            seed_knowledge(session)
            session.commit()
        engine.dispose()
        yield fake, stack
    finally:
        stack.stop_all()
        fake.stop()


@pytest.fixture(scope="session")
def kakao(tmp_path_factory) -> Iterator[tuple[FakeKakao, Stack]]:
    """A stack whose gateway serves the Kakao skill, and the fake Kakao platform that calls it and takes its calls."""
    fake = FakeKakao().start()
    stack = Stack(
        tmp_path_factory.mktemp("kakao-stack"),
        extra_env={**fake.environment(), "NOTICE_QUIET_START": "00:00", "NOTICE_QUIET_END": "00:00"},
    )
    try:
        stack.start()
        fake.connect(stack.url("gateway"))
        engine = make_engine(stack.database_url)
        with make_sessionmaker(engine)() as session:
            seed_tours(session)
            seed_opendata(session)
            seed_notices(session)
            seed_knowledge(session)
            session.commit()
        engine.dispose()
        yield fake, stack
        assert fake.new_breaches() == [], "answers after the last test broke Kakao's limits"
    finally:
        stack.stop_all()
        fake.stop()


@pytest.fixture(autouse=True)
def _within_kakao_limits(request):
    """Every answer the gateway gave Kakao during a test, callbacks and Event API calls included, is checked
    against Kakao's limits; the test fails on any breach, even when its own assertions passed."""
    yield
    if "kakao" in request.fixturenames:
        fake, _stack = request.getfixturevalue("kakao")
        assert fake.new_breaches() == [], "the gateway's answers broke Kakao's limits"
