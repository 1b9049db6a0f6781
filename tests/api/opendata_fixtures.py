"""Open-data test helpers: the seeded registry at a fixed moment (2025-11-20 10:00 in Seoul), admins, uploads."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from api.opendata.router import current_time
from api.opendata.seed import seed_opendata
from api.staff.service import create_user
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS, SERVICE_TOKEN

SEED = Path(__file__).resolve().parents[2] / "api" / "opendata" / "seed"
NOW = datetime(2025, 11, 20, 10, 0, tzinfo=SEOUL)
ADMIN_PASSWORD = "a long admin secret"


def seeded(client, now: datetime = NOW):
    """The client's app with the seed datasets imported and its clock fixed."""
    with Session(client.app.state.engine) as session:
        seed_opendata(session)
        session.commit()
    client.app.dependency_overrides[current_time] = lambda: now
    return client


@contextmanager
def seeded_app(directory: Path) -> Iterator[TestClient]:
    """A seeded app of its own, for a module of read-only tests that can share one database."""
    url = f"sqlite:///{directory / 'paju.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, service_token=SERVICE_TOKEN, rasa_url="http://127.0.0.1:9"))
    with TestClient(app) as client:
        yield seeded(client)
    app.state.engine.dispose()


def seed_frame(name: str) -> pd.DataFrame:
    """A seed CSV as plain pandas reads it: the tests' own view of the data."""
    return pd.read_csv(SEED / name)


def ask(client, question: str, language: str | None = None) -> dict:
    body = {"question": question} | ({"language": language} if language else {})
    response = client.post("/api/opendata/ask", json=body, headers=SERVICE_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


def headers_for(client, role: str) -> dict:
    email = f"{role}@paju.go.kr"
    with Session(client.app.state.engine) as session:
        create_user(session, email, f"{role} user", ADMIN_PASSWORD, role=role)
    token = client.post("/api/auth/sign-in", json={"email": email, "password": ADMIN_PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def upload(client, headers: dict, metadata: dict, content: bytes, filename: str = "upload.csv"):
    return client.post(
        "/api/datasets",
        data={"metadata": json.dumps(metadata, ensure_ascii=False)},
        files={"file": (filename, content, "text/csv")},
        headers=headers,
    )
