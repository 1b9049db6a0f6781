"""Public parking lots and public toilets in Paju: the nearest ones to a point, and their HTTP route."""

import csv
import math
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.core.auth import require_service
from api.core.errors import InvalidInput

Kind = Literal["parking", "toilet"]
SEED = Path(__file__).parent / "seed"
DATASET_FILES: dict[Kind, str] = {"parking": "parking_lots.csv", "toilet": "public_toilets.csv"}
PAJU_CITY_HALL = (37.7599, 126.7800)
# Every corner of Paju is within about 26 km of the city hall; farther points are somewhere else.
SERVICE_RADIUS_M = 30_000
EARTH_RADIUS_M = 6_371_000


class OutsidePaju(InvalidInput):
    code = "outside_paju"


class Facility(BaseModel):
    name: str
    name_en: str
    address: str
    address_en: str
    lat: float
    lon: float
    hours: str = Field(description="HH:MM-HH:MM in local time; 00:00-24:00 is open all day")


class ParkingLot(Facility):
    kind: Literal["parking"] = "parking"
    spaces: int
    fee_30min_won: int = Field(description="Won per 30 minutes; 0 is free")


class PublicToilet(Facility):
    kind: Literal["toilet"] = "toilet"
    accessible: bool = Field(description="Has a wheelchair-accessible toilet")


class NearbyParkingLot(ParkingLot):
    distance_m: int


class NearbyPublicToilet(PublicToilet):
    distance_m: int


ROW_MODELS: dict[Kind, type[Facility]] = {"parking": ParkingLot, "toilet": PublicToilet}
NEARBY_MODELS: dict[Kind, type[Facility]] = {"parking": NearbyParkingLot, "toilet": NearbyPublicToilet}


@cache
def load_facilities(kind: Kind) -> tuple[Facility, ...]:
    """Every facility of a kind, read once from its seed CSV (UTF-8)."""
    with (SEED / DATASET_FILES[kind]).open(encoding="utf-8", newline="") as file:
        return tuple(ROW_MODELS[kind].model_validate(row) for row in csv.DictReader(file))


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_chord = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(half_chord))


def nearest(kind: Kind, lat: float, lon: float, limit: int = 3) -> list[Facility]:
    """The `limit` facilities of a kind closest to the point, nearest first, each with its distance."""
    from_city_hall = distance_m(*PAJU_CITY_HALL, lat, lon)
    if from_city_hall > SERVICE_RADIUS_M:
        km = round(from_city_hall / 1000)
        raise OutsidePaju(
            f"This service covers Paju City only, and that place is about {km} km from Paju City Hall.",
            f"파주시 안의 시설만 안내해 드릴 수 있어요. 보내 주신 위치는 파주시청에서 약 {km}km 떨어져 있어요.",
        )
    measured = sorted(
        ((round(distance_m(lat, lon, f.lat, f.lon)), f) for f in load_facilities(kind)), key=lambda pair: pair[0]
    )
    return [NEARBY_MODELS[kind](**facility.model_dump(), distance_m=metres) for metres, facility in measured[:limit]]


router = APIRouter(prefix="/api/facilities", tags=["facilities"], dependencies=[Depends(require_service)])


@router.get("/nearby", response_model=list[NearbyParkingLot | NearbyPublicToilet])
def nearby(
    kind: Kind,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
) -> list[Facility]:
    return nearest(kind, lat, lon, limit)
