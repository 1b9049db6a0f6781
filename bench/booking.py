"""Booking throughput through the REST api beside the same booking transaction in raw SQL on the same PostgreSQL,
and the last-seats contention case, on SQLite and PostgreSQL.

On PostgreSQL the paths take turns, round after round, so each sees the machine as the others do; the figures are
the rounds' medians. Raw SQL is measured with two kinds of client, each client with a connection of its own:
threads, which wait for the database without holding Python's lock, and asyncio tasks on one event loop, which
spend longer in Python between statements and book less.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import update
from sqlalchemy.engine import make_url

from api.core.database import make_engine, make_sessionmaker
from api.core.public_holidays import PublicHolidays
from api.tours.models import Run
from api.tours.seed import seed_tours
from api.tours.service import CODE_ALPHABET, CODE_LENGTH, is_closed
from bench.chat_latency import percentile
from common import clock
from tests.support.stack import Stack

CLIENTS = 16
# The api as production runs it on the 2-core machine: one uvicorn worker per core.
API_WORKERS = 2
ROUNDS = 5
REST_BOOKINGS = 800
RAW_SQL_BOOKINGS = 1500
WARM_UP_BOOKINGS = 200
DAYS = 20  # the bookings spread over these days' departures, well within their seats and the daily limits
BODY = {"party": {"adult": 1}, "name": "김민수", "phone": "010-1234-5678"}

# What `book` must write for one booking, and nothing else: the two conditional UPDATEs of `_try_claim` (the
# departure's seats, the day's visitor limit) and the booking's INSERT with its unique code and Idempotency-Key,
# in one transaction. The api's read of the departure (its cut-off, its fares) is left out: the share is of the
# least any booking costs this database.
CLAIM_RUN = (
    "UPDATE runs SET seats_sold = seats_sold + %(seats)s"
    " WHERE id = %(run_id)s AND status = 'open' AND seats_sold + %(seats)s <= capacity"
)
CLAIM_DAY = (
    "UPDATE day_quotas SET seats_sold = seats_sold + %(seats)s"
    " WHERE course_id = %(course_id)s AND date = %(date)s AND seats_sold + %(seats)s <= capacity"
)
INSERT_BOOKING = (
    "INSERT INTO bookings (code, run_id, party, seats, booker_name, booker_phone, status, total_fee,"
    " channel, channel_user_id, idempotency_key, created_at, updated_at)"
    " VALUES (%(code)s, %(run_id)s, %(party)s, %(seats)s, %(name)s, %(phone)s, 'confirmed', %(fee)s,"
    " NULL, NULL, %(key)s, %(now)s, %(now)s) RETURNING id"
)


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


def _figures(bookings: int, elapsed: float, latencies: list[float]) -> dict:
    return {
        "bookings": bookings,
        "bookings_per_s": round(bookings / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
    }


# --- through the REST api ---------------------------------------------------------------------------------------


class _Connection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON. The api's clients run on other machines, so the bench's
    client should take as little of this one as it can: httpx takes about half as long per request as the api."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, api_url: str) -> _Connection:
        url = httpx.URL(api_url)
        reader, writer = await asyncio.open_connection(url.host, url.port)
        return cls(reader, writer, f"{url.host}:{url.port}")

    async def post(self, path: str, body: dict, headers: dict[str, str]) -> tuple[int, bytes]:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n{head}\r\n".encode()
            + payload
        )
        status_line, *lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = dict(line.lower().split(": ", 1) for line in lines if line)
        return int(status_line.split(" ", 2)[1]), await self.reader.readexactly(int(fields["content-length"]))

    def close(self) -> None:
        self.writer.close()


async def throughput(
    api_url: str, bookings: int = 400, concurrency: int = CLIENTS, runs: list[dict] | None = None, key: str = "bench"
) -> dict:
    """`bookings` POST /api/bookings, each with its own Idempotency-Key, from `concurrency` clients."""
    if runs is None:
        async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
            runs = await _runs(client)
    latencies: list[float] = []
    numbers = iter(range(bookings))

    async def client(connection: _Connection) -> None:
        for n in numbers:
            body = {"run_id": runs[n % len(runs)]["id"], **BODY}
            started = time.perf_counter()
            status, answer = await connection.post("/api/bookings", body, {"Idempotency-Key": f"{key}-{n}"})
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 201:
                raise RuntimeError(f"booking {n}: {status} {answer[:300]!r}")

    connections = [await _Connection.open(api_url) for _ in range(concurrency)]
    try:
        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(client(c) for c in connections)), timeout=300)
        elapsed = time.perf_counter() - started
    finally:
        for connection in connections:
            connection.close()
    return {**_figures(bookings, elapsed, latencies), "concurrency": concurrency}


# --- as raw SQL -------------------------------------------------------------------------------------------------


def _code(n: int) -> str:
    """A booking code for the n-th raw booking: the api's codes are random, these count down from the last one."""
    letters = []
    n = len(CODE_ALPHABET) ** CODE_LENGTH - 1 - n
    for _ in range(CODE_LENGTH):
        n, letter = divmod(n, len(CODE_ALPHABET))
        letters.append(CODE_ALPHABET[letter])
    return "".join(reversed(letters))


