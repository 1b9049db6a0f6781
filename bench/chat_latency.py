"""Message round-trip latency and throughput through the gateway's web chat endpoint.

Two loads: "paced" conversations behave like people (a message, then a pause of 1.5–2.5 s before
the next), and "saturated" conversations send their next message as soon as the answer arrives,
which finds the most messages per second the stack can take.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid

import httpx

GREETINGS = ["안녕하세요", "hello", "안녕", "hi there", "안녕하세여"]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


async def _conversation(
    gateway_url: str, messages: int, think: tuple[float, float], latencies: list[float], rng: random.Random
) -> None:
    await asyncio.sleep(rng.uniform(0, think[1]))  # people do not all start at the same instant
    # Each conversation is its own browser: the gateway knows it by the cookie it gives it.
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
        for n in range(messages):
            await _turn(client, n, latencies)
            if think[1]:
                await asyncio.sleep(rng.uniform(*think))


async def _turn(client: httpx.AsyncClient, n: int, latencies: list[float]) -> None:
    body = {"message_id": uuid.uuid4().hex, "text": GREETINGS[n % len(GREETINGS)]}
    started = time.perf_counter()
    response = await client.post("/web/messages", json=body)
    latencies.append((time.perf_counter() - started) * 1000)
    response.raise_for_status()
    answer = " ".join(reply.get("text") or "" for reply in response.json()["replies"])
    # A greeting answered by the assistant names the city; anything else (the gateway's
    # "assistant unavailable" reply, say) would make the figures meaningless.
    if "파주" not in answer and "Paju" not in answer:
        raise RuntimeError(f"not the assistant's greeting: {answer[:80]!r}")


async def measure(
    gateway_url: str, conversations: int, messages_each: int, think: tuple[float, float] = (0.0, 0.0), seed: int = 7
) -> dict:
    latencies: list[float] = []
    rng = random.Random(seed)
    started = time.perf_counter()
    await asyncio.gather(
        *(_conversation(gateway_url, messages_each, think, latencies, rng) for _ in range(conversations))
    )
    elapsed = time.perf_counter() - started
    return {
        "conversations": conversations,
        "think_time_s": list(think),
        "messages": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "messages_per_s": round(len(latencies) / elapsed, 1),
    }
