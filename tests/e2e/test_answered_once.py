"""A citizen's message is answered exactly once, even when the gateway dies in the middle of answering it.

Rasa is frozen (SIGSTOP) so that the gateway hangs mid-turn, the gateway is killed (SIGKILL) and
started again; then the channel retries the message as it would: Telegram redelivers the update,
the web page sends the same message again. Nobody retrying, the sweep tells the citizen.
"""

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import create_engine, text

from api.automation import scheduler
from api.automation.jobs import JOBS
from api.core.database import make_engine, make_sessionmaker
from api.core.settings import Settings
from common.clock import utcnow
from tests.support.fake_telegram import FakeTelegram
from tests.support.stack import Stack
from tests.support.telegram_chat import Chat
from tests.support.web_chat import WebChat

pytestmark = pytest.mark.stack

LEASE_SECONDS = 6  # how long a dead gateway's hold on a message lasts here (20 by default)
GREETING = "파주시 시민 도우미"
APOLOGY = "상담봇이 잠시 응답하지 못하고"


@pytest.fixture(scope="module")
def crashing(tmp_path_factory) -> Iterator[tuple[FakeTelegram, Stack]]:
    """A stack of its own: its gateway is killed and started again."""
    fake = FakeTelegram().start()
    stack = Stack(
        tmp_path_factory.mktemp("crash-stack"),
        extra_env={
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            "TURN_LEASE_SECONDS": str(LEASE_SECONDS),
        },
    )
    try:
        stack.start()
        yield fake, stack
    finally:
        for name in list(stack.processes):
            stack.thaw(name)  # a stopped process would ignore the stop signal
        stack.stop_all()
        fake.stop()


def _incoming(stack: Stack, channel: str, user: str) -> list[dict]:
    engine = create_engine(stack.database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT m.channel_message_id, m.status, m.leased_until FROM messages m "
                "JOIN conversations c ON c.id = m.conversation_id "
                "WHERE c.channel = :channel AND c.channel_user_id = :user AND m.direction = 'in' ORDER BY m.id"
            ),
            {"channel": channel, "user": user},
        ).mappings()
        found = [dict(row) for row in rows]
    engine.dispose()
    return found


