"""Rasa lock store on Redis that changes a conversation's lock only by atomic scripts, so replicas can share it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis.commands.core import Script

logger = logging.getLogger(__name__)

# How late a waiter at most notices its turn. Rasa polls every second, which adds up to a second to every
# message queued behind another; one poll is a single sub-millisecond script in Redis, so even ten waiters
# of one conversation cost a few hundred calls a second, nothing to Redis.
POLL_INTERVAL_SECONDS = 0.025

# Rasa's lock store API is synchronous and runs on its event loop: a stalled Redis freezes every conversation
# of the server for this long before the call fails with LockError. A healthy call takes about a millisecond.
REDIS_TIMEOUT_SECONDS = 2.0

_OPTIONAL_CONFIG_KEYS = {"key_prefix"}

# A conversation's lock is a hash: ticket number -> expiry in Redis's clock (ms). The ticket numbers come from
# one counter that is never reset, so a number is never reused: a holder that outlived its ticket and cleans up
# late removes nothing but its own. Redis's clock, not each replica's, decides expiry, so replicas whose clocks
# disagree still agree on which tickets are live. A hash with no field left does not exist, so the key goes
# with the last ticket, in the same script that removed it.
_SHARED_LUA = """
local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- Drops the expired tickets; returns the latest expiry of those left (0 if none).
local function drop_expired(key, now)
  local fields = redis.call('HGETALL', key)
  local latest = 0
  for i = 1, #fields, 2 do
    local expires = tonumber(fields[i + 1])
    if expires <= now then
      redis.call('HDEL', key, fields[i])
    else
      latest = math.max(latest, expires)
    end
  end
  return latest
end

-- The key lives no longer than its last live ticket, so a conversation whose holders all died leaves nothing.
local function keep_until(key, latest)
  if latest > 0 then
    redis.call('PEXPIREAT', key, latest)
  end
end
"""

# KEYS: lock, ticket counter. ARGV: lifetime (ms). Returns the new ticket's number.
_ISSUE_TICKET = (
    _SHARED_LUA
    + """
local now = now_ms()
local latest = drop_expired(KEYS[1], now)
local number = redis.call('INCR', KEYS[2])
local expires = now + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], number, expires)
keep_until(KEYS[1], math.max(latest, expires))
return number
"""
)

# KEYS: lock. ARGV: ticket, lifetime (ms). Returns how many live tickets are ahead (0: the holder's turn),
# or -1 when the ticket itself has expired.
_TAKE_TURN = (
    _SHARED_LUA
    + """
local now = now_ms()
local latest = drop_expired(KEYS[1], now)
local ticket = tonumber(ARGV[1])
if redis.call('HEXISTS', KEYS[1], ticket) == 0 then
  return -1
end
-- A waiter that polls is alive: its lifetime counts from its last poll, so a long queue does not expire it.
local expires = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ticket, expires)
keep_until(KEYS[1], math.max(latest, expires))
local ahead = 0
for _, number in ipairs(redis.call('HKEYS', KEYS[1])) do
  if tonumber(number) < ticket then
    ahead = ahead + 1
  end
end
return ahead
"""
)

# KEYS: lock. ARGV: ticket. Removes that ticket and the expired ones, nothing else.
_FINISH_SERVING = (
    _SHARED_LUA
    + """
redis.call('HDEL', KEYS[1], ARGV[1])
keep_until(KEYS[1], drop_expired(KEYS[1], now_ms()))
return 0
"""
)

# KEYS: lock.
_DROP_EXPIRED = (
    _SHARED_LUA
    + """
