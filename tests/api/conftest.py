"""Fixtures for api tests: a migrated database (SQLite by default) and an app on it."""

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app

# Admins sign in with a second factor by default; the suites about other things sign admins in with their
# password alone, and tests/api/test_second_factor.py turns it on in the settings it builds.
os.environ.setdefault("ADMIN_TOTP_REQUIRED", "false")

SERVICE_TOKEN = "test-service-token-0123456789"
SERVICE_HEADERS = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.fixture
def database_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    # Rasa is pointed at a port nothing listens on: these tests run without it. Its tracker store is a file
    # of the test's own, never var/'s (the retention job opens it); so are report photos.
    return Settings(
        database_url=database_url,
        service_token=SERVICE_TOKEN,
        rasa_url="http://127.0.0.1:9",
        rasa_tracker_db=tmp_path / "rasa_tracker.db",
        report_photos_dir=tmp_path / "report_photos",
        rasa_tracker_url="",
        knowledge_warm_up=False,  # the tests that ask build the index themselves; the others need no encoder
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client
    app.state.engine.dispose()