def _wait(condition, timeout: float = 30, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(every)
    raise AssertionError(f"not true after {timeout}s")


def _crash_mid_turn(stack: Stack, channel: str, user: str, send) -> None:
    """Sends a message while Rasa hangs, kills the gateway answering it, and starts a new one once its hold ran out."""
    before = len(_incoming(stack, channel, user))
    stack.freeze("rasa")
    send()
    _wait(lambda: len(_incoming(stack, channel, user)) > before)
    time.sleep(1)  # the gateway is waiting for Rasa now
    stack.kill("gateway")
    stack.thaw("rasa")
    [received] = _incoming(stack, channel, user)[before:]
    assert received["status"] == "received", "recorded, not answered"
    time.sleep(LEASE_SECONDS + 1)  # nobody extends the dead gateway's hold on the message
    stack.launch("gateway", stack.commands()["gateway"])
    stack.wait_ready(("gateway",), timeout=120)


def _bot_texts(fake: FakeTelegram, chat_id: int, after: int) -> list[str]:
    return [m.get("text") or "" for m in fake.sent(chat_id) if m["message_id"] > after]


def test_a_telegram_update_redelivered_after_the_gateway_died_mid_turn_is_answered_exactly_once(crashing):
    fake, stack = crashing
    assert GREETING in Chat(fake, 3001).say("안녕하세요")  # everything is up and answering

    sent = {}
    _crash_mid_turn(stack, "telegram", "3001", lambda: sent.setdefault("id", fake.send_text(3001, "안녕하세요")))
    # Telegram redelivers the update whose webhook call failed.
    fake.redeliver(3001, sent["id"])

    fake.wait_for(lambda f: _bot_texts(f, 3001, sent["id"]), timeout=60)
    time.sleep(3)  # nothing more comes
    answers = _bot_texts(fake, 3001, sent["id"])
    assert len(answers) == 1 and GREETING in answers[0], answers
    assert _incoming(stack, "telegram", "3001")[-1]["status"] == "answered"


def test_a_web_message_sent_again_after_the_gateway_died_mid_turn_is_answered_exactly_once(crashing):
    stack = crashing[1]
    citizen = WebChat(stack.url("gateway"), timeout=60)
    assert GREETING in " ".join(r.get("text") or "" for r in citizen.send("안녕하세요"))
    message_id = "web-crash-1"
    cut_off: list[Exception] = []

    def send() -> None:
        def post() -> None:
            try:
                citizen.post("안녕하세요", message_id=message_id)
            except httpx.HTTPError as error:  # the gateway died under the request
                cut_off.append(error)

        threading.Thread(target=post, daemon=True).start()

    _crash_mid_turn(stack, "web", citizen.user_id, send)
    _wait(lambda: cut_off, timeout=10)

    # The page sends the same message again, with the same id, until it gets an answer.
    def answered():
        response = citizen.post("안녕하세요", message_id=message_id)
        return response.json()["replies"] if response.status_code == 200 else None

    replies = _wait(answered, timeout=60, every=1)
    texts = " ".join(r.get("text") or "" for r in replies)
    assert GREETING in texts and APOLOGY not in texts
    history = citizen.history()
    retried = [i for i, m in enumerate(history) if m["direction"] == "in"][1]
    assert [m["text"] for m in history[retried + 1 :]] == [r.get("text") for r in replies], "one answer, recorded once"
    assert [m["status"] for m in _incoming(stack, "web", citizen.user_id)] == ["answered", "answered"]
    citizen.close()


def test_a_message_nobody_retried_after_the_gateway_died_gets_a_note_to_send_it_again(crashing):
    fake, stack = crashing
    assert GREETING in Chat(fake, 3002).say("안녕하세요")

    sent = {}
    _crash_mid_turn(stack, "telegram", "3002", lambda: sent.setdefault("id", fake.send_text(3002, "내일 투어 있나요?")))
    time.sleep(2)
    assert _bot_texts(fake, 3002, sent["id"]) == [], "the update was not delivered again"

    # The scheduler's sweep, run as it would be once the grace period has passed.
    settings = Settings(database_url=stack.database_url)
    engine = make_engine(stack.database_url)
    later = utcnow() + timedelta(minutes=settings.unanswered_grace_minutes, seconds=LEASE_SECONDS + 5)
    run = scheduler.run_now(make_sessionmaker(engine), "unanswered", later, settings=settings, jobs=JOBS)
    engine.dispose()
    assert run.counts == {"told": 1}

    fake.wait_for(lambda f: _bot_texts(f, 3002, sent["id"]), timeout=30)
    time.sleep(2)
    assert _bot_texts(fake, 3002, sent["id"]) == [
        "죄송해요, 보내신 메시지(“내일 투어 있나요?”)에 상담봇이 답하지 못했어요. 다시 한번 보내 주세요."
    ]
    assert _incoming(stack, "telegram", "3002")[-1]["status"] == "unanswered"


def test_a_web_message_whose_rasa_died_mid_turn_gets_an_apology_and_a_real_answer_when_sent_again(crashing):
    stack = crashing[1]
    citizen = WebChat(stack.url("gateway"), timeout=60)
    assert GREETING in " ".join(r.get("text") or "" for r in citizen.send("안녕하세요"))
    message_id = "web-rasa-died-1"
    answers: list[httpx.Response] = []
    before = len(_incoming(stack, "web", citizen.user_id))

    stack.freeze("rasa")
    threading.Thread(
        target=lambda: answers.append(citizen.post("안녕하세요", message_id=message_id)), daemon=True
    ).start()
    _wait(lambda: len(_incoming(stack, "web", citizen.user_id)) > before)
    time.sleep(1)  # the gateway is waiting for Rasa now
    stack.kill("rasa")  # Rasa dies in the middle of the turn

    _wait(lambda: answers, timeout=30)
    first = " ".join(r.get("text") or "" for r in answers[0].json()["replies"])
    assert APOLOGY in first, first  # told at once that the assistant is down, and to send it again
    assert _incoming(stack, "web", citizen.user_id)[-1]["status"] == "unanswered"

    stack.launch("rasa", stack.commands()["rasa"])
    stack.wait_ready(("rasa",), timeout=180)
    again = citizen.post("안녕하세요", message_id=message_id)  # the citizen sends it again
    texts = " ".join(r.get("text") or "" for r in again.json()["replies"])
    assert GREETING in texts, texts
    assert _incoming(stack, "web", citizen.user_id)[-1]["status"] == "answered"
