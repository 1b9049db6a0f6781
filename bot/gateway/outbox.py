"""Delivers the api's outbox: claims due messages, sends each through its channel, reports the result.

With several gateways each message is leased to one of them; a delivery is given up (to be retried) before its
lease runs out, so no other gateway sends it meanwhile. Each report names its claim's attempt, so one that arrives
late anyway cannot end the lease another gateway has taken since: the api ignores it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from bot.gateway.api_client import ApiClient, ApiUnavailable

logger = logging.getLogger(__name__)
# The part of its lease a delivery may take; the rest is left for the report to reach the api.
DELIVERY_SHARE_OF_LEASE = 0.8


@dataclass
class Delivery:
    """What one attempt came to, in the api's terms."""

    status: str  # delivered, retry, unreachable, failed
    error: str | None = None
    retry_after: float | None = None
    channel_message_id: str | None = None

    def as_result(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


class Deliverer(Protocol):
    async def deliver(self, message: dict[str, Any]) -> Delivery: ...


class OutboxWorker:
    """One loop per gateway; with several replicas the api's leases keep each message to one of them."""

    def __init__(
        self, api: ApiClient, deliverers: dict[str, Deliverer], poll_seconds: float, batch: int, lease_seconds: int = 60
    ) -> None:
        self._api = api
        self._deliverers = deliverers
        self._poll_seconds = poll_seconds
        self._batch = batch
        self._lease_seconds = lease_seconds
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._deliverers:
            self._task = asyncio.create_task(self._run(), name="outbox")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        idle_wait = self._poll_seconds
        while True:
            try:
                sent = await self.deliver_due()
                idle_wait = self._poll_seconds
            except ApiUnavailable as error:
                # The api is down: nothing is lost (the messages stay pending); ask again less often.
                logger.warning("outbox: api unavailable", extra={"error": str(error)})
                sent = 0
                idle_wait = min(idle_wait * 2, 30)
            except Exception:
                logger.exception("outbox: delivery round failed")
                sent = 0
            if not sent:
                await asyncio.sleep(idle_wait)

    async def deliver_due(self) -> int:
        """One round: the api hands out at most one message per conversation, so they can go in parallel."""
        claimed = await self._api.claim_outbox(list(self._deliverers), self._batch, self._lease_seconds)
        await asyncio.gather(*(self._deliver(message) for message in claimed))
        return len(claimed)

    async def _deliver(self, message: dict[str, Any]) -> None:
        deadline = self._lease_seconds * DELIVERY_SHARE_OF_LEASE
        try:
            delivery = await asyncio.wait_for(self._deliverers[message["channel"]].deliver(message), deadline)
        except asyncio.TimeoutError:  # TimeoutError itself only from Python 3.11
            delivery = Delivery("retry", error=f"the channel did not answer within {deadline:g}s, most of the lease")
        except Exception as error:
            logger.exception("outbox: unexpected delivery error", extra={"outbox_id": message["id"]})
            delivery = Delivery("retry", error=f"{type(error).__name__}: {error}")
        log = logger.info if delivery.status == "delivered" else logger.warning
        log("outbox delivery", extra={"outbox_id": message["id"], "status": delivery.status, "error": delivery.error})
        result = {**delivery.as_result(), "attempt": message["attempts"]}
        if not await self._api.report_delivery(message["id"], result):
            logger.info(
                "outbox report not applied: settled already, or claimed again since",
                extra={"outbox_id": message["id"], "attempt": message["attempts"], "status": delivery.status},
            )
