"""Which Rasa replica answers a conversation: the replicas on a consistent hash ring of sender ids, and a pause for
those that could not be reached."""

import time
from collections.abc import Callable, Iterable

from uhashring import HashRing

# Points per replica on the ring: with this many, replicas share the senders within a few percent of evenly (uhashring's
# default of 160 leaves one of two replicas up to 10 points above half).
VIRTUAL_NODES = 1000
# How long a replica that could not be reached goes to the back of the line: the messages after the one that found it
# down do not each wait on it first. It is tried first again after this, or sooner when it is the last one left.
PAUSE_SECONDS = 5.0


class RasaReplicas:
    def __init__(
        self, urls: Iterable[str], pause_seconds: float = PAUSE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.urls = list(dict.fromkeys(url.rstrip("/") for url in urls))
        if not self.urls:
            raise ValueError("no Rasa replica to send messages to")
        # uhashring places a replica's points by the MD5 of its URL and their number, and a sender by the MD5 of its
        # id: the same in every gateway process (Python's hash() is not), and no replica's points depend on the
        # others, so adding or removing a replica moves only the senders whose next point is one of its points.
        self._ring = HashRing(nodes=self.urls, vnodes=VIRTUAL_NODES)
        self._pause_seconds = pause_seconds
        self._clock = clock
        self._paused_until: dict[str, float] = {}

    def in_order(self, sender_id: str) -> list[str]:
        """Every replica once: the sender's own, then the next ones along the ring; the paused ones last, so that a
        message is sent to them only when no other replica could be reached."""
        along_ring = list(self._ring.iterate_nodes(sender_id))
        now = self._clock()
        paused = {url for url in along_ring if self._paused_until.get(url, now) > now}
        return [url for url in along_ring if url not in paused] + [url for url in along_ring if url in paused]

    def unreachable(self, url: str) -> None:
        self._paused_until[url] = self._clock() + self._pause_seconds

    def answered(self, url: str) -> None:
        self._paused_until.pop(url, None)
