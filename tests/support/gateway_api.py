"""The real api app at the address the gateway calls, and what the api kept: for gateway tests that go through it.

respx sends every request for the api's address to the app itself (httpx.ASGITransport) and leaves loopback
addresses alone (the fakes of Telegram and Kakao); Rasa stays a stand-in that keeps what it was sent.
"""

import io
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import respx
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import create_engine, select

from api.conversations.models import Conversation
from api.reports.models import ReportPhoto

API = "http://api.test"
API_TOKEN = "gateway-api-test-token-0123456789"
RECEIVED = "사진을 받았어요."
# The name of the route of the api's photo uploads, for a test that makes the network to it fail.
PHOTO_UPLOAD = "photo_upload"


class Rasa:
    """A Rasa that answers every message with `reply` and keeps what it was sent; `down` makes it unreachable."""

    def __init__(self, reply: str = RECEIVED) -> None:
        self.reply = reply
        self.sent: list[str] = []
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.sent.append(json.loads(request.content)["message"])
        return httpx.Response(200, json={"messages": [{"text": self.reply}], "parse": None})


@contextmanager
def api_at(base_url: str, api_app: FastAPI) -> Iterator[respx.MockRouter]:
    """The api app answering at `base_url`, its photo uploads a route of their own (`PHOTO_UPLOAD`)."""
    transport = httpx.ASGITransport(app=api_app)

    async def the_app(request: httpx.Request) -> httpx.Response:
        return await transport.handle_async_request(request)

    with respx.mock(assert_all_called=False) as network:
        network.post(f"{base_url}/api/reports/photos", name=PHOTO_UPLOAD).mock(side_effect=the_app)
        network.route(url__startswith=base_url).mock(side_effect=the_app)
        network.route(host="127.0.0.1").pass_through()  # the fakes of Telegram and Kakao, on loopback
        yield network


def jpeg(colour: tuple[int, int, int] = (40, 120, 60), gps: tuple[float, float] | None = None) -> bytes:
    """A small JPEG in one colour (distinct colours are distinct photos), with the phone's GPS position if given."""
    exif = Image.Exif()
    if gps is not None:
        exif[0x8825] = {1: "N", 2: _dms(gps[0]), 3: "E", 4: _dms(gps[1])}
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), colour).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def noisy_jpeg(side: int) -> bytes:
    """A JPEG of random pixels, which compresses badly: about 1.2 bytes a pixel (1200 → some 1.7 MB)."""
    pixels = random.Random(side).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _dms(degrees: float) -> tuple[float, float, float]:
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    return float(whole), float(minutes), round((degrees - whole - minutes / 60) * 3600, 4)


@dataclass(frozen=True)
class StoredPhoto:
    id: int
    channel: str
    channel_user_id: str
    latitude: float | None
    longitude: float | None


def stored_photos(api_app: FastAPI) -> list[StoredPhoto]:
    """The rows of report_photos in the api's database, with the conversation each came from, oldest first."""
    engine = create_engine(api_app.state.settings.database_url)
    query = (
        select(
            ReportPhoto.id,
            Conversation.channel,
            Conversation.channel_user_id,
            ReportPhoto.latitude,
            ReportPhoto.longitude,
        )
        .join(Conversation, ReportPhoto.conversation_id == Conversation.id)
        .order_by(ReportPhoto.id)
    )
    try:
        with engine.connect() as connection:
            return [StoredPhoto(*row) for row in connection.execute(query)]
    finally:
        engine.dispose()


def photo_files(api_app: FastAPI) -> list[Path]:
    """The files under the api's photos directory."""
    directory = Path(api_app.state.settings.report_photos_dir)
    return sorted(path for path in directory.rglob("*") if path.is_file()) if directory.exists() else []
