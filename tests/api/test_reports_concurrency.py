"""Reports sent at the same moment: a double tap files one case, and a burst from one citizen stops at the limit."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import time_machine
from sqlalchemy import func, select

from api.reports.models import ReportCase
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS
from tests.support.postgres import BOTH_DATABASES, migrated_database

WEDNESDAY_10 = datetime(2026, 12, 2, 10, 0, tzinfo=SEOUL)
METRE_IN_LATITUDE = 1 / 111_195


@pytest.fixture(params=BOTH_DATABASES)
def database_url(request, tmp_path) -> Iterator[str]:
    yield from migrated_database(request.param, tmp_path)


def body(user: str, metres_north: float) -> dict:
    return {
        "channel": "telegram",
        "channel_user_id": user,
        "kind": "streetlight",
        "description": "가로등이 꺼져 있어요",
        "latitude": 37.7599 + metres_north * METRE_IN_LATITUDE,
        "longitude": 126.78,
    }


def at_once(count: int, send) -> list:
    with time_machine.travel(WEDNESDAY_10, tick=True), ThreadPoolExecutor(count) as pool:
        return list(pool.map(send, range(count)))


def cases(client) -> int:
    with client.app.state.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(ReportCase))


def test_a_double_tap_with_one_idempotency_key_files_one_case(client):
    headers = SERVICE_HEADERS | {"Idempotency-Key": "double-tap-1"}
    answers = at_once(4, lambda _: client.post("/api/reports", json=body("1001", 0), headers=headers))
    assert [answer.status_code for answer in answers] == [201] * 4
    assert len({answer.json()["receipt_no"] for answer in answers}) == 1
    assert cases(client) == 1


def test_five_reports_from_one_citizen_at_once_file_three(client):
    answers = at_once(5, lambda n: client.post("/api/reports", json=body("1001", n * 500), headers=SERVICE_HEADERS))
    assert sorted(answer.status_code for answer in answers) == [201, 201, 201, 429, 429]
    assert cases(client) == 3
