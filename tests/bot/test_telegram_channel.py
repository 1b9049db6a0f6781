"""The Telegram channel against the fake Bot API: a pressed keyboard that could not be answered comes back."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from bot.gateway.api_client import ApiClient, ApiUnavailable
from bot.gateway.channels.telegram import TEXTS, TelegramChannel
from bot.gateway.messages import Button, IncomingMessage, Reply
from bot.gateway.own_replies import own_reply
from bot.gateway.rasa_client import RasaClient
from bot.gateway.router import MessageRouter
from bot.gateway.settings import GatewaySettings
from tests.support.fake_telegram import FakeTelegram

CHAT = 5550101
TOKEN = "telegram-channel-test-token-0123"
CLOSED_PORT = "http://127.0.0.1:9"
MENU = [Button(title="투어 예약", payload="/book_tour"), Button(title="도움말", payload="/help")]


class ScriptedRouter:
    """Stands in for the router: each message gets the next outcome, its replies or the error it raises."""

    def __init__(self, *outcomes: list[Reply] | Exception) -> None:
        self.outcomes = list(outcomes)
        self.pressed: list[str | None] = []

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        self.pressed.append(message.payload)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@asynccontextmanager
async def telegram(router) -> AsyncIterator[tuple[FakeTelegram, TelegramChannel]]:
    fake = FakeTelegram().start()
    settings = GatewaySettings(
        _env_file=None, telegram_bot_token=fake.token, telegram_base_url=fake.base_url, telegram_webhook_url=""
    )
    channel = TelegramChannel(settings, router)
    await channel.start()
    try:
        yield fake, channel
    finally:
        await channel.stop()
        fake.stop()


async def _offer_menu(fake: FakeTelegram, channel: TelegramChannel) -> dict:
    """The bot's message with the menu keyboard, sent as the channel sends any message with buttons."""
    buttons = [button.model_dump() for button in MENU]
    delivery = await channel.deliver({"channel_user_id": str(CHAT), "text": "무엇을 도와드릴까요?", "buttons": buttons})
    assert delivery.status == "delivered"
    [menu] = fake.sent(CHAT)
    return menu


async def _press(fake: FakeTelegram, message: dict, callback_data: str) -> list[dict]:
    """Presses a button and waits for the bot's next message; returns everything the chat shows then."""
    before = len(fake.sent(CHAT))
    fake.press_button(CHAT, message["message_id"], callback_data)
    await fake.wait_for_async(lambda f: len(f.sent(CHAT)) > before, timeout=10)
    return fake.sent(CHAT)


async def test_a_press_the_api_could_not_take_gets_the_apology_with_the_keyboard_to_press_again():
    router = ScriptedRouter(ApiUnavailable("api down"), [Reply(text="도움말이에요.")])
    async with telegram(router) as (fake, channel):
        menu = await _offer_menu(fake, channel)
        keyboard = menu["reply_markup"]

        pressed, apology = await _press(fake, menu, "/help")
        # The keyboard gave way to the choice, and the apology brings it back.
        assert pressed["text"].endswith("✔ 도움말") and pressed["reply_markup"] is None
        assert apology["text"] == TEXTS["retry"]["ko"] and apology["reply_markup"] == keyboard

        # Pressed again, once the api is back, it is answered, and an answer brings no old keyboard back.
        *_, answer = await _press(fake, apology, "/help")
        assert answer["text"] == "도움말이에요." and answer["reply_markup"] is None
    assert router.pressed == ["/help", "/help"]


@pytest.fixture
def api_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, service_token=TOKEN))
    yield app
    app.state.engine.dispose()


