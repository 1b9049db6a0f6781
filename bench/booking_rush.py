"""The booking rush in cluster mode: 300 citizens book through the chat in one minute, on one replica and on two.

The case is the 1st of the month, when the next month's seats open at once. Each citizen arrives at their own
moment (spread evenly over the minute), opens the chat page and books one adult seat the whole way (ask, date,
departure, party, consent, name, phone, confirm), waiting for each answer before writing the next message, as
tests/support/citizens.py does it. The bookings spread over several days and departures so that seats never run
out. No citizen writes again 75 s after the first arrived (answers on their way still come), so the bench ends by
itself; who was still writing then is unfinished. Afterwards the database is checked: one booking for each citizen
told "confirmed", none twice.

Turns are answered about in the order they come, so with more demand than the cluster can answer every conversation
advances together, each turn waiting behind all the others', and few finish: `bookings_per_s` counts the finished
ones, `turns_per_s_in_bookings` what the cluster got through (answered turns per second over eight).

Sizing a deployment from the figures:

- CPU. `cpu_s_per_booking_calm` gives, for each process kind, the CPU seconds its replicas spent together per
  booking while few citizens wrote (two at a time, after a warm-up): per answered turn, times the eight turns of a
  booking. `total` adds up the cluster: the four kinds, HAProxy and the PostgreSQL backends of its two databases
  (Redis is shared with others on the machine and left out; `bench_citizens` is the load's own cost, on the same
  cores, and not in the total). Size with it: one core books at most 1 / total bookings per second; plan on about
  two thirds of that, so that turns queue little. A rush of R bookings/s needs R × total / 0.65 cores, and a kind
  at least R × cpu_s_per_booking_calm[kind] / 0.65 replicas: each process is one Python event loop and uses one
  core at most (Rasa's model calls a little more). `cpu_s_per_booking_rush` is the same during the rush, the
  conversations it cut short counted for the turns they had: higher, because a turn that waits costs the gateway
  and the api a lease extension every TURN_LEASE_SECONDS / 3 (about 7 s), so an overloaded cluster also works
  harder per booking.
- Memory. `rss_mib_per_replica` is the peak resident memory of one replica of each kind during the rush (children
  included). N replicas of each take N times their sum, plus PostgreSQL, Redis and HAProxy.
- Replicas are not cores. On a 2-core machine two replicas are not faster than one: the cores, not a process, are
  the limit (`cpu_busy_share` is the share of them the cluster used), and the second set of processes only shares
  them and takes its memory. Replicas buy staying up when one dies; throughput comes from cores, at the rate above.

`python -m bench.booking_rush` runs it alone and prints the figures as JSON, then side by side.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.core.database import make_engine, make_sessionmaker
from api.core.public_holidays import PublicHolidays
from api.tours.seed import seed_tours
from api.tours.service import is_closed
from bench.chat_latency import percentile
from common import clock
from deploy.cluster import Cluster
from tests.support.citizens import ConversationBroken, WebCitizen
from tests.support.postgres import temporary_database
from tests.support.redis_server import temporary_prefix
from tests.support.stack import LOOPBACK_LIMITS

CITIZENS = 300
RUSH_SECONDS = 60  # the citizens' first messages spread evenly over this
# No citizen sends a new message this long after the rush began (the messages on their way are still answered):
# the bench ends by itself however slow the answers, and who was still writing then counts as unfinished.
GIVE_UP_SECONDS = 75
TURNS_PER_BOOKING = 8  # ask, date, departure, party, consent, name, phone, confirm
# 20 departures take the bookings, 15 each: a seeded departure has 200 or 250 seats, a day 3000.
DAYS, DEPARTURES = 5, 4
WARM_UP_PER_REPLICA = 2  # bookings before the rush: the first turns of a fresh Rasa are slow
CALM_BOOKINGS = 4  # then two at a time, far below what the cluster can answer: a booking's cost when no turn waits
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class RushOver(Exception):
    pass


class RushCitizen(WebCitizen):
    """A web citizen who stops writing when the rush is over, and notes when they began and finished."""

    def __init__(self, name: str, gateway_url: str, give_up_at: float) -> None:
        self.give_up_at = give_up_at
        self.first_sent: float | None = None
        self.confirmed_at: float | None = None
        super().__init__(name, gateway_url)

    def _send(self, shown: str, text: str = "", payload: str | None = None) -> str:
        if time.monotonic() > self.give_up_at:
            raise RushOver(f"{self.name}: still writing when the rush was over")
        if self.first_sent is None:
            self.first_sent = time.monotonic()
        return super()._send(shown, text, payload)

    def book(self, day: date, phone: str, departure: int = 0) -> str:
        code = super().book(day, phone, departure)
        self.confirmed_at = time.monotonic()
        return code


@dataclass
class Outcome:
    """How each citizen's conversation ended."""

    citizens: list[RushCitizen | None] = field(default_factory=list)  # None: the chat page did not open
    broken: int = 0  # the assistant lost its place, or gave no answer in time
    http_errors: int = 0  # an answer other than 200 that the page does not send again, or the page did not open
    unfinished: int = 0


