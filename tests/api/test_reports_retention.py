"""The report retention job: a closed case's personal parts go when the period ends, its statistics stay; photos
never filed go after a day."""

import io
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import time_machine
from PIL import Image
from sqlalchemy import func, select

from api.automation import scheduler
from api.core.settings import Settings
from api.reports import service
from api.reports.models import ReportCase, ReportEvent, ReportPhoto, ReportReporter
from api.staff.service import create_user
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS
from tests.support.postgres import BOTH_DATABASES, migrated_database

WEDNESDAY_10 = datetime(2026, 12, 2, 10, 0, tzinfo=SEOUL)
CLOSED_AT = WEDNESDAY_10 + timedelta(hours=2)
KO = {**SERVICE_HEADERS, "Accept-Language": "ko"}


@pytest.fixture(params=BOTH_DATABASES)
def database_url(request, tmp_path) -> Iterator[str]:
    yield from migrated_database(request.param, tmp_path)


def jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (shade, 0, 0)).save(buffer, "JPEG")
    return buffer.getvalue()


def upload(client, user: str, shade: int) -> int:
    sent = client.post(
        "/api/reports/photos",
        data={"channel": "telegram", "channel_user_id": user},
        files={"file": ("p.jpg", jpeg(shade), "image/jpeg")},
        headers=KO,
    )
    assert sent.status_code == 201, sent.text
    return sent.json()["photo_id"]


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def files(settings: Settings) -> int:
    return sum(1 for path in settings.report_photos_dir.rglob("*") if path.is_file())


def purge(sessions, settings: Settings, at: datetime) -> dict[str, int]:
    return scheduler.run_now(sessions, "report_retention", at, settings=settings).counts


@pytest.fixture
def closed_case(client, settings) -> str:
    """A case filed with a phone, a photo and a description, merged by a second citizen, done and rated."""
    sessions = client.app.state.sessionmaker
    with time_machine.travel(WEDNESDAY_10, tick=False):
        photo = upload(client, "1001", 10)
        body = {
            "channel": "telegram",
            "channel_user_id": "1001",
            "kind": "illegal_dumping",
            "description": "101동 앞에 가구를 버렸어요",
            "latitude": 37.7599,
            "longitude": 126.78,
            "photo_ids": [photo],
            "callback_phone": "010-2345-6789",
            "consent_text": "동의",
        }
        receipt_no = client.post("/api/reports", json=body, headers=KO).json()["receipt_no"]
        merged = body | {"channel_user_id": "2002", "photo_ids": [upload(client, "2002", 20)]}
        assert client.post("/api/reports", json=merged, headers=KO).json()["merged"] is True
    with time_machine.travel(CLOSED_AT, tick=False), sessions() as session:
        officer = create_user(session, "officer@paju.go.kr", "박주무관", "correct horse battery")
        case = service.get_case(session, receipt_no)
        service.add_note(session, case, officer, "신고자 010-2345-6789 통화함")
        service.change_status(session, case, officer, "done", message="수거했어요.", settings=settings)
        session.commit()
    with time_machine.travel(CLOSED_AT + timedelta(hours=1), tick=False):
        rated = client.post(
            f"/api/reports/{receipt_no}/rating",
            json={"channel": "telegram", "channel_user_id": "1001", "score": 5},
            headers=KO,
        )
        assert rated.status_code == 200
    return receipt_no


def test_a_closed_case_keeps_everything_until_its_period_ends(client, settings, closed_case):
    sessions = client.app.state.sessionmaker
    assert purge(sessions, settings, CLOSED_AT + timedelta(days=29))["cases_purged"] == 0
    with sessions() as session:
        case = service.get_case(session, closed_case)
        assert case.callback_phone == "01023456789"
        assert case.description is not None
    assert count(sessions, ReportPhoto) == 2
    assert files(settings) == 2


def test_after_the_period_phone_photos_description_and_reporters_are_gone_and_statistics_stay(
    client, settings, closed_case
):
    sessions = client.app.state.sessionmaker
    counts = purge(sessions, settings, CLOSED_AT + timedelta(days=30, minutes=1))
    assert counts["cases_purged"] == 1
    with sessions() as session:
        case = service.get_case(session, closed_case)
        assert (case.callback_phone, case.description, case.consent_text) == (None, None, None)
        assert case.purged_at is not None
        assert (case.kind, case.district, case.status, case.rating) == ("illegal_dumping", "금촌1동", "done", 5)
        assert case.created_at == WEDNESDAY_10
        note = session.scalar(select(ReportEvent.private_note).where(ReportEvent.action == "note"))
        assert "010-2345-6789" not in note
        assert session.scalar(select(func.count()).select_from(ReportCase)) == 1
    assert count(sessions, ReportPhoto) == 0
    assert files(settings) == 0
    assert count(sessions, ReportReporter) == 0
    shown = client.get(f"/api/reports/{closed_case}", headers=KO).json()
    assert [step["status"] for step in shown["history"]] == ["received", "done"]
    assert shown["history"][-1]["text"] == "처리가 완료되었어요. 수거했어요."
    assert shown["photos"] == 0
    assert purge(sessions, settings, CLOSED_AT + timedelta(days=31))["cases_purged"] == 0  # once only


def test_an_open_case_is_never_purged(client, settings):
    sessions = client.app.state.sessionmaker
    with time_machine.travel(WEDNESDAY_10, tick=False):
        body = {"channel": "telegram", "channel_user_id": "1001", "kind": "noise", "description": "밤마다 시끄러워요"}
        client.post("/api/reports", json=body | {"place": "운정3동"}, headers=KO)
    assert purge(sessions, settings, WEDNESDAY_10 + timedelta(days=400))["cases_purged"] == 0
    assert count(sessions, ReportCase, ReportCase.description.is_not(None)) == 1


def test_photos_never_filed_are_deleted_after_a_day_and_filed_ones_stay(client, settings, closed_case):
    sessions = client.app.state.sessionmaker
    with time_machine.travel(WEDNESDAY_10 + timedelta(hours=3), tick=False):
        upload(client, "3003", 30)
    assert files(settings) == 3
    assert purge(sessions, settings, WEDNESDAY_10 + timedelta(hours=26))["unfiled_photos_deleted"] == 0
    assert purge(sessions, settings, WEDNESDAY_10 + timedelta(hours=27, minutes=1))["unfiled_photos_deleted"] == 1
    assert count(sessions, ReportPhoto) == 2
    assert files(settings) == 2


def test_a_picture_sent_twice_keeps_its_file_while_one_of_its_photos_is_still_kept(client, settings):
    sessions = client.app.state.sessionmaker
    with time_machine.travel(WEDNESDAY_10, tick=False):
        kept = upload(client, "1001", 40)
        body = {"channel": "telegram", "channel_user_id": "1001", "kind": "odor", "description": "냄새"}
        client.post("/api/reports", json=body | {"place": "교하동", "photo_ids": [kept]}, headers=KO)
        upload(client, "2002", 40)  # the same bytes from someone else, never filed
    assert files(settings) == 1
    purge(sessions, settings, WEDNESDAY_10 + timedelta(days=2))
    assert count(sessions, ReportPhoto) == 1
    assert files(settings) == 1
