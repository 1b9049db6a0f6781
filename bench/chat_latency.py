"""Message round-trip latency and throughput through the gateway's web chat endpoint."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import httpx


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def _conversation(client: httpx.AsyncClient, messages: int, text: str, latencies: list[float]) -> None:
    user_id = uuid.uuid4().hex
    for _ in range(messages):
        body = {"user_id": user_id, "message_id": uuid.uuid4().hex, "text": text}
        started = time.perf_counter()
        response = await client.post("/web/messages", json=body)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        if not response.json()["replies"]:
            raise RuntimeError("no reply")


async def measure(gateway_url: str, conversations: int, messages_each: int, text: str = "안녕하세요") -> dict:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=conversations + 5)
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(_conversation(client, messages_each, text, latencies) for _ in range(conversations)))
        elapsed = time.perf_counter() - started
    return {
        "conversations": conversations,
        "messages": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "messages_per_s": round(len(latencies) / elapsed, 1),
    }