# --- what the processes spend -------------------------------------------------------------------------------


def _process_tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid] + [found for child in children for found in _process_tree(int(child))]


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of the processes (/proc/<pid>/stat utime, stime), of those still running."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime and stime, the 14th and 15th fields
    return ticks / CLOCK_TICKS


def _rss_mib(pids: list[int]) -> float:
    kib = 0
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        kib += sum(int(line.split()[1]) for line in lines if line.startswith("VmRSS:"))
    return kib / 1024


def _postgres_backends(databases: list[str]) -> list[int]:
    """The server processes serving connections to these databases (their titles name the database)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and any(f" {name} " in title for name in databases):
            found.append(int(entry.name))
    return found


def _kind(name: str) -> str:
    return name.rsplit("-", 1)[0]


class Meter:
    """CPU seconds by process kind between `start` and `stop`; peak resident memory of each replica in between."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.databases = [make_url(url).database for url in (cluster.database_url, cluster.tracker_url)]
        self.peak_rss: dict[str, float] = {}
        self.stopped = threading.Event()
        self.sampler = threading.Thread(target=self._sample_memory, daemon=True)

    def _trees(self) -> dict[str, list[int]]:
        trees = {name: _process_tree(process.pid) for name, process in self.cluster.processes.items()}
        return trees | {"postgres": _postgres_backends(self.databases)}

    def _cpu_by_kind(self) -> dict[str, float]:
        spent: dict[str, float] = {}
        for name, pids in self._trees().items():
            spent[_kind(name)] = spent.get(_kind(name), 0.0) + _cpu_seconds(pids)
        # The citizens run on the same cores: what they take is not the cluster's cost, but it is not free.
        spent["bench_citizens"] = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        return spent

    def _sample_memory(self) -> None:
        while not self.stopped.wait(1.0):
            for name, process in self.cluster.processes.items():
                self.peak_rss[name] = max(self.peak_rss.get(name, 0.0), _rss_mib(_process_tree(process.pid)))

    def start(self) -> None:
        self.before, self.started = self._cpu_by_kind(), time.monotonic()
        self.sampler.start()

    def stop(self) -> tuple[dict[str, float], float, dict[str, float]]:
        """(CPU seconds by kind, seconds measured, peak MiB of one replica of each kind: the mean of its replicas)."""
        after, elapsed = self._cpu_by_kind(), time.monotonic() - self.started
        self.stopped.set()
        self.sampler.join()
        spent = {kind: after[kind] - self.before.get(kind, 0.0) for kind in after}
        by_kind: dict[str, list[float]] = {}
        for name, mib in self.peak_rss.items():
            by_kind.setdefault(_kind(name), []).append(mib)
        return spent, elapsed, {kind: sum(mibs) / len(mibs) for kind, mibs in by_kind.items()}


# --- the rush -------------------------------------------------------------------------------------------------


def _open_days(count: int, days_ahead: int = 4) -> list[date]:
    found, day = [], clock.today() + timedelta(days=days_ahead)
    while len(found) < count:
        if not is_closed(day, PublicHolidays()):
            found.append(day)
        day += timedelta(days=1)
    return found