async def test_a_press_rasa_could_not_answer_gets_the_routers_apology_with_the_keyboard_to_press_again(api_app):
    api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    # The api offered the menu in this conversation, so the press reaches the assistant, which is down.
    turn = await api.begin_turn(IncomingMessage("telegram", str(CHAT), uuid.uuid4().hex, text="메뉴"), "메뉴", "ko")
    await api.end_turn(turn["message_id"], [Reply(text="무엇을 도와드릴까요?", buttons=MENU)])
    router = MessageRouter(api, RasaClient(CLOSED_PORT, 2), max_nlu_chars=1000)
    async with telegram(router) as (fake, channel):
        menu = await _offer_menu(fake, channel)

        _pressed, apology = await _press(fake, menu, "/book_tour")
    assert apology["text"] == own_reply("assistant_down", "ko").text
    assert apology["reply_markup"] == menu["reply_markup"]


async def test_the_location_button_is_a_one_time_reply_keyboard_and_the_answer_to_the_location_takes_it_away():
    asked = [Reply(text="지금 계신 곳을 보내 주세요."), Reply(custom={"location_button": "📍 현재 위치 보내기"})]
    router = ScriptedRouter(asked, [Reply(text="보내 주신 위치를 받았어요."), Reply(text="무슨 일인지 적어 주세요.")])
    async with telegram(router) as (fake, _channel):
        fake.send_text(CHAT, "여기요")
        await fake.wait_for_async(lambda f: len(f.sent(CHAT)) == 1, timeout=10)
        [question] = fake.sent(CHAT)
        assert question["text"] == "지금 계신 곳을 보내 주세요."
        assert question["reply_markup"] == {
            "keyboard": [[{"text": "📍 현재 위치 보내기", "request_location": True}]],
            "one_time_keyboard": True,
            "resize_keyboard": True,
        }

        fake.send_location(CHAT, 37.7599, 126.7802)
        await fake.wait_for_async(lambda f: len(f.sent(CHAT)) == 3, timeout=10)
        _, received, next_question = fake.sent(CHAT)
    assert received["reply_markup"] == {"remove_keyboard": True}
    assert next_question["reply_markup"] is None


LINK = "https://www.paju.go.kr/www/contents.do?key=2871&tab=passport&from=knowledge-answer"  # over 64 bytes
ANSWER = Reply(
    text="여권은 민원여권과에서 발급해요.",
    buttons=[
        Button(title="자세히 보기 (누리집)", payload=LINK),
        Button(title="위험한 링크", payload="javascript:alert(1)"),
        Button(title="도움이 됐어요", payload="/affirm"),
    ],
)


async def test_a_link_is_a_url_button_beside_the_postbacks_and_stays_when_a_postback_is_pressed():
    router = ScriptedRouter([ANSWER], [Reply(text="고마워요.")])
    async with telegram(router) as (fake, _channel):
        fake.send_text(CHAT, "여권 어디서 만들어요?")
        await fake.wait_for_async(lambda f: len(f.sent(CHAT)) == 1, timeout=10)
        [answer] = fake.sent(CHAT)
        # The reply_markup as the Bot API received it: the link whole, no callback data, in its place.
        assert answer["reply_markup"] == {
            "inline_keyboard": [
                [{"text": "자세히 보기 (누리집)", "url": LINK}],
                [{"text": "도움이 됐어요", "callback_data": "/affirm"}],
            ]
        }

        pressed, thanks = await _press(fake, answer, "/affirm")
    assert pressed["text"].endswith("✔ 도움이 됐어요")
    assert pressed["reply_markup"] == {"inline_keyboard": [[{"text": "자세히 보기 (누리집)", "url": LINK}]]}
    assert thanks["text"] == "고마워요." and thanks["reply_markup"] is None
    assert router.pressed == [None, "/affirm"]


async def test_an_outbox_message_with_a_link_is_sent_with_a_url_button():
    async with telegram(ScriptedRouter()) as (fake, channel):
        buttons = [{"title": "공지 보기", "payload": LINK}, {"title": "위험", "payload": "javascript:alert(1)"}]
        delivery = await channel.deliver({"channel_user_id": str(CHAT), "text": "새 공지예요.", "buttons": buttons})
        assert delivery.status == "delivered"
        [notice] = fake.sent(CHAT)
    assert notice["reply_markup"] == {"inline_keyboard": [[{"text": "공지 보기", "url": LINK}]]}
