"""Photos citizens send with a report: checked by decoding them, their location read, stored without EXIF.

A photo is kept only when Pillow decodes it as JPEG, PNG or WebP within the size and pixel limits. Its EXIF GPS
position is read first (it may say where the problem is), the camera's orientation applied, and the picture saved
again without any metadata: what is stored says nothing about the phone or the person. Files are named by the
sha256 of the stored bytes, `<REPORT_PHOTOS_DIR>/<sha[:2]>/<sha>.<ext>`, so the same picture is one file.
"""

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.conversations.service import get_or_create_conversation
from api.core.settings import Settings, get_settings
from api.reports import messaging
from api.reports.errors import PhotoNotImage, PhotoTooLarge, TooManyPhotos
from api.reports.models import ReportPhoto
from common.clock import SEOUL, utcnow

# Pillow's format name → the stored file's content type and extension.
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
MAX_MEGAPIXELS = 40
MAX_PHOTOS_PER_CASE = 3
MAX_UNFILED_PHOTOS_PER_DAY = 10
# A photo sent for a report that was never filed is deleted this long after it arrived.
UNFILED_PHOTO_LIFETIME = timedelta(days=1)
GPS_IFD = 0x8825
# Tags of the GPS IFD (EXIF 2.3): which hemisphere, and degrees, minutes, seconds.
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4


@dataclass(frozen=True)
class CleanPhoto:
    """A decoded photo saved again without metadata, and where its EXIF said it was taken."""

    data: bytes
    sha256: str
    content_type: str
    extension: str
    width: int
    height: int
    latitude: float | None
    longitude: float | None