def _raw_sql_runs(conninfo: str, run_ids: list[int]) -> list[dict]:
    """What a raw booking of one adult writes about each run: its course, its day and the adult fare."""
    with psycopg.connect(conninfo) as connection:
        rows = connection.execute(
            "SELECT runs.id, runs.course_id, runs.date, fares.transport_won + fares.facility_won FROM runs"
            " JOIN fares ON fares.course_id = runs.course_id AND fares.option = runs.option"
            " AND fares.fare_type = 'adult' WHERE runs.id = ANY(%s)",
            [run_ids],
        ).fetchall()
    by_id = {
        run_id: {"run_id": run_id, "course_id": course, "date": day, "fee": won} for run_id, course, day, won in rows
    }
    return [by_id[run_id] for run_id in run_ids]


def _raw_booking(runs: list[dict], n: int) -> dict:
    return {
        **runs[n % len(runs)],
        "seats": 1,
        "code": _code(n),
        "party": json.dumps(BODY["party"]),
        "name": BODY["name"],
        "phone": "01012345678",
        "key": f"raw-sql-{n}",
        "now": clock.utcnow(),
    }


def _claimed(claim: psycopg.Cursor | psycopg.AsyncCursor, booking: dict) -> None:
    if claim.rowcount != 1:
        raise RuntimeError(f"no seats left for {booking['run_id']} on {booking['date']}: the bench needs more DAYS")


def raw_sql_threads(conninfo: str, runs: list[dict], bookings: int, first: int, concurrency: int = CLIENTS) -> dict:
    """`bookings` booking transactions from `concurrency` threads, each with its own connection."""
    numbers = iter(range(first, first + bookings))
    take = threading.Lock()
    latencies: list[float] = []
    errors: list[Exception] = []
    connections = [psycopg.connect(conninfo) for _ in range(concurrency)]
    start = threading.Barrier(concurrency + 1)

    def client(connection: psycopg.Connection) -> None:
        start.wait()
        try:
            while True:
                with take:
                    n = next(numbers, None)
                if n is None:
                    return
                booking = _raw_booking(runs, n)
                started = time.perf_counter()
                with connection.transaction():
                    _claimed(connection.execute(CLAIM_RUN, booking), booking)
                    _claimed(connection.execute(CLAIM_DAY, booking), booking)
                    connection.execute(INSERT_BOOKING, booking).fetchone()
                latencies.append((time.perf_counter() - started) * 1000)
        except Exception as error:  # raised below, once every client has stopped
            errors.append(error)

    threads = [threading.Thread(target=client, args=(connection,)) for connection in connections]
    try:
        for thread in threads:
            thread.start()
        start.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        for connection in connections:
            connection.close()
    if errors:
        raise RuntimeError(f"{len(errors)} raw-SQL clients failed") from errors[0]
    return {**_figures(bookings, elapsed, latencies), "concurrency": concurrency}


async def raw_sql_asyncio(
    conninfo: str, runs: list[dict], bookings: int, first: int, concurrency: int = CLIENTS
) -> dict:
    """`bookings` booking transactions from `concurrency` asyncio tasks, each with its own connection."""
    numbers = iter(range(first, first + bookings))
    latencies: list[float] = []
    connections = [await psycopg.AsyncConnection.connect(conninfo) for _ in range(concurrency)]

    async def client(connection: psycopg.AsyncConnection) -> None:
        for n in numbers:
            booking = _raw_booking(runs, n)
            started = time.perf_counter()
            async with connection.transaction():
                _claimed(await connection.execute(CLAIM_RUN, booking), booking)
                _claimed(await connection.execute(CLAIM_DAY, booking), booking)
                await (await connection.execute(INSERT_BOOKING, booking)).fetchone()
            latencies.append((time.perf_counter() - started) * 1000)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(client(connection) for connection in connections))
        elapsed = time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
    return {**_figures(bookings, elapsed, latencies), "concurrency": concurrency}


