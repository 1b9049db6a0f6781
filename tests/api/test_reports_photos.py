"""Photos sent with a report: decoded to be trusted, their location read, stored without EXIF, refused plainly."""

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from PIL import Image
from sqlalchemy import func, select

from api.core.settings import Settings
from api.reports.models import ReportPhoto
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS

WEDNESDAY_10 = datetime(2026, 12, 2, 10, 0, tzinfo=SEOUL)
KO = {**SERVICE_HEADERS, "Accept-Language": "ko"}
EN = {**SERVICE_HEADERS, "Accept-Language": "en"}
MAX_BYTES = 200_000


@pytest.fixture
def settings(settings: Settings, tmp_path) -> Settings:
    return settings.model_copy(
        update={"report_photos_dir": tmp_path / "report_photos", "report_photo_max_bytes": MAX_BYTES}
    )


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(WEDNESDAY_10, tick=False) as traveller:
        yield traveller


def jpeg(colour=(200, 30, 30), size=(64, 48), gps: tuple[float, float] | None = None, orientation: int = 1) -> bytes:
    """A small JPEG as a phone writes it: camera make, orientation, and GPS degrees-minutes-seconds."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: _dms(gps[0]), 3: "E", 4: _dms(gps[1])}
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def _dms(degrees: float) -> tuple[float, float, float]:
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    return float(whole), float(minutes), round((degrees - whole - minutes / 60) * 3600, 4)


def upload(client, data: bytes, name: str = "photo.jpg", user: str = "1001", headers=KO):
    return client.post(
        "/api/reports/photos",
        data={"channel": "telegram", "channel_user_id": user},
        files={"file": (name, data, "image/jpeg")},
        headers=headers,
    )


def stored_files(settings: Settings) -> list[Path]:
    return [path for path in settings.report_photos_dir.rglob("*") if path.is_file()]


def photo_rows(client) -> int:
    with client.app.state.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(ReportPhoto))


def test_a_photo_with_a_location_gives_its_point_and_is_stored_without_exif(client, settings, clock):
    sent = upload(client, jpeg(gps=(37.7599, 126.78), orientation=6))
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["latitude"] == pytest.approx(37.7599, abs=1e-5)
    assert body["longitude"] == pytest.approx(126.78, abs=1e-5)
    [path] = stored_files(settings)
    assert path.suffix == ".jpg"
    stored = Image.open(path)
    assert dict(stored.getexif()) == {}
    assert b"PhoneMaker" not in path.read_bytes()
    assert stored.size == (48, 64)  # turned upright as the camera said, before the EXIF went
    with client.app.state.sessionmaker() as session:
        photo = session.get(ReportPhoto, body["photo_id"])
        assert path.name == f"{photo.sha256}.jpg"
        assert path.parent.name == photo.sha256[:2]
        assert (photo.width, photo.height, photo.content_type) == (48, 64, "image/jpeg")


def test_a_photo_without_a_location_has_none(client, clock):
    sent = upload(client, jpeg())
    assert sent.status_code == 201
    assert (sent.json()["latitude"], sent.json()["longitude"]) == (None, None)


def test_png_and_webp_photos_are_accepted(client, settings, clock):
    for image_format, suffix in (("PNG", ".png"), ("WEBP", ".webp")):
        buffer = io.BytesIO()
        Image.new("RGB", (20, 20), (0, 120, 0)).save(buffer, image_format)
        assert upload(client, buffer.getvalue(), name=f"x{suffix}").status_code == 201
    assert sorted(path.suffix for path in stored_files(settings)) == [".png", ".webp"]


def test_the_same_photo_sent_twice_is_one_photo(client, settings, clock):
    data = jpeg(gps=(37.7599, 126.78))
    first, again = upload(client, data), upload(client, data)
    assert first.json()["photo_id"] == again.json()["photo_id"]
    assert photo_rows(client) == 1
    assert len(stored_files(settings)) == 1


def test_an_oversized_photo_is_refused_with_413_and_nothing_is_stored(client, settings, clock):
    noisy = Image.effect_noise((400, 400), 100).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "JPEG", quality=100)
    assert MAX_BYTES < len(buffer.getvalue()) < 2 * MAX_BYTES
    refused = upload(client, buffer.getvalue(), headers=EN)
    assert refused.status_code == 413
    assert refused.json()["code"] == "photo_too_large"
    assert "too large" in refused.json()["detail"]
    assert photo_rows(client) == 0
    assert stored_files(settings) == []


def test_a_body_far_over_the_limit_is_cut_off_before_it_is_read(client, settings, clock):
    refused = upload(client, b"\xff\xd8" + b"0" * (3 * MAX_BYTES))
    assert refused.status_code == 413
    assert photo_rows(client) == 0
    assert stored_files(settings) == []


def test_a_text_file_named_jpg_is_refused_as_not_a_photo(client, settings, clock):
    refused = upload(client, b"this is not a picture at all\n" * 10, name="evil.jpg")
    assert refused.status_code == 422
    assert refused.json()["code"] == "photo_not_image"
    assert "사진 파일이 아니에요" in refused.json()["detail"]
    assert photo_rows(client) == 0
    assert stored_files(settings) == []


def test_a_truncated_jpeg_and_a_gif_are_refused(client, clock):
    assert upload(client, jpeg()[:200]).json()["code"] == "photo_not_image"
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "GIF")
    assert upload(client, buffer.getvalue(), name="x.jpg").json()["code"] == "photo_not_image"


def test_a_photo_of_too_many_megapixels_is_refused(client, clock):
    # A 1-bit PNG of 8000 × 6000 pixels is a few kilobytes but would take 48 megapixels to decode.
    buffer = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buffer, "PNG")
    refused = upload(client, buffer.getvalue(), name="huge.png")
    assert refused.status_code == 413
    assert refused.json()["code"] == "photo_too_large"
    assert photo_rows(client) == 0


def test_an_eleventh_unfiled_photo_on_one_day_is_refused(client, clock):
    for shade in range(10):
        assert upload(client, jpeg(colour=(shade * 20, 0, 0))).status_code == 201
    refused = upload(client, jpeg(colour=(0, 0, 250)))
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_photos"
    assert photo_rows(client) == 10
    clock.move_to(WEDNESDAY_10 + timedelta(days=1))
    assert upload(client, jpeg(colour=(0, 0, 250))).status_code == 201


def test_a_report_takes_at_most_three_photos_and_the_fourth_is_refused(client, clock):
    ids = [upload(client, jpeg(colour=(shade * 50, 0, 0))).json()["photo_id"] for shade in range(4)]
    body = {
        "channel": "telegram",
        "channel_user_id": "1001",
        "kind": "pothole",
        "description": "구멍",
        "place": "교하동",
    }
    refused = client.post("/api/reports", json=body | {"photo_ids": ids}, headers=KO)
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_photos"
    assert "3장까지" in refused.json()["detail"]
    filed = client.post("/api/reports", json=body | {"photo_ids": ids[:3]}, headers=KO)
    assert filed.status_code == 201
    assert filed.json()["photos"] == 3


def test_a_report_with_a_located_photo_is_placed_where_the_photo_was_taken(client, clock):
    photo = upload(client, jpeg(gps=(37.8563, 126.7866))).json()
    body = {"channel": "telegram", "channel_user_id": "1001", "kind": "illegal_banner", "description": "현수막"}
    filed = client.post("/api/reports", json=body | {"photo_ids": [photo["photo_id"]]}, headers=KO)
    assert filed.status_code == 201, filed.text
    assert filed.json()["district"] == "문산읍"


def test_a_citizen_cannot_attach_someone_elses_photo(client, clock):
    theirs = upload(client, jpeg(), user="2002").json()["photo_id"]
    body = {
        "channel": "telegram",
        "channel_user_id": "1001",
        "kind": "pothole",
        "description": "구멍",
        "place": "교하동",
    }
    refused = client.post("/api/reports", json=body | {"photo_ids": [theirs]}, headers=KO)
    assert refused.status_code == 422
    assert refused.json()["code"] == "report_photo_not_found"
