"""A throw-away PostgreSQL database on the local server (127.0.0.1:5432) for one test session."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.core.migrate import upgrade

SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def temporary_database() -> Iterator[str]:
    name = f"paju_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# SQLite and PostgreSQL (the latter marked, so a machine without the server skips it): for a module's
# `database_url` fixture, `@pytest.fixture(params=BOTH_DATABASES)`, yielding from `migrated_database`.
BOTH_DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def migrated_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of that kind for one test: a file under tmp_path, or a temporary PostgreSQL database."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'paju.db'}"
        upgrade(url)
        yield url
        return
    with temporary_database() as url:
        upgrade(url)
        yield url
