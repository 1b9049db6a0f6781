"""Engine, sessions and the declarative base shared by every domain's tables."""

import select
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from fastapi import Request
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always hands back timezone-aware datetimes, also on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_size=10, max_overflow=40)
        event.listen(engine, "checkout", _refuse_closed_connection)
        return engine

    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # As many connections as FastAPI has worker threads (40), so no request waits on the pool.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=10, max_overflow=40)

    # The sqlite3 module's own transaction handling is kept on purpose: reads run outside a
    # transaction and a write transaction begins at the first INSERT/UPDATE, taking the write lock
    # there. So a conditional UPDATE (a seat claim) always sees the latest data, and a finished
    # request never holds the lock while it waits for its session to be closed.
    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    # The one exception: a SAVEPOINT outside a transaction would itself be the transaction, and
    # releasing it would commit everything so far. A savepoint taken before the first write (an
    # outbox message, a race-safe insert) must stay inside the caller's transaction.
    @event.listens_for(engine, "savepoint")
    def _begin_before_savepoint(connection, _name) -> None:
        dbapi_connection = connection.connection.driver_connection
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN")

    return engine


def _refuse_closed_connection(dbapi_connection, _record, _proxy) -> None:
    """Hands out no pooled connection the server has closed meanwhile (a restart, a terminated backend, an idle
    timeout): the pool opens a new one instead.

    A server says goodbye on the socket before it closes it, and an idle connection has nothing else to read: a
    look at the socket finds what a "SELECT 1" before every checkout (pool_pre_ping) would, without a round trip
    to the server on every request.
    """
    waiting = select.poll()
    waiting.register(dbapi_connection.fileno(), select.POLLIN)
    if dbapi_connection.closed or waiting.poll(0):
        raise DisconnectionError("the server closed this pooled connection")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[Session]:
    # An async dependency, so that closing the session runs on the event loop: a sync one would
    # need a free worker thread for its clean-up, and under load every worker thread can be busy
    # waiting for a connection that only that clean-up would give back.
    with request.app.state.sessionmaker() as session:
        yield session