keep_until(KEYS[1], drop_expired(KEYS[1], now_ms()))
return 0
"""
)


class AtomicRedisLockStore(LockStore):
    """Rasa's ticket lock for conversations, kept in Redis and changed only by atomic scripts.

    Config (endpoints.yml `lock_store`): `url` (redis://host:port/db) and optionally `key_prefix`.
    `save_lock` and `delete_lock` stay unimplemented on purpose: writing a whole lock read earlier is the
    very race (RasaHQ/rasa#9213) this store exists to avoid.
    """

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        unknown = set(endpoint_config.kwargs) - _OPTIONAL_CONFIG_KEYS
        if not endpoint_config.url or unknown:
            raise ValueError(
                f"lock_store {type(self).__name__} takes `url` (redis://host:port/db) and optionally "
                f"`key_prefix`; got url={endpoint_config.url!r} and unknown keys {sorted(unknown)}"
            )
        self._redis = redis.Redis.from_url(
            endpoint_config.url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        key_prefix = endpoint_config.kwargs.get("key_prefix")
        namespace = f"{key_prefix}:" if key_prefix else ""
        self.key_prefix = f"{namespace}lock:"
        # Not under `lock:`, so no conversation id can name it.
        self._ticket_counter_key = f"{namespace}lock_tickets_issued"
        self._issue_ticket = self._redis.register_script(_ISSUE_TICKET)
        self._take_turn = self._redis.register_script(_TAKE_TURN)
        self._finish_serving = self._redis.register_script(_FINISH_SERVING)
        self._drop_expired = self._redis.register_script(_DROP_EXPIRED)
        super().__init__()

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        """The lock as it is now, tickets in serving order; None when no ticket is held.

        Expiry is restated in this server's clock (TicketLock checks it against time.time()), so the
        snapshot reads right even where this server's clock and Redis's disagree.
        """
        read = self._redis.pipeline()
        read.time()
        read.hgetall(self.key_prefix + conversation_id)
        try:
            (seconds, microseconds), fields = read.execute()
        except redis.RedisError as error:
            raise LockError(f"Could not read the lock of conversation '{conversation_id}': {error}") from error
        if not fields:
            return None
        offset = time.time() - (seconds + microseconds / 1_000_000)
        numbered = sorted((int(number), int(expires) / 1000 + offset) for number, expires in fields.items())
        return TicketLock(conversation_id, deque(Ticket(number, expires) for number, expires in numbered))

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A new ticket, numbered after every ticket issued before for any conversation."""
        return self._run(
            self._issue_ticket,
            conversation_id,
            keys=[self.key_prefix + conversation_id, self._ticket_counter_key],
            args=[_milliseconds(lock_lifetime)],
        )

    def update_lock(self, conversation_id: str) -> None:
        """Drops the conversation's expired tickets."""
        self._run(self._drop_expired, conversation_id, keys=[self.key_prefix + conversation_id])

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Removes this ticket (and expired ones); the key goes with the last ticket."""
        self._run(self._finish_serving, conversation_id, keys=[self.key_prefix + conversation_id], args=[ticket_number])

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Rasa's two steps (finish serving, delete the lock if no one waits) are one script here."""
        self.finish_serving(conversation_id, ticket_number)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_INTERVAL_SECONDS,
    ) -> AsyncGenerator[TicketLock, None]:
        """Holds the conversation while the body runs; messages of one conversation go one at a time, in order.

        Raises LockError when Redis cannot be reached or the ticket expired while it waited.
        """
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            yield await self._wait_for_turn(conversation_id, ticket, lock_lifetime, wait_time_in_seconds)
        finally:
            self.cleanup(conversation_id, ticket)

    async def _wait_for_turn(
        self, conversation_id: str, ticket: int, lock_lifetime: float, wait_time_in_seconds: float
    ) -> TicketLock:
        key = self.key_prefix + conversation_id
        while True:
            ahead = self._run(self._take_turn, conversation_id, keys=[key], args=[ticket, _milliseconds(lock_lifetime)])
            if ahead == 0:
                return self.get_or_create_lock(conversation_id)
            if ahead < 0:
                raise LockError(f"Ticket {ticket} of conversation '{conversation_id}' expired while it waited.")
            logger.debug(f"Conversation '{conversation_id}': ticket {ticket} waits for {ahead} ahead of it.")
            await asyncio.sleep(wait_time_in_seconds)

    def _run(self, script: Script, conversation_id: str, keys: Sequence[str], args: Sequence[int] = ()) -> int:
        try:
            return script(keys=keys, args=args)
        except redis.RedisError as error:
            raise LockError(f"Could not update the lock of conversation '{conversation_id}': {error}") from error


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)
