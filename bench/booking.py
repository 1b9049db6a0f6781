"""Booking throughput through the REST api, and the last-seats contention case, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import update

from api.core.database import make_engine, make_sessionmaker
from api.core.public_holidays import PublicHolidays
from api.tours.models import Run
from api.tours.seed import seed_tours
from api.tours.service import is_closed
from bench.chat_latency import percentile
from common import clock
from tests.support.stack import Stack


def _seed(database_url: str) -> None:
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        seed_tours(session)
        session.commit()
    engine.dispose()


async def _runs(client: httpx.AsyncClient, days: int = 6) -> list[dict]:
    found, day = [], clock.today() + timedelta(days=2)
    while len({r["date"] for r in found}) < days:
        if not is_closed(day, PublicHolidays()):
            found += (await client.get(f"/api/tours/dmz-peace/runs?date={day}")).json()
        day += timedelta(days=1)
    return found


async def throughput(api_url: str, bookings: int = 400, concurrency: int = 16) -> dict:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        runs = await _runs(client)
        queue = asyncio.Queue()
        for n in range(bookings):
            queue.put_nowait(n)

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                body = {
                    "run_id": runs[n % len(runs)]["id"],
                    "party": {"adult": 1},
                    "name": "김민수",
                    "phone": "010-1234-5678",
                }
                started = time.perf_counter()
                response = await client.post("/api/bookings", json=body, headers={"Idempotency-Key": f"bench-{n}"})
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "bookings": bookings,
        "concurrency": concurrency,
        "bookings_per_s": round(bookings / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
    }


async def contention(api_url: str, database_url: str, bookers: int = 50, seats: int = 5) -> dict:
    async with httpx.AsyncClient(base_url=api_url, timeout=60, limits=httpx.Limits(max_connections=bookers)) as client:
        run = (await _runs(client, days=1))[-1]
        engine = make_engine(database_url)
        with engine.begin() as connection:
            connection.execute(update(Run).where(Run.id == run["id"]).values(seats_sold=Run.capacity - seats))
        engine.dispose()
        body = {"run_id": run["id"], "party": {"adult": 1}, "name": "김민수", "phone": "010-1234-5678"}
        started = time.perf_counter()
        responses = await asyncio.gather(*(client.post("/api/bookings", json=body) for _ in range(bookers)))
        elapsed = time.perf_counter() - started
    codes = [r.status_code for r in responses]
    return {
        "bookers": bookers,
        "seats": seats,
        "booked": codes.count(201),
        "sold_out": codes.count(409),
        "other": len(codes) - codes.count(201) - codes.count(409),
        "all_answered_in_ms": round(elapsed * 1000, 1),
    }


def measure(database_url: str, workdir: Path) -> dict:
    stack = Stack(workdir, database_url=database_url).start(only=("api",))
    try:
        _seed(database_url)
        api = stack.url("api")
        return {
            "throughput": asyncio.run(throughput(api)),
            "last_5_seats_50_bookers": asyncio.run(contention(api, database_url)),
        }
    finally:
        stack.stop_all()
