"""Message round-trip latency and throughput: the stack through the gateway's web chat endpoint, beside bare Rasa.

Two loads: "paced" conversations behave like people (a message, then a pause of 1.5–2.5 s before
the next), and "saturated" conversations send their next message as soon as the answer arrives,
which finds the most messages per second a system can take. Two systems measured in one run take
turns, message by message in a single conversation and round by round under the other loads, so that
whatever else loads the machine meanwhile weighs on both alike.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import httpx

GREETINGS = ["안녕하세요", "hello", "안녕", "hi there", "안녕하세여"]
# Sends one message and returns once it is answered; raises when the answer is not the assistant's.
Send = Callable[[str], Awaitable[None]]
# Opens one conversation (one citizen) and yields how to talk in it.
Conversation = Callable[[], AbstractAsyncContextManager[Send]]


@dataclass(frozen=True)
class System:
    """What is measured: how to open a conversation with it, and the greetings it is sent, in turn."""

    open_conversation: Conversation
    greetings: tuple[str, ...] = tuple(GREETINGS)


@dataclass
class Load:
    """The latencies of every message of one or more runs of a load, and the time the runs took."""

    conversations: int
    think: tuple[float, float]
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    def figures(self) -> dict:
        return {
            "conversations": self.conversations,
            "think_time_s": list(self.think),
            "messages": len(self.latencies),
            "p50_ms": round(percentile(self.latencies, 50), 1),
            "p95_ms": round(percentile(self.latencies, 95), 1),
            "p99_ms": round(percentile(self.latencies, 99), 1),
            "mean_ms": round(statistics.fmean(self.latencies), 1),
            "messages_per_s": round(len(self.latencies) / self.elapsed, 1),
        }


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def web_chat(gateway_url: str) -> System:
    """One conversation on the gateway's web chat: its own browser, known to the gateway by the cookie it gets."""

    @asynccontextmanager
    async def conversation() -> AsyncIterator[Send]:
        async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:

            async def send(text: str) -> None:
                response = await client.post("/web/messages", json={"message_id": uuid.uuid4().hex, "text": text})
                response.raise_for_status()
                answer = " ".join(reply.get("text") or "" for reply in response.json()["replies"])
                # A greeting answered by the assistant names the city; anything else (the gateway's
                # "assistant unavailable" reply, say) would make the figures meaningless.
                if "파주" not in answer and "Paju" not in answer:
                    raise RuntimeError(f"not the assistant's greeting: {answer[:80]!r}")

            yield send

    return System(conversation)


async def _conversation(
    system: System, messages: int, think: tuple[float, float], load: Load, rng: random.Random
) -> None:
    await asyncio.sleep(rng.uniform(0, think[1]))  # people do not all start at the same instant
    async with system.open_conversation() as send:
        for n in range(messages):
            started = time.perf_counter()
            await send(system.greetings[n % len(system.greetings)])
            load.latencies.append((time.perf_counter() - started) * 1000)
            if think[1]:
                await asyncio.sleep(rng.uniform(*think))


async def run_load(
    system: System,
    conversations: int,
    messages_each: int,
    think: tuple[float, float] = (0.0, 0.0),
    seed: int = 7,
) -> Load:
    load = Load(conversations, think)
    rng = random.Random(seed)
    started = time.perf_counter()
    await asyncio.gather(*(_conversation(system, messages_each, think, load, rng) for _ in range(conversations)))
    load.elapsed = time.perf_counter() - started
    return load


async def in_lockstep(systems: dict[str, System], messages: int) -> dict[str, Load]:
    """One conversation with each system, their messages taking turns one by one (who goes first alternates), so
    that a spell of load from elsewhere on the machine falls on both alike. A system's time is its messages' own."""
    loads = {name: Load(1, (0.0, 0.0)) for name in systems}
    async with AsyncExitStack() as conversations:
        sends = {
            name: await conversations.enter_async_context(system.open_conversation())
            for name, system in systems.items()
        }
        names = list(systems)
        for n in range(messages):
            for name in names if n % 2 == 0 else reversed(names):
                started = time.perf_counter()
                await sends[name](systems[name].greetings[n % len(systems[name].greetings)])
                loads[name].latencies.append((time.perf_counter() - started) * 1000)
    for load in loads.values():
        load.elapsed = sum(load.latencies) / 1000
    return loads


async def side_by_side(
    systems: dict[str, System],
    conversations: int,
    messages_each: int,
    rounds: int,
    think: tuple[float, float] = (0.0, 0.0),
) -> dict[str, dict]:
    """Each system's figures for the same load, run `rounds` times; with `ratio` of the first system to the second:
    p50 and throughput, each over all the messages and the median of the rounds' own.

    One conversation without pauses runs in lockstep (in_lockstep); other loads run whole, the systems taking turns
    (the first one first in odd rounds, last in even ones)."""
    names = list(systems)
    pooled = {name: Load(conversations, think) for name in names}
    by_round: dict[str, list[Load]] = {name: [] for name in names}
    for n in range(rounds):
        if conversations == 1 and not think[1]:
            this_round = await in_lockstep(systems, messages_each)
        else:
            order = names if n % 2 == 0 else names[::-1]
            this_round = {
                name: await run_load(systems[name], conversations, messages_each, think, seed=7 + n) for name in order
            }
        for name, one in this_round.items():
            # Progress on stderr, so that a slow run shows it is running; the figures go to stdout.
            print(f"{name}, {conversations} conversations, round {n + 1}: {one.figures()}", file=sys.stderr)
            by_round[name].append(one)
            pooled[name].latencies += one.latencies
            pooled[name].elapsed += one.elapsed
    results = {name: pooled[name].figures() for name in names}
    mine, theirs = names[0], names[1]
    rounds_of_both = list(zip(by_round[mine], by_round[theirs], strict=True))
    p50 = [percentile(a.latencies, 50) / percentile(b.latencies, 50) for a, b in rounds_of_both]
    rate = [(len(a.latencies) / a.elapsed) / (len(b.latencies) / b.elapsed) for a, b in rounds_of_both]
    results["ratio"] = {
        "p50": round(results[mine]["p50_ms"] / results[theirs]["p50_ms"], 2),
        "p95": round(results[mine]["p95_ms"] / results[theirs]["p95_ms"], 2),
        "messages_per_s": round(results[mine]["messages_per_s"] / results[theirs]["messages_per_s"], 2),
        "p50_median_of_rounds": round(statistics.median(p50), 2),
        "messages_per_s_median_of_rounds": round(statistics.median(rate), 2),
    }
    return results
