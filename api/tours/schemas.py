"""Request and response models of the tours routes."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from api.conversations.schemas import Channel
from api.core.ids import Id
from api.tours import messaging
from api.tours.service import part_of_day as part_of_day_of

Option = Literal["walk", "monorail"]
FareType = Literal["adult", "youth", "child", "senior", "resident"]
Party = dict[FareType, int]
PartOfDay = Literal["morning", "afternoon"]
# A tour by its id or its code ("dmz-peace"). Tried in that order, so a number no id can be is a code, found nowhere.
TourKey = Annotated[Id | Annotated[str, Field(min_length=1, max_length=32)], Field(union_mode="left_to_right")]


class FareOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    option: Option
    fare_type: FareType
    transport_won: int
    facility_won: int
    amount_won: int


class CourseSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_ko: str
    name_en: str
    summary_ko: str
    summary_en: str
    duration_minutes: int


class CourseOut(CourseSummary):
    itinerary: list[dict[str, str]]
    meeting_point_ko: str
    meeting_point_en: str
    what_to_bring_ko: str
    what_to_bring_en: str
    id_rules_ko: str
    id_rules_en: str
    group_booking_ko: str
    group_booking_en: str
    daily_capacity: int
    booking_cutoff_minutes: int
    fares: list[FareOut]
    # BOOKER_RETENTION_DAYS: the booking consent tells the citizen this number, so it is the one the job applies.
    booker_retention_days: int = Field(0, description="Days after the tour when the booker's name and phone are erased")


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    date: date
    starts_at: datetime
    option: Option
    capacity: int
    seats_left: int
    status: Literal["open", "closed", "cancelled"]

    # What a chat shows of a departure, so no client words it again.
    @computed_field(description="departure time in Asia/Seoul, HH:MM")
    @property
    def time(self) -> str:
        return messaging.departure_time(self.starts_at)

    @computed_field(description="morning: before noon in Asia/Seoul; afternoon: from noon")
    @property
    def part_of_day(self) -> PartOfDay:
        return part_of_day_of(self.starts_at)

    @computed_field
    @property
    def day_ko(self) -> str:
        return messaging.day_label(self.date, "ko")

    @computed_field
    @property
    def day_en(self) -> str:
        return messaging.day_label(self.date, "en")

    @computed_field
    @property
    def option_ko(self) -> str:
        return messaging.option_name(self.option, "ko")

    @computed_field
    @property
    def option_en(self) -> str:
        return messaging.option_name(self.option, "en")

    @computed_field(description='a choice button\'s title, e.g. "14:40 도보 · 40석"')
    @property
    def label_ko(self) -> str:
        return messaging.run_label(self.starts_at, self.option, self.seats_left, "ko")

    @computed_field(description='e.g. "14:40 on foot · 40 seats"')
    @property
    def label_en(self) -> str:
        return messaging.run_label(self.starts_at, self.option, self.seats_left, "en")


class DayChoices(BaseModel):
    """The departures of a day a citizen may pick, with the day's label; none when the day is closed or full."""

    date: date
    day_ko: str
    day_en: str
    closed: bool = Field(description="no tour that day (Mondays and public holidays)")
    runs: list[RunOut] = Field(description="bookable for the party, narrowed to the option and part of day asked")
    nearest: list[RunOut] = Field(description="when `runs` is empty: the nearest departures with room from that day")


class BookingIn(BaseModel):
    run_id: Id
    party: Party = Field(description='Seats by fare type, e.g. {"adult": 2, "child": 1}')
    name: str = Field(max_length=200)
    phone: str = Field(max_length=40)
    # Honoured only on service calls (gateway, actions): links the booking to a messenger user.
    channel: Channel | None = None
    channel_user_id: str | None = Field(default=None, max_length=128)


class BookingLookup(BaseModel):
    phone: str = Field(max_length=40)


class BookingChange(BookingLookup):
    run_id: Id | None = None
    party: Party | None = None


class WaitlistIn(BookingIn):
    pass


class BookingOut(BaseModel):
    code: str
    status: Literal["confirmed", "cancelled"]
    total_fee: int
    party: dict[str, int]
    seats: int
    run: RunOut
    booker_name: str = Field(description="masked, e.g. 김*수")
    booker_phone: str = Field(description="masked, e.g. 010-****-5678")
    created_at: datetime


class WaitlistConfirm(BaseModel):
    """The messenger user confirming an offer: only the one it was made to may."""

    channel: Channel
    channel_user_id: str = Field(max_length=128)


class WaitlistOut(BaseModel):
    id: int
    run_id: int
    status: str
    seats: int
    position: int


class BookingCheck(BaseModel):
    """Any part of a booking, checked as far as it goes (a conversation asks one thing at a time)."""

    run_id: Id | None = None
    party: Party | None = None
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)


class BookingCheckOut(BaseModel):
    ok: bool = True
    total_fee: int | None = None


class ManifestLine(BaseModel):
    code: str
    party: dict[str, int]
    seats: int
    booker_name: str
    booker_phone: str


class Manifest(BaseModel):
    run: RunOut
    seats_booked: int
    revealed: bool
    bookings: list[ManifestLine]
