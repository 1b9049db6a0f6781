"""The lock store two Rasa replicas share: one message of a conversation at a time, in order, across servers."""

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from bot.nlu.lock_store import REDIS_TIMEOUT_SECONDS, AtomicRedisLockStore
from tests.support.redis_server import temporary_prefix

CONVERSATION = "web:citizen-7"
CLOSED_PORT_URL = "redis://127.0.0.1:9/15"


@pytest.fixture
def server() -> Iterator[tuple[str, str]]:
    with temporary_prefix() as (url, prefix):
        yield url, prefix


def _ours(server: tuple[str, str]) -> AtomicRedisLockStore:
    url, prefix = server
    return AtomicRedisLockStore(EndpointConfig(url=url, key_prefix=prefix))


def _stock(server: tuple[str, str]) -> RedisLockStore:
    url, prefix = server
    address = urlparse(url)
    store = RedisLockStore(host=address.hostname, port=address.port, db=int(address.path.lstrip("/")))
    # Rasa takes only alphanumeric prefixes, and the test's has hyphens: set the key prefix it would have built.
    store.key_prefix = f"{prefix}:lock:"
    return store


def _lock_key_exists(server: tuple[str, str]) -> bool:
    url, prefix = server
    with redis.Redis.from_url(url) as client:
        return bool(client.exists(f"{prefix}:lock:{CONVERSATION}"))


def test_two_stock_rasa_servers_issuing_at_once_both_get_ticket_zero_and_both_are_served(server):
    first, second = _stock(server), _stock(server)

    # RedisLockStore.issue_ticket's three steps (get, issue, save), as two servers may run them side by side.
    lock_read_by_first = first.get_or_create_lock(CONVERSATION)
    lock_read_by_second = second.get_or_create_lock(CONVERSATION)
    ticket_of_first = lock_read_by_first.issue_ticket(60)
    ticket_of_second = lock_read_by_second.issue_ticket(60)
    first.save_lock(lock_read_by_first)
    second.save_lock(lock_read_by_second)

    assert ticket_of_first == ticket_of_second == 0
    stored = first.get_lock(CONVERSATION)
    assert len(stored.tickets) == 1, "the second save overwrote the first server's ticket"
    assert not stored.is_locked(ticket_of_first) and not stored.is_locked(ticket_of_second)


def test_our_servers_that_read_the_lock_before_either_issues_still_get_different_tickets_and_only_one_is_served(
    server,
):
    first, second = _ours(server), _ours(server)

    lock_read_by_first = first.get_or_create_lock(CONVERSATION)
    second.get_or_create_lock(CONVERSATION)
    ticket_of_first = first.issue_ticket(CONVERSATION)
    ticket_of_second = second.issue_ticket(CONVERSATION)

    assert ticket_of_second > ticket_of_first
    stored = second.get_lock(CONVERSATION)
    assert [ticket.number for ticket in stored.tickets] == [ticket_of_first, ticket_of_second]
    assert not stored.is_locked(ticket_of_first) and stored.is_locked(ticket_of_second)
    with pytest.raises(NotImplementedError):
        first.save_lock(lock_read_by_first)


def test_a_stock_rasa_cleanup_deletes_the_ticket_another_server_issued_between_its_steps(server):
    first, second = _stock(server), _stock(server)
    ticket_of_first = first.issue_ticket(CONVERSATION)

    # RedisLockStore.cleanup's steps (finish serving, ask whether anyone waits, delete), with the second
    # server issuing a ticket after the question and before the deletion.
    first.finish_serving(CONVERSATION, ticket_of_first)
    nobody_waits = not first.is_someone_waiting(CONVERSATION)
    ticket_of_second = second.issue_ticket(CONVERSATION)
    if nobody_waits:
        first.delete_lock(CONVERSATION)

    assert second.get_lock(CONVERSATION) is None, "the second server's ticket went with the deleted lock"
    assert second.issue_ticket(CONVERSATION) == ticket_of_second, "so the next message is served alongside it"


def test_our_cleanup_leaves_the_ticket_another_server_issued_and_the_key_goes_with_the_last_ticket(server):
    first, second = _ours(server), _ours(server)
    ticket_of_first = first.issue_ticket(CONVERSATION)
    ticket_of_second = second.issue_ticket(CONVERSATION)

    first.cleanup(CONVERSATION, ticket_of_first)

    stored = second.get_lock(CONVERSATION)
    assert [ticket.number for ticket in stored.tickets] == [ticket_of_second]
    assert not stored.is_locked(ticket_of_second)
    second.cleanup(CONVERSATION, ticket_of_second)
    assert not _lock_key_exists(server)


def test_a_stock_rasa_holder_that_outlived_its_ticket_removes_the_next_holders_ticket_when_it_cleans_up(server):
    first, second = _stock(server), _stock(server)
    ticket_of_first = first.issue_ticket(CONVERSATION, lock_lifetime=0.05)
    time.sleep(0.1)

    ticket_of_second = second.issue_ticket(CONVERSATION)
    first.cleanup(CONVERSATION, ticket_of_first)

    assert ticket_of_second == ticket_of_first, "numbering starts again once every ticket has expired"
    assert second.get_lock(CONVERSATION) is None


