"""Request and response models of the citizen reports routes."""

from datetime import datetime

from pydantic import BaseModel, Field

from api.conversations.schemas import Channel, ChannelUserId
from api.core.ids import Id


class KindOut(BaseModel):
    code: str
    name: str
    department: str
    department_name: str


class ConsentOut(BaseModel):
    text: str
    retention_days: int


class PhotoOut(BaseModel):
    photo_id: int
    latitude: float | None
    longitude: float | None


class ReportIn(BaseModel):
    channel: Channel
    channel_user_id: str = ChannelUserId
    kind: str = Field(min_length=1, max_length=40)
    # Checked by the service (empty or over 500 characters gets the citizen's own words), so only a bound here.
    description: str = Field(max_length=2000)
    place: str | None = Field(default=None, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    # More than three is refused by the service with its own words (too_many_photos).
    photo_ids: list[Id] = Field(default_factory=list, max_length=20)
    callback_phone: str | None = Field(default=None, max_length=40)
    consent_text: str | None = Field(default=None, max_length=2000)


class FiledOut(BaseModel):
    receipt_no: str
    kind: str
    kind_name: str
    department: str
    department_name: str
    status: str
    status_name: str
    place_name: str | None
    district: str | None  # the 읍면동's Korean name, as staff filter by it
    district_name: str | None  # in the language asked
    due_at: datetime
    due_text: str
    photos: int
    merged: bool
    # What the citizen is told, in their language: received with the deadline, or added to a case nearby.
    message: str


class CaseSummary(BaseModel):
    receipt_no: str
    kind_name: str
    status: str
    status_name: str
    created_at: datetime
    place_name: str | None
    rated: bool


class HistoryStep(BaseModel):
    at: datetime
    status: str | None
    status_name: str | None
    text: str


class CaseOut(BaseModel):
    receipt_no: str
    kind: str
    kind_name: str
    status: str
    status_name: str
    department: str
    department_name: str
    created_at: datetime
    due_at: datetime
    place_name: str | None
    district: str | None
    district_name: str | None
    photos: int
    rating: int | None
    history: list[HistoryStep]


class RatingIn(BaseModel):
    channel: Channel
    channel_user_id: str = ChannelUserId
    # Checked by the service, so an out-of-range score gets the citizen's own words (invalid_rating).
    score: int = Field(ge=-1000, le=1000)
    comment: str | None = Field(default=None, max_length=2000)