# --- side by side -----------------------------------------------------------------------------------------------


def side_by_side(api_url: str, database_url: str, rounds: int = ROUNDS) -> dict:
    """The same booking through the REST api and as raw SQL (threads, asyncio), taking turns; medians of the rounds."""
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def runs_ahead() -> list[dict]:
        async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
            return await _runs(client, DAYS)

    runs = asyncio.run(runs_ahead())
    raw_runs = _raw_sql_runs(conninfo, [run["id"] for run in runs])
    # Each batch of bookings has its own numbers, for unique codes and Idempotency-Keys.
    batches = itertools.count()
    paths = {
        "raw_sql_threads": lambda count, batch: raw_sql_threads(conninfo, raw_runs, count, batch * RAW_SQL_BOOKINGS),
        "raw_sql_asyncio": lambda count, batch: asyncio.run(
            raw_sql_asyncio(conninfo, raw_runs, count, batch * RAW_SQL_BOOKINGS)
        ),
        "rest": lambda count, batch: asyncio.run(throughput(api_url, count, runs=runs, key=f"bench-{batch}")),
    }
    for measure_path in paths.values():
        measure_path(WARM_UP_BOOKINGS, next(batches))
    measured: dict[str, list[dict]] = {name: [] for name in paths}
    names = list(paths)
    for n in range(rounds):
        for name in names[n % len(names) :] + names[: n % len(names)]:
            count = REST_BOOKINGS if name == "rest" else RAW_SQL_BOOKINGS
            measured[name].append(paths[name](count, next(batches)))

    def shares(path: str) -> list[float]:
        pairs = zip(measured[path], measured["rest"], strict=True)
        return [100 * through_api["bookings_per_s"] / raw["bookings_per_s"] for raw, through_api in pairs]

    rest = statistics.median(r["bookings_per_s"] for r in measured["rest"])
    return {
        "raw_sql": {"threads": _medians(measured["raw_sql_threads"]), "asyncio": _medians(measured["raw_sql_asyncio"])},
        "rest": {**_medians(measured["rest"]), "api_workers": API_WORKERS},
        "rest_share_of_raw_sql_pct": {
            kind: round(100 * rest / statistics.median(r["bookings_per_s"] for r in measured[f"raw_sql_{kind}"]), 1)
            for kind in ("threads", "asyncio")
        },
        "rest_share_by_round_pct": {
            kind: [round(share, 1) for share in shares(f"raw_sql_{kind}")] for kind in ("threads", "asyncio")
        },
    }


def _medians(rounds: list[dict]) -> dict:
    return {
        "bookings_per_s": statistics.median(r["bookings_per_s"] for r in rounds),
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "bookings_per_s_by_round": [r["bookings_per_s"] for r in rounds],
        "concurrency": rounds[0]["concurrency"],
    }


async def contention(api_url: str, database_url: str, bookers: int = 50, seats: int = 5) -> dict:
    async with httpx.AsyncClient(base_url=api_url, timeout=60, limits=httpx.Limits(max_connections=bookers)) as client:
        run = (await _runs(client, days=1))[-1]
        engine = make_engine(database_url)
        with engine.begin() as connection:
            connection.execute(update(Run).where(Run.id == run["id"]).values(seats_sold=Run.capacity - seats))
        engine.dispose()
        body = {"run_id": run["id"], **BODY}
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
    """On PostgreSQL, REST (the api on API_WORKERS workers) beside raw SQL; on SQLite, REST alone."""
    postgres = make_url(database_url).get_backend_name() == "postgresql"
    stack = Stack(workdir, database_url=database_url, api_workers=API_WORKERS if postgres else 1)
    stack.start(only=("api",))
    try:
        _seed(database_url)
        api = stack.url("api")
        figures = side_by_side(api, database_url) if postgres else {"throughput": asyncio.run(throughput(api))}
        return {**figures, "last_5_seats_50_bookers": asyncio.run(contention(api, database_url))}
    finally:
        stack.stop_all()