def _phone(n: int) -> str:
    return f"010-{5000 + n // 10_000:04d}-{n % 10_000:04d}"


def _book_before_the_rush(gateway_url: str, days: list[date], numbers: range, at_once: int) -> list[WebCitizen]:
    """Bookings `at_once` at a time; the citizens, whose bookings the check of the rush leaves out."""

    def book(n: int) -> WebCitizen:
        citizen = WebCitizen(f"before-{n}", gateway_url)
        citizen.book(days[n % len(days)], _phone(90_000 + n))
        return citizen

    with ThreadPoolExecutor(max_workers=at_once) as pool:
        return list(pool.map(book, numbers))


def _per_booking(spent: dict[str, float], turns: int) -> dict[str, float | None]:
    """CPU seconds per answered turn times a booking's turns: conversations cut short count for what they did."""
    cluster = sum(seconds for kind, seconds in spent.items() if kind != "bench_citizens")
    bookings = turns / TURNS_PER_BOOKING
    return {
        **{kind: round(seconds / bookings, 3) if turns else None for kind, seconds in sorted(spent.items())},
        "total": round(cluster / bookings, 3) if turns else None,
    }


def _rush(gateway_url: str, days: list[date], citizens: int, rush_seconds: float) -> Outcome:
    outcome = Outcome(citizens=[None] * citizens)
    counting = threading.Lock()
    began = time.monotonic()
    give_up_at = began + GIVE_UP_SECONDS

    def arrive(n: int) -> None:
        time.sleep(max(0.0, began + n * rush_seconds / citizens - time.monotonic()))
        try:
            citizen = RushCitizen(f"citizen-{n}", gateway_url, give_up_at)
            outcome.citizens[n] = citizen
            citizen.book(days[n % len(days)], _phone(n), departure=n // len(days) % DEPARTURES)
        except RushOver:
            with counting:
                outcome.unfinished += 1
        except ConversationBroken:
            with counting:
                outcome.broken += 1
        except (AssertionError, httpx.HTTPError):  # a status the page does not retry, or the page did not open
            with counting:
                outcome.broken += 1
                outcome.http_errors += 1

    with ThreadPoolExecutor(max_workers=citizens) as pool:
        list(pool.map(arrive, range(citizens)))
    return outcome


def _bookings(database_url: str, left_out: list[str]) -> list[tuple[str, str]]:
    """(code, web user id) of each confirmed booking but those of `left_out` users."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT code, channel_user_id FROM bookings WHERE status = 'confirmed' AND channel = 'web'")
            ).all()
    finally:
        engine.dispose()
    left_out = set(left_out)
    return [(row.code, row.channel_user_id) for row in rows if row.channel_user_id not in left_out]


def _figures(
    replicas: int, outcome: Outcome, before: list[WebCitizen], calm_cost: dict, cluster: Cluster, measured: tuple
) -> dict:
    spent, elapsed, rss = measured
    arrived = [citizen for citizen in outcome.citizens if citizen is not None]
    done = [citizen for citizen in arrived if citizen.confirmed_at is not None]
    turns = [seconds * 1000 for citizen in arrived for seconds in citizen.turn_seconds]
    first = min((c.first_sent for c in arrived if c.first_sent is not None), default=0.0)
    rush = max((c.confirmed_at for c in done), default=first) - first

    stored = _bookings(cluster.database_url, [citizen.chat.user_id for citizen in before])
    users = [user for _code, user in stored]
    told = {citizen.booking_code for citizen in done}
    completed = len(done)
    cluster_cpu = sum(seconds for kind, seconds in spent.items() if kind != "bench_citizens")
    return {
        "replicas": replicas,
        "citizens": len(outcome.citizens),
        "completed_bookings": completed,
        "bookings_per_s": round(completed / rush, 2) if rush else 0.0,
        "rush_s": round(rush, 1),
        "turns": len(turns),
        # What the cluster got through, whoever's turns they were: with more demand than that, every conversation
        # waits its turn behind all the others and few finish (`bookings_per_s`), however many turns are answered.
        "turns_per_s": round(len(turns) / elapsed, 1),
        "turns_per_s_in_bookings": round(len(turns) / elapsed / TURNS_PER_BOOKING, 2),
        "turn_p50_ms": round(percentile(turns, 50)) if turns else None,
        "turn_p95_ms": round(percentile(turns, 95)) if turns else None,
        "turn_p99_ms": round(percentile(turns, 99)) if turns else None,
        "broken_conversations": outcome.broken,
        "unfinished_when_rush_over": outcome.unfinished,
        "http_errors": outcome.http_errors + sum(citizen.failed_requests for citizen in arrived),
        "try_again_answers": sum(citizen.apologies for citizen in arrived),
        "bookings_in_database": len(stored),
        "duplicated_in_database": len(users) - len(set(users)),
        "database_matches_citizens": {code for code, _user in stored} == told and len(stored) == completed,
        "cpu_s_per_booking_calm": calm_cost,
        "cpu_s_per_booking_rush": _per_booking(spent, len(turns)),
        "cpu_busy_share": round(cluster_cpu / (elapsed * os.cpu_count()), 2),
        "rss_mib_per_replica": {kind: round(mib) for kind, mib in sorted(rss.items())},
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def measure(replicas: int, citizens: int = CITIZENS, rush_seconds: float = RUSH_SECONDS) -> dict:
    """One rush on a fresh cluster of `replicas` of every process: its own databases, Redis prefix and ports."""
    days = _open_days(DAYS)
    with (
        tempfile.TemporaryDirectory() as workdir,
        temporary_database() as database,
        temporary_database() as tracker,
        temporary_prefix() as (redis_url, prefix),
    ):
        cluster = Cluster.on_free_ports(
            Path(workdir),
            database_url=database,
            tracker_url=tracker,
            redis_url=redis_url,
            key_prefix=prefix,
            extra_env=dict(LOOPBACK_LIMITS),
            replicas=replicas,
        )
        try:
            cluster.prepare()
            engine = make_engine(database)
            with make_sessionmaker(engine)() as session:
                seed_tours(session)
                session.commit()
            engine.dispose()
            started = time.monotonic()
            cluster.start()
            print(f"{replicas} replica(s) ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
            gateway, warm_up = cluster.url("gateway"), WARM_UP_PER_REPLICA * replicas
            before = _book_before_the_rush(gateway, days, range(warm_up), at_once=warm_up)
            meter = Meter(cluster)
            meter.start()
            calm = _book_before_the_rush(gateway, days, range(warm_up, warm_up + CALM_BOOKINGS), at_once=2)
            calm_cost = _per_booking(meter.stop()[0], sum(len(citizen.turn_seconds) for citizen in calm))
            meter = Meter(cluster)
            meter.start()
            outcome = _rush(gateway, days, citizens, rush_seconds)
            measured = meter.stop()
            print(f"{replicas} replica(s): rush over after {measured[1]:.0f} s", file=sys.stderr)
            return _figures(replicas, outcome, before + calm, calm_cost, cluster, measured)
        finally:
            cluster.stop_all()


def run(citizens: int = CITIZENS, rush_seconds: float = RUSH_SECONDS) -> dict:
    """The rush on one replica of every process, then on two: the figures of each."""
    return {f"{n}_replica{'s' if n > 1 else ''}": measure(n, citizens, rush_seconds) for n in (1, 2)}


def side_by_side(results: dict) -> str:
    """The figures of each configuration in a column of its own."""
    columns = list(results.values())
    rows: list[tuple[str, list]] = []
    for key, value in columns[0].items():
        if isinstance(value, dict):
            for kind in value:
                rows.append((f"{key}.{kind}", [column[key].get(kind) for column in columns]))
        elif isinstance(value, list):
            rows.append((key, [" ".join(str(v) for v in column[key]) for column in columns]))
        else:
            rows.append((key, [column[key] for column in columns]))
    width = max(len(label) for label, _ in rows)
    lines = [f"{'':{width}}" + "".join(f"{name:>18}" for name in results)]
    lines += [f"{label:{width}}" + "".join(f"{v!s:>18}" for v in values) for label, values in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    figures = run()
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    print(side_by_side(figures))
