"""Two replicas of every process on PostgreSQL and Redis behind HAProxy (deploy/cluster.py, as `make cluster` runs
them), proven while replicas die: citizens keep their conversations, bookings and notices arrive once."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text, update

from api.core.database import make_engine, make_sessionmaker
from api.core.public_holidays import PublicHolidays
from api.notices.seed import seed_notices
from api.staff.permissions import NOTICES_PUBLISH
from api.staff.service import create_user
from api.tours.models import Run
from api.tours.seed import seed_tours
from api.tours.service import is_closed
from common import clock
from common.rasa_auth import rasa_authorization
from deploy.cluster import KINDS, ROOT, Cluster
from tests.support.citizens import TRY_AGAIN, Citizen, TelegramCitizen, WebCitizen
from tests.support.fake_telegram import FakeTelegram
from tests.support.postgres import temporary_database
from tests.support.redis_server import temporary_prefix
from tests.support.stack import LOOPBACK_LIMITS

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

CITIZENS = 60
SEATS_PER_RUN = 15  # the bookers of each of the two days, exactly: one seat too many sold would show
STAFF_EMAIL, STAFF_PASSWORD = "cluster-staff@paju.test", "클러스터-테스트-비밀번호-2026"
WEBHOOK_SECRET = "cluster-webhook-secret"
TELEGRAM_CHAT_IDS = 61_000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[tuple[Cluster, FakeTelegram]]:
    fake = FakeTelegram().start()
    with temporary_database() as database, temporary_database() as tracker, temporary_prefix() as (redis, prefix):
        running = Cluster.on_free_ports(
            tmp_path_factory.mktemp("cluster"),
            database_url=database,
            tracker_url=tracker,
            redis_url=redis,
            key_prefix=prefix,
        )
        running.extra_env = {
            **LOOPBACK_LIMITS,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            # Two gateways cannot both poll Telegram: replicas take its updates by webhook, through HAProxy.
            "TELEGRAM_WEBHOOK_URL": f"{running.url('gateway')}/telegram/webhook",
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "NOTICE_QUIET_START": "00:00",
            "NOTICE_QUIET_END": "00:00",
            "MODEL_PULL_SECONDS": "5",
        }
        try:
            running.prepare()
            engine = make_engine(database)
            with make_sessionmaker(engine)() as session:
                seed_tours(session)
                seed_notices(session)
                create_user(session, STAFF_EMAIL, "김배포", STAFF_PASSWORD, permissions=[NOTICES_PUBLISH])
                session.commit()
            engine.dispose()
            running.start()
            yield running, fake
        finally:
            running.stop_all()
            fake.stop()


def _open_days(count: int, days_ahead: int = 4) -> list:
    found, day = [], clock.today() + timedelta(days=days_ahead)
    while len(found) < count:
        if not is_closed(day, PublicHolidays()):
            found.append(day)
        day += timedelta(days=1)
    return found


def _kill_and_restart_one_replica_of_each(running: Cluster, pause: float = 1.5) -> None:
    for kind in KINDS:
        running.kill(f"{kind}-1")
        time.sleep(pause)
    for kind in KINDS:
        running.restart(f"{kind}-1")


def _transcripts(database_url: str) -> dict[tuple[str, str], list[tuple[int, str, int | None, str | None]]]:
    """Each conversation's messages in order: (id, direction, reply_to_id, text)."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.channel, c.channel_user_id, m.id, m.direction, m.reply_to_id, m.text "
                "FROM messages m JOIN conversations c ON c.id = m.conversation_id ORDER BY m.id"
            )
        ).all()
    engine.dispose()
    found: dict[tuple[str, str], list] = {}
    for row in rows:
        found.setdefault((row.channel, row.channel_user_id), []).append(
            (row.id, row.direction, row.reply_to_id, row.text)
        )
    return found


def _check_one_answer_each_in_order(citizen: Citizen, transcript: list) -> None:
    incoming = [message for message in transcript if message[1] == "in"]
    answers = {message_id: [m for m in transcript if m[2] == message_id] for message_id, *_ in incoming}
    assert len(incoming) == len(citizen.exchanges), (
        f"{citizen.name}: {len(incoming)} recorded, {len(citizen.exchanges)} sent"
    )
    for message_id, *_ in incoming:
        assert answers[message_id], f"{citizen.name}: message {message_id} has no answer"
    # The answers follow the messages they answer: none comes after a later message.
    answered_in = [answer[2] for answer in transcript if answer[1] == "out" and answer[2] is not None]
    assert answered_in == sorted(answered_in), f"{citizen.name}: answers out of order"


