"""Public parking lots and public toilets in Paju: the nearest ones to a point or a named place, and their route.

The facilities are rows of two registry datasets, so an admin's new upload of either list takes effect here.
"""

import logging
import math
from functools import cache
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from api.core.errors import InvalidInput
from api.deps import ServiceDep, SessionDep
from api.opendata import csv_import, service
from api.opendata.places import find_place, places
from api.opendata.schemas import PlaceOut
from api.opendata.seed import seed_metadata

logger = logging.getLogger(__name__)

Kind = Literal["parking", "toilet"]
DATASETS: dict[Kind, str] = {"parking": "paju-public-parking-sample", "toilet": "paju-public-toilets-sample"}
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
    """Every facility of a kind in the shipped seed file, read through the registry's import."""
    metadata, path = seed_metadata(DATASETS[kind])
    parsed = csv_import.parse_csv(path.read_bytes(), {column.name: column.type for column in metadata.columns})
    return _facilities(kind, service.records(parsed.frame))


def registered_facilities(session: Session, kind: Kind) -> tuple[Facility, ...]:
    """The live version's facilities; the shipped seed file while the registry has not been seeded."""
    if service.live_version(session, DATASETS[kind]) is None:
        return load_facilities(kind)
    return _facilities(kind, service.dataset_rows(session, DATASETS[kind]))


def _facilities(kind: Kind, rows: list[dict]) -> tuple[Facility, ...]:
    facilities = []
    for row in rows:
        try:
            facilities.append(ROW_MODELS[kind].model_validate(row))
        except ValidationError:
            logger.warning("facility row skipped: incomplete", extra={"kind": kind, "name": row.get("name")})
    return tuple(facilities)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_chord = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(half_chord))


def nearest(
    kind: Kind, lat: float, lon: float, limit: int = 3, facilities: tuple[Facility, ...] | None = None
) -> list[Facility]:
    """The `limit` facilities of a kind closest to the point, nearest first, each with its distance."""
    from_city_hall = distance_m(*PAJU_CITY_HALL, lat, lon)
    if from_city_hall > SERVICE_RADIUS_M:
        km = round(from_city_hall / 1000)
        raise OutsidePaju(
            f"This service covers Paju City only, and that place is about {km} km from Paju City Hall.",
            f"파주시 안의 시설만 안내해 드릴 수 있어요. 보내 주신 위치는 파주시청에서 약 {km}km 떨어져 있어요.",
        )
    measured = sorted(
        ((round(distance_m(lat, lon, f.lat, f.lon)), f) for f in (facilities or load_facilities(kind))),
        key=lambda pair: pair[0],
    )
    return [NEARBY_MODELS[kind](**facility.model_dump(), distance_m=metres) for metres, facility in measured[:limit]]


router = APIRouter(prefix="/api/facilities", tags=["facilities"], dependencies=[ServiceDep])


@router.get("/nearby", response_model=list[NearbyParkingLot | NearbyPublicToilet])
def nearby(
    kind: Kind,
    session: SessionDep,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    place: Annotated[str | None, Query(min_length=1, max_length=100, description="금촌역, Imjingak, …")] = None,
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
) -> list[Facility]:
    if place is not None:
        found = find_place(place)
        lat, lon = found.lat, found.lon
    elif lat is None or lon is None:
        raise InvalidInput("Give lat and lon, or a place.", "위도와 경도, 또는 장소 이름을 알려 주세요.")
    return nearest(kind, lat, lon, limit, registered_facilities(session, kind))


@router.get("/places", response_model=list[PlaceOut])
def known_places(q: Annotated[str | None, Query(max_length=100)] = None) -> list[PlaceOut]:
    """The places `nearby?place=` knows, or the one a name or phrase refers to."""
    chosen = [find_place(q)] if q else places()
    return [PlaceOut(name=p.name, name_en=p.name_en, lat=p.lat, lon=p.lon) for p in chosen]