def test_our_holder_that_outlived_its_ticket_leaves_the_next_holders_ticket_when_it_cleans_up(server):
    first, second = _ours(server), _ours(server)
    ticket_of_first = first.issue_ticket(CONVERSATION, lock_lifetime=0.05)
    time.sleep(0.1)

    ticket_of_second = second.issue_ticket(CONVERSATION)
    first.cleanup(CONVERSATION, ticket_of_first)

    assert ticket_of_second > ticket_of_first
    assert [ticket.number for ticket in second.get_lock(CONVERSATION).tickets] == [ticket_of_second]


class Visits:
    """What the holders of the lock saw: their tickets, when they entered and left, and how many held it at once."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._holding = 0
        self.most_at_once = 0
        self.seen: list[tuple[int, float, float]] = []

    def enter(self) -> float:
        with self._guard:
            self._holding += 1
            self.most_at_once = max(self.most_at_once, self._holding)
        return time.monotonic()

    def leave(self, ticket: int, entered: float) -> None:
        with self._guard:
            self._holding -= 1
            self.seen.append((ticket, entered, time.monotonic()))


def test_twelve_messages_on_two_servers_are_served_one_at_a_time_in_ticket_order(server):
    servers = [_ours(server), _ours(server)]
    messages = 12
    all_ready = threading.Barrier(messages)
    visits = Visits()

    async def handle(number: int) -> None:
        all_ready.wait()
        async with servers[number % 2].lock(CONVERSATION) as lock:
            entered = visits.enter()
            await asyncio.sleep(0.01)
            visits.leave(lock.now_serving, entered)

    # A thread and an event loop per message, as on separate servers: their Redis calls truly interleave.
    with ThreadPoolExecutor(max_workers=messages) as pool:
        list(pool.map(lambda number: asyncio.run(handle(number)), range(messages)))

    in_order_served = sorted(visits.seen, key=lambda visit: visit[1])
    tickets = [ticket for ticket, _, _ in in_order_served]
    assert len(set(tickets)) == messages
    assert tickets == sorted(tickets)
    assert visits.most_at_once == 1
    assert all(earlier[2] <= later[1] for earlier, later in itertools.pairwise(in_order_served))
    assert not _lock_key_exists(server)


async def test_ten_queued_messages_of_one_conversation_pass_in_well_under_the_second_rasa_sleeps_per_poll(server):
    store = _ours(server)

    async def handle() -> None:
        async with store.lock(CONVERSATION):
            await asyncio.sleep(0)

    started = time.monotonic()
    await asyncio.gather(*(handle() for _ in range(10)))

    assert time.monotonic() - started < 1.0


async def test_a_ticket_whose_holder_died_stops_blocking_after_its_lifetime(server):
    first, second = _ours(server), _ours(server)
    first.issue_ticket(CONVERSATION, lock_lifetime=0.3)  # never cleaned up: its server died

    started = time.monotonic()
    async with second.lock(CONVERSATION):
        waited = time.monotonic() - started

    assert 0.25 <= waited < 1.5
    assert not _lock_key_exists(server)


def test_a_conversation_whose_only_holder_died_leaves_no_key_behind(server):
    _ours(server).issue_ticket(CONVERSATION, lock_lifetime=0.2)
    assert _lock_key_exists(server)

    time.sleep(0.4)

    assert not _lock_key_exists(server)


async def test_a_waiter_keeps_its_place_however_much_longer_than_its_lifetime_the_holder_takes(server):
    first, second = _ours(server), _ours(server)
    holding = asyncio.Event()
    order = []

    async def hold() -> None:
        async with first.lock(CONVERSATION, lock_lifetime=5):
            holding.set()
            await asyncio.sleep(0.9)
            order.append("holder left")

    async def wait() -> None:
        await holding.wait()
        async with second.lock(CONVERSATION, lock_lifetime=0.3):
            order.append("waiter entered")

    await asyncio.gather(hold(), wait())

    assert order == ["holder left", "waiter entered"]


async def test_an_unreachable_redis_raises_lock_error_at_once_instead_of_hanging():
    store = AtomicRedisLockStore(EndpointConfig(url=CLOSED_PORT_URL))

    started = time.monotonic()
    with pytest.raises(LockError):
        async with store.lock(CONVERSATION):
            pass

    assert time.monotonic() - started < REDIS_TIMEOUT_SECONDS


async def test_rasa_builds_our_store_from_the_lock_store_endpoint_config(server):
    url, prefix = server
    config = {"type": "bot.nlu.lock_store.AtomicRedisLockStore", "url": url, "key_prefix": prefix}

    store = LockStore.create(EndpointConfig.from_dict(config))

    assert isinstance(store, AtomicRedisLockStore)
    async with store.lock(CONVERSATION):
        assert _lock_key_exists(server)
    assert not _lock_key_exists(server)


def test_rasa_reads_our_store_from_endpoints_yml_with_the_url_from_the_environment(server, tmp_path, monkeypatch):
    url, _ = server
    monkeypatch.setenv("REDIS_URL", url)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "lock_store:\n  type: bot.nlu.lock_store.AtomicRedisLockStore\n  url: ${REDIS_URL}\n  key_prefix: paju\n"
    )

    store = LockStore.create(read_endpoint_config(str(endpoints), "lock_store"))

    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix == "paju:lock:"


def test_a_misspelt_config_key_stops_rasa_from_starting(server):
    url, _ = server
    config = {"type": "bot.nlu.lock_store.AtomicRedisLockStore", "url": url, "keyprefix": "paju"}

    with pytest.raises(ValueError, match="keyprefix"):
        LockStore.create(EndpointConfig.from_dict(config))