# Holds one conversation's lock through the lock store every Rasa replica uses, as a turn still running on a third
# replica would, until a line arrives on stdin.
HOLD_LOCK = """
import asyncio, sys
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig

async def hold(url, prefix, conversation):
    config = {"type": "bot.nlu.lock_store.AtomicRedisLockStore", "url": url, "key_prefix": prefix}
    async with LockStore.create(EndpointConfig.from_dict(config)).lock(conversation):
        print("held", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

asyncio.run(hold(*sys.argv[1:]))
"""


def test_ten_messages_of_one_conversation_at_two_rasa_replicas_are_processed_one_at_a_time_in_arrival_order(cluster):
    running, _fake = cluster
    sender = f"web:{uuid.uuid4().hex}"
    environment = running.environment("rasa")
    holder = subprocess.Popen(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", HOLD_LOCK, running.redis_url,
         environment["LOCK_STORE_PREFIX"], sender],
        cwd=ROOT, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        answers: dict[int, list] = {}

        def send(n: int) -> None:
            replica = running.replica_url(f"rasa-{n % 2 + 1}")
            body = {"sender": sender, "message": f"안녕하세요 {n}", "metadata": {"channel": "web"}}
            answers[n] = httpx.post(f"{replica}/webhooks/gateway/webhook", json=body, timeout=60).json()["messages"]

        # Alternately to each replica, each as soon as the one before has taken its ticket (its place in the queue,
        # which is what arrival order means here): all ten wait behind the held lock, in a known order.
        lock = redis.Redis.from_url(running.redis_url)
        lock_key = f"{environment['LOCK_STORE_PREFIX']}:lock:{sender}"
        senders = [threading.Thread(target=send, args=(n,)) for n in range(10)]
        for n, thread in enumerate(senders):
            thread.start()
            deadline = time.monotonic() + 10
            while lock.hlen(lock_key) < n + 2 and time.monotonic() < deadline:
                time.sleep(0.002)
            assert lock.hlen(lock_key) == n + 2, "a message did not take its place in the queue"
        lock.close()
        time.sleep(0.5)
        assert not answers  # none was processed while another turn held the conversation
        holder.stdin.write("release\n")
        holder.stdin.flush()
        for thread in senders:
            thread.join(timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert all(answers[n] for n in range(10))

    tracker = httpx.get(
        f"{running.replica_url('rasa-1')}/conversations/{sender}/tracker",
        headers=rasa_authorization(running.secrets["RASA_JWT_SECRET"], "cluster-test"),
        timeout=30,
    ).json()
    said = [(event["event"], event.get("text") or event.get("name")) for event in tracker["events"]]
    users = [words for kind, words in said if kind == "user"]
    assert users == [f"안녕하세요 {n}" for n in range(10)]
    # One at a time: after each message, the assistant answered and listened before the next message came in.
    turns = [kind for kind, name in said if kind in ("user", "bot") or (kind, name) == ("action", "action_listen")]
    listens = [name for kind, name in said if kind == "action" and name == "action_listen"]
    assert len(listens) >= 10
    for position, kind in enumerate(turns):
        if kind == "user" and position:
            assert turns[position - 1] == "action", f"a message began before the one before it was answered: {said}"


def test_sixty_citizens_finish_their_conversations_while_one_replica_of_each_process_is_killed(cluster):
    running, fake = cluster
    days = _open_days(2)
    engine = create_engine(running.database_url)
    with engine.begin() as connection:
        connection.execute(update(Run).where(Run.date.in_(days)).values(capacity=SEATS_PER_RUN))
    engine.dispose()

    citizens: list[Citizen] = []
    for n in range(CITIZENS):
        if n % 2:
            citizens.append(TelegramCitizen(f"telegram-{n}", fake, TELEGRAM_CHAT_IDS + n))
        else:
            citizens.append(WebCitizen(f"web-{n}", running.url("gateway")))

    def converse(n: int, citizen: Citizen) -> None:
        time.sleep(n * 0.15)  # people do not all start at the same instant
        if n % 4 < 2:
            citizen.book(days[n % 2], f"010-{7000 + n:04d}-{1000 + n:04d}")  # web on one day, Telegram the other
        else:
            citizen.subscribe_to_traffic_notices()

    failures: list[str] = []
    with ThreadPoolExecutor(max_workers=CITIZENS) as pool:
        conversations = [pool.submit(converse, n, citizen) for n, citizen in enumerate(citizens)]
        time.sleep(5)  # most conversations are under way
        killer = threading.Thread(target=_kill_and_restart_one_replica_of_each, args=(running,))
        killer.start()
        for conversation in conversations:
            try:
                conversation.result(timeout=600)
            except Exception as broken:  # every broken conversation is reported, not only the first
                failures.append(f"{type(broken).__name__}: {broken}")
        killer.join(timeout=600)
    bookers = [citizen for n, citizen in enumerate(citizens) if n % 4 < 2]
    engine = create_engine(running.database_url)
    with engine.connect() as connection:
        bookings = connection.execute(
            text("SELECT code, run_id, seats, channel, channel_user_id FROM bookings WHERE status = 'confirmed'")
        ).all()
        runs = connection.execute(
            text("SELECT id, capacity, seats_sold FROM runs WHERE id IN (SELECT run_id FROM bookings)")
        ).all()
    engine.dispose()
    broken_names = {line.split(":")[1].strip() for line in failures}
    assert not failures, "\n".join(
        [*failures, f"bookings: {[tuple(b) for b in bookings]}", f"runs: {[tuple(r) for r in runs]}"]
        + [f"{c.name}: {c.exchanges}" for c in citizens if c.name in broken_names]
    )
    assert sorted(b.code for b in bookings) == sorted(c.booking_code for c in bookers)  # none lost, none twice
    seats_by_run = Counter()
    for booking in bookings:
        seats_by_run[booking.run_id] += booking.seats
    for run in runs:
        assert run.seats_sold == seats_by_run[run.id] <= run.capacity

    transcripts = _transcripts(running.database_url)
    for citizen in citizens:
        if isinstance(citizen, WebCitizen):
            transcript = transcripts[("web", citizen.chat.user_id)]
        else:
            transcript = transcripts[("telegram", str(citizen.chat_id))]
            # Telegram got each recorded answer once: the only extra messages are "try again" from a gateway that
            # could not reach the api (nothing was recorded then).
            sent = [m for m in fake.sent(citizen.chat_id) if not any(w in (m.get("text") or "") for w in TRY_AGAIN)]
            recorded = [m for m in transcript if m[1] == "out" and not any(w in (m[3] or "") for w in TRY_AGAIN)]
            assert len(sent) == len(recorded), f"{citizen.name}: {len(sent)} sent, {len(recorded)} recorded"
        _check_one_answer_each_in_order(citizen, transcript)
    apologies = sum(citizen.apologies for citizen in citizens)
    print(f"\n{CITIZENS} citizens, {len(bookings)} bookings, {apologies} 'please try again'")

    _a_notice_reaches_every_subscriber_once_while_a_gateway_dies(
        running, fake, [c for n, c in enumerate(citizens) if n % 4 >= 2]
    )


def _a_notice_reaches_every_subscriber_once_while_a_gateway_dies(
    running: Cluster, fake: FakeTelegram, subscribers: list[Citizen]
) -> None:
    signed_in = httpx.post(
        f"{running.url('api')}/api/auth/sign-in", json={"email": STAFF_EMAIL, "password": STAFF_PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    title = "문산읍 교량 보수 공사에 따른 통행 제한 안내(예시)"
    notice = {
        "category": "traffic",
        "department": "도로관리과",
        "title": title,
        "body": "12월 14일부터 16일까지 문산읍 당동교 보수 공사로 한 차로만 통행할 수 있습니다.",
        "summary": "12/14~16 당동교 한 차로 통행.",
        "publish": True,
    }
    created = httpx.post(f"{running.url('api')}/api/notices", json=notice, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    assert created.json()["messages_queued"] == len(subscribers)
    time.sleep(0.3)
    running.kill("gateway-2")  # mid-delivery: its leased messages go out again from the other gateway
    running.restart("gateway-2")

    deadline = time.monotonic() + 120
    pending = set(range(len(subscribers)))
    while pending and time.monotonic() < deadline:
        for index in sorted(pending):
            citizen = subscribers[index]
            if isinstance(citizen, WebCitizen):
                got = [u for u in citizen.poll_updates() if title in (u.get("text") or "")]
            else:
                got = [m for m in fake.sent(citizen.chat_id) if title in (m.get("text") or "")]
            if got:
                pending.discard(index)
        time.sleep(1)
    assert not pending, f"{len(pending)} subscribers never got the notice"
    time.sleep(3)  # a redelivery, if any, has arrived

    engine = create_engine(running.database_url)
    with engine.connect() as connection:
        outbox = connection.execute(
            text(
                "SELECT c.channel, c.channel_user_id, o.status, o.attempts FROM outbox o "
                "JOIN conversations c ON c.id = o.conversation_id WHERE o.kind = 'notice'"
            )
        ).all()
    engine.dispose()
    attempts = {(row.channel, row.channel_user_id): row.attempts for row in outbox}
    assert {row.status for row in outbox} == {"delivered"}
    for citizen in subscribers:
        if isinstance(citizen, WebCitizen):
            # The page de-duplicates by message id: each id counts once, and there is exactly one.
            ids = {u["id"] for u in citizen.updates if title in (u.get("text") or "")}
            assert len(ids) == 1, citizen.name
        else:
            times = sum(title in (m.get("text") or "") for m in fake.sent(citizen.chat_id))
            # At least once; again only when the outbox records a second attempt (a gateway died after sending).
            assert 1 <= times <= attempts[("telegram", str(citizen.chat_id))], citizen.name
