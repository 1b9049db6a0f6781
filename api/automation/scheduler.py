"""Runs each job once per due time across every api replica, retries failures with backoff, and logs every attempt.

Each attempt is a `job_runs` row inserted before the job runs; the unique (job, due_at, attempt)
constraint is the lock, so of several replicas exactly one runs it. A due time missed while no
replica ran (a restart) is still run once when it is within the grace period.

On PostgreSQL the replica running an attempt holds an advisory lock on it for as long as it runs, on a
connection the server closes when the process dies (even by SIGKILL): the next tick of any replica marks an
attempt `running` without its lock abandoned, and it is retried once as a new attempt, never while its
runner lives. SQLite (one process) takes an attempt running longer than `scheduler_stale_minutes` for dead.
"""

import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import and_, exists, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from api.automation.jobs import JOBS
from api.automation.models import JobRun, JobState
from api.automation.schedule import Job, JobContext
from api.core.errors import Conflict, NotFound
from api.core.settings import Settings, get_settings
from common.clock import utcnow

logger = logging.getLogger("api.automation")
MAX_ERROR_CHARS = 2000
# The first key of the advisory locks (PostgreSQL) that say "a live process runs this attempt"; the second is
# the attempt's `job_runs.id`.
RUNNER_LOCKS = 0x6A6F62
HELD_RUNNER_LOCKS = text(
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = :space AND objsubid = 2"
    " AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
ABANDONED = "abandoned: the process stopped while it ran"


class JobNotFound(NotFound):
    code = "job_not_found"


class JobAlreadyRunning(Conflict):
    code = "job_already_running"


def backoff(attempt: int, settings: Settings) -> timedelta:
    """How long after a failed attempt the next one starts: doubling, at most an hour."""
    return timedelta(seconds=min(settings.scheduler_retry_seconds * 2 ** (attempt - 1), 3600))


def run_due(
    session_factory: sessionmaker[Session],
    now: datetime,
    *,
    settings: Settings | None = None,
    jobs: dict[str, Job] | None = None,
) -> list[JobRun]:
    """Runs every job whose due time has come and no replica has taken, and every retry that is due."""
    settings = settings or get_settings()
    jobs = JOBS if jobs is None else jobs
    with _runner_session(session_factory) as runner:
        _abandon_stale(runner, now, settings)
        paused = paused_jobs(runner)
        taken = []
        for job in jobs.values():
            due = job.schedule.latest(now)
            if job.name in paused or now - due > timedelta(hours=settings.scheduler_grace_hours):
                continue
            if runner.scalar(select(JobRun.id).where(JobRun.job == job.name, JobRun.due_at == due).limit(1)):
                continue
            taken.append(_take(runner, job.name, due, 1, "schedule", now))
        for failed in _retries_due(runner, now, settings):
            if failed.job in jobs and failed.job not in paused:
                taken.append(_take(runner, failed.job, failed.due_at, failed.attempt + 1, "retry", now))
        return [_execute(session_factory, runner, jobs[run.job], run, now, settings) for run in taken if run]


def run_now(
    session_factory: sessionmaker[Session],
    name: str,
    now: datetime,
    *,
    requested_by_id: int | None = None,
    settings: Settings | None = None,
    jobs: dict[str, Job] | None = None,
) -> JobRun:
    """Runs a job at once (an admin's request), also while it is paused; logged like a scheduled run."""
    settings = settings or get_settings()
    jobs = JOBS if jobs is None else jobs
    job = _job(jobs, name)
    with _runner_session(session_factory) as runner:
        run = _take(runner, job.name, now, 1, "manual", now, requested_by_id)
        if run is not None:
            return _execute(session_factory, runner, job, run, now, settings)
    raise JobAlreadyRunning(f"job {name} is already running for this moment", f"{name} 작업이 이미 실행 중입니다")


def set_paused(session: Session, name: str, paused: bool, user_id: int | None, now: datetime | None = None) -> None:
    _job(JOBS, name)
    state = session.get(JobState, name) or JobState(job=name)
    state.paused, state.changed_at, state.changed_by_id = paused, now or utcnow(), user_id
    session.add(state)
    session.commit()


def paused_jobs(session: Session) -> set[str]:
    return set(session.scalars(select(JobState.job).where(JobState.paused)))


def recent_runs(session: Session, job: str | None = None, limit: int = 100) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return list(session.scalars(query))


def _job(jobs: dict[str, Job], name: str) -> Job:
    if name not in jobs:
        raise JobNotFound(f"no job named {name}", f"{name} 작업이 없습니다")
    return jobs[name]


@contextmanager
def _runner_session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that keeps one connection until the attempts it took have finished: their runner locks live on it.

    Should anything fail before they finish, the connection is closed, so that they count as abandoned at once.
    """
    with session_factory.kw["bind"].connect() as connection:
        try:
            with session_factory(bind=connection) as session:
                yield session
        except BaseException:
            connection.invalidate()
            raise


def _runner_locks(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _take(
    runner: Session,
    job: str,
    due_at: datetime,
    attempt: int,
    trigger: str,
    now: datetime,
    requested_by_id: int | None = None,
) -> JobRun | None:
    """Inserts the attempt's row, holding its runner lock before another replica can see it; None when another
    replica inserted it first."""
    run = JobRun(
        job=job,
        due_at=due_at,
        attempt=attempt,
        trigger=trigger,
        started_at=now,
        counts={},
        requested_by_id=requested_by_id,
    )
    runner.add(run)
    try:
        runner.flush()
    except IntegrityError:
        runner.rollback()
        return None
    if _runner_locks(runner):
        runner.execute(select(func.pg_advisory_lock(RUNNER_LOCKS, run.id)))
    runner.commit()
    return run


def _retries_due(session: Session, now: datetime, settings: Settings) -> list[JobRun]:
    later = aliased(JobRun)
    failed = session.scalars(
        select(JobRun).where(
            JobRun.status == "failed",
            JobRun.attempt < settings.scheduler_max_attempts,
            JobRun.due_at >= now - timedelta(days=2),
            ~exists().where(
                and_(later.job == JobRun.job, later.due_at == JobRun.due_at, later.attempt == JobRun.attempt + 1)
            ),
        )
    )
    return [run for run in failed if run.finished_at + backoff(run.attempt, settings) <= now]


def _abandon_stale(session: Session, now: datetime, settings: Settings) -> None:
    """An attempt still `running` whose process died counts as failed, to be retried: on PostgreSQL one whose runner
    lock nobody holds, on SQLite one that started longer than `scheduler_stale_minutes` ago."""
    if _runner_locks(session):
        # The rows first, then the locks: an attempt taken in between is locked before its row can be seen.
        running = session.scalars(select(JobRun.id).where(JobRun.status == "running")).all()
        alive = set(session.scalars(HELD_RUNNER_LOCKS, {"space": RUNNER_LOCKS}))
        dead = JobRun.id.in_([run_id for run_id in running if run_id not in alive])
    else:
        dead = JobRun.started_at < now - timedelta(minutes=settings.scheduler_stale_minutes)
    # Still `running` when updated: an attempt that finished meanwhile keeps its result.
    session.execute(
        update(JobRun)
        .where(JobRun.status == "running", dead)
        .values(status="failed", finished_at=now, error=ABANDONED)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _execute(
    session_factory: sessionmaker[Session], runner: Session, job: Job, run: JobRun, now: datetime, settings: Settings
) -> JobRun:
    """Runs the job in a session of its own and records the result; then lets go of the attempt's runner lock."""
    started = time.monotonic()
    counts: dict[str, Any] = {}
    error = None
    with session_factory() as session:
        try:
            counts = job.run(JobContext(session, run.due_at, now, settings)) or {}
            session.commit()
        except Exception as exc:  # a job's failure is recorded and retried, never raised into the loop
            session.rollback()
            logger.exception("job failed", extra={"job": job.name, "attempt": run.attempt})
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    values = {
        "status": "failed" if error else "succeeded",
        "finished_at": now + timedelta(seconds=time.monotonic() - started),
        "counts": counts,
        "error": error,
    }
    runner.execute(update(JobRun).where(JobRun.id == run.id).values(**values))
    runner.commit()
    if _runner_locks(runner):
        runner.execute(select(func.pg_advisory_unlock(RUNNER_LOCKS, run.id)))
    finished = runner.get(JobRun, run.id, populate_existing=True)
    runner.commit()
    logger.info(
        "job run", extra={"job": job.name, "attempt": run.attempt, "status": values["status"], "counts": counts}
    )
    return finished


class Scheduler:
    """The loop inside the api process: a daemon thread calling `run_due` every tick until stopped."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._session_factory = session_factory
        self._settings = settings
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                run_due(self._session_factory, utcnow(), settings=self._settings)
            except Exception:  # the database may be away for a moment; the next tick tries again
                logger.exception("scheduler tick failed")
            self._stopped.wait(self._settings.scheduler_tick_seconds)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs the scheduler for as long as the api app runs, when SCHEDULER_ENABLED is set."""
    settings: Settings = app.state.settings
    scheduler = Scheduler(app.state.sessionmaker, settings) if settings.scheduler_enabled else None
    if scheduler:
        scheduler.start()
    yield
    if scheduler:
        scheduler.stop()
