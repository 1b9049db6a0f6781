import pytest
from sqlalchemy import create_engine, inspect, text

import api.models  # noqa: F401  (the full schema on Base.metadata)
from api.core.database import Base, make_engine
from api.core.migrate import downgrade, upgrade
from tests.support.postgres import temporary_database


def _assert_schema_matches_models(url: str) -> None:
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def _assert_down_and_up_again(url: str) -> None:
    downgrade(url, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    _assert_schema_matches_models(url)


def test_migrations_build_the_whole_schema_on_an_empty_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'paju.db'}"
    upgrade(url)
    _assert_schema_matches_models(url)
    _assert_down_and_up_again(url)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


@pytest.mark.postgres
def test_migrations_build_the_whole_schema_on_an_empty_postgres_database():
    with temporary_database() as url:
        upgrade(url)
        _assert_schema_matches_models(url)
        _assert_down_and_up_again(url)