def clean_photo(data: bytes, max_bytes: int) -> CleanPhoto:
    """Decodes the bytes as a photo, or refuses them (too large, too many pixels, not a JPEG, PNG or WebP)."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(*messaging.photo_too_large(max_bytes))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise PhotoNotImage(*messaging.PHOTO_NOT_IMAGE)
            if image.width * image.height > MAX_MEGAPIXELS * 1_000_000:
                raise PhotoTooLarge(*messaging.photo_too_many_pixels(MAX_MEGAPIXELS))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoTooLarge(*messaging.photo_too_many_pixels(MAX_MEGAPIXELS)) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        # Not an image at all, or a truncated or corrupt one.
        raise PhotoNotImage(*messaging.PHOTO_NOT_IMAGE) from error
    content_type, extension = FORMATS[image.format]
    latitude, longitude = _gps_position(image)
    upright = ImageOps.exif_transpose(image)
    stored = _without_metadata(upright, image.format)
    return CleanPhoto(
        data=stored,
        sha256=hashlib.sha256(stored).hexdigest(),
        content_type=content_type,
        extension=extension,
        width=upright.width,
        height=upright.height,
        latitude=latitude,
        longitude=longitude,
    )


def _gps_position(image: Image.Image) -> tuple[float | None, float | None]:
    """Latitude and longitude from the photo's EXIF GPS tags; (None, None) when absent or unreadable."""
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
        latitude = _degrees(gps[GPS_LATITUDE], gps.get(GPS_LATITUDE_REF, "N"), "S")
        longitude = _degrees(gps[GPS_LONGITUDE], gps.get(GPS_LONGITUDE_REF, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError, AttributeError, SyntaxError):
        return None, None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or (latitude == 0 and longitude == 0):
        return None, None
    return round(latitude, 6), round(longitude, 6)


def _degrees(parts, ref: str | bytes, negative: str) -> float:
    degrees, minutes, seconds = (float(part) for part in parts)
    value = degrees + minutes / 60 + seconds / 3600
    ref = ref.decode() if isinstance(ref, bytes) else ref
    return -value if ref.strip("\x00").upper() == negative else value


def _without_metadata(image: Image.Image, image_format: str) -> bytes:
    """The picture encoded again with nothing but its pixels (and colour profile): no EXIF, XMP or text chunks."""
    # Only what draws the picture is carried over: its colour profile and a palette's transparent colour.
    kept = {key: image.info[key] for key in ("icc_profile", "transparency") if image.info.get(key) is not None}
    image.info = {}
    options: dict = dict(kept) if image_format == "PNG" else {k: v for k, v in kept.items() if k == "icc_profile"}
    if image_format == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        options |= {"quality": 90}
    elif image_format == "WEBP":
        options |= {"quality": 90}
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


# --- storage ------------------------------------------------------------------------------------------------


def photo_path(photo: ReportPhoto, settings: Settings | None = None) -> Path:
    """Where the photo's file is: `<REPORT_PHOTOS_DIR>/<sha[:2]>/<sha>.<ext>`."""
    directory = (settings or get_settings()).report_photos_dir
    extension = next(ext for content_type, ext in FORMATS.values() if content_type == photo.content_type)
    return directory / photo.sha256[:2] / f"{photo.sha256}.{extension}"


def _write_once(path: Path, data: bytes) -> None:
    """Writes the file unless it is there; through a temporary file, so no reader sees half a photo."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def store_photo(
    session: Session,
    channel: str,
    channel_user_id: str,
    data: bytes,
    *,
    settings: Settings,
    now: datetime | None = None,
) -> ReportPhoto:
    """Keeps a photo for the report the citizen is filing; the same picture again gives the same photo.

    Refused (nothing stored): too large, not an image, or too many photos sent today without a report.
    Commits.
    """
    now = now or utcnow()
    clean = clean_photo(data, settings.report_photo_max_bytes)
    conversation = get_or_create_conversation(session, channel, channel_user_id)
    earlier = session.scalar(
        select(ReportPhoto)
        .where(
            ReportPhoto.conversation_id == conversation.id,
            ReportPhoto.sha256 == clean.sha256,
            ReportPhoto.case_id.is_(None),
        )
        .order_by(ReportPhoto.id)
        .limit(1)
    )
    if earlier is not None:
        session.commit()
        return earlier
    if unfiled_today(session, conversation.id, now) >= MAX_UNFILED_PHOTOS_PER_DAY:
        session.rollback()
        raise TooManyPhotos(*messaging.too_many_photos_today(MAX_UNFILED_PHOTOS_PER_DAY))
    photo = ReportPhoto(
        conversation_id=conversation.id,
        sha256=clean.sha256,
        content_type=clean.content_type,
        bytes=len(clean.data),
        width=clean.width,
        height=clean.height,
        latitude=clean.latitude,
        longitude=clean.longitude,
        created_at=now,
    )
    session.add(photo)
    session.flush()
    _write_once(photo_path(photo, settings), clean.data)
    session.commit()
    return photo


def unfiled_today(session: Session, conversation_id: int, now: datetime) -> int:
    """Photos the conversation sent since midnight in Seoul that belong to no report."""
    return session.scalar(
        select(func.count())
        .select_from(ReportPhoto)
        .where(
            ReportPhoto.conversation_id == conversation_id,
            ReportPhoto.case_id.is_(None),
            ReportPhoto.created_at >= seoul_midnight(now),
        )
    )


def seoul_midnight(now: datetime) -> datetime:
    """The start of the Seoul day `now` is in."""
    return datetime.combine(now.astimezone(SEOUL).date(), datetime.min.time(), SEOUL)


def delete_photos(session: Session, photos: list[ReportPhoto], settings: Settings) -> int:
    """Deletes the photos' rows, and each file no other photo row still uses (the same picture sent twice)."""
    paths = {photo.sha256: photo_path(photo, settings) for photo in photos}
    for photo in photos:
        session.delete(photo)
    session.flush()
    still_used = set(session.scalars(select(ReportPhoto.sha256).where(ReportPhoto.sha256.in_(paths))))
    for sha256, path in paths.items():
        if sha256 not in still_used:
            path.unlink(missing_ok=True)
    return len(photos)


def unfiled_photos_before(session: Session, cutoff: datetime) -> list[ReportPhoto]:
    return list(
        session.scalars(select(ReportPhoto).where(ReportPhoto.case_id.is_(None), ReportPhoto.created_at < cutoff))
    )
