"""A key prefix of its own on the local Redis server (127.0.0.1:6379) for one test, removed afterwards."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

# A database number the running processes do not use: a test never touches their counts.
SERVER_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@contextmanager
def temporary_prefix() -> Iterator[tuple[str, str]]:
    """(Redis URL, key prefix): whatever is stored under the prefix is deleted when the test ends."""
    prefix = f"paju-test-{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(SERVER_URL)
    # Said plainly here: the apps would let every request through without their store, and the test would
    # fail on counts instead.
    client.ping()
    try:
        yield SERVER_URL, prefix
    finally:
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
