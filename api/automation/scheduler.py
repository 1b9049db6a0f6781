"""Runs each job once per due time across every api replica, retries failures with backoff, and logs every attempt.

Each attempt is a `job_runs` row inserted before the job runs; the unique (job, due_at, attempt)
constraint is the lock, so of several replicas exactly one runs it. A due time missed while no
replica ran (a restart) is still run once when it is within the grace period.
"""

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import and_, exists, select, update
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
    with session_factory() as session:
        _abandon_stale(session, now, settings)
        paused = paused_jobs(session)
        taken = []
        for job in jobs.values():
            due = job.schedule.latest(now)
            if job.name in paused or now - due > timedelta(hours=settings.scheduler_grace_hours):
                continue
            if session.scalar(select(JobRun.id).where(JobRun.job == job.name, JobRun.due_at == due).limit(1)):
                continue
            taken.append(_take(session, job.name, due, 1, "schedule", now))
        for failed in _retries_due(session, now, settings):
            if failed.job in jobs and failed.job not in paused:
                taken.append(_take(session, failed.job, failed.due_at, failed.attempt + 1, "retry", now))
    return [_execute(session_factory, jobs[run.job], run, now, settings) for run in taken if run]


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
    with session_factory() as session:
        run = _take(session, job.name, now, 1, "manual", now, requested_by_id)
    if run is None:
        raise JobAlreadyRunning(f"job {name} is already running for this moment", f"{name} 작업이 이미 실행 중입니다")
    return _execute(session_factory, job, run, now, settings)


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


def _take(
    session: Session,
    job: str,
    due_at: datetime,
    attempt: int,
    trigger: str,
    now: datetime,
    requested_by_id: int | None = None,
) -> JobRun | None:
    """Inserts the attempt's row; None when another replica inserted it first."""
    run = JobRun(
        job=job,
        due_at=due_at,
        attempt=attempt,
        trigger=trigger,
        started_at=now,
        counts={},
        requested_by_id=requested_by_id,
    )
    session.add(run)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
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
    """An attempt still `running` long after it started died with its process: it counts as failed, to be retried."""
    session.execute(
        update(JobRun)
        .where(
            JobRun.status == "running",
            JobRun.started_at < now - timedelta(minutes=settings.scheduler_stale_minutes),
        )
        .values(status="failed", finished_at=now, error="abandoned: the process stopped while it ran")
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _execute(
    session_factory: sessionmaker[Session], job: Job, run: JobRun, now: datetime, settings: Settings
) -> JobRun:
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
    with session_factory() as session:
        session.execute(update(JobRun).where(JobRun.id == run.id).values(**values))
        session.commit()
        finished = session.get(JobRun, run.id)
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
