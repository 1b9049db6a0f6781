"""A small gazetteer of places in Paju that people name ("금촌역", "Imjingak", "문산읍") and their coordinates, the
읍면동 nearest a point, and whether a point is in Paju at all.

Every coordinate here is approximate: a station's or landmark's centre, a 읍면동's community centre (행정복지센터),
and a coarse outline of the city's boundary. Good enough to place a question or a report, not a survey.
"""

import csv
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from api.opendata.errors import PlaceNotFound

PLACES_FILE = Path(__file__).parent / "seed" / "places.csv"


@dataclass(frozen=True)
class Place:
    name: str
    name_en: str
    aliases: tuple[str, ...]
    lat: float
    lon: float
    kind: str = "place"  # station, landmark, office, or district (a 읍면동, at its community centre)


@cache
def places() -> tuple[Place, ...]:
    with PLACES_FILE.open(encoding="utf-8", newline="") as file:
        return tuple(
            Place(
                row["name"],
                row["name_en"],
                tuple(row["aliases"].split("|")),
                float(row["lat"]),
                float(row["lon"]),
                row.get("kind") or "place",
            )
            for row in csv.DictReader(file)
        )


def districts() -> tuple[Place, ...]:
    """Paju's 읍면동, each at its community centre."""
    return tuple(place for place in places() if place.kind == "district")


def district_name(name: str, language: str) -> str:
    """A 읍면동 as the citizen reads it: "문산읍", or "Munsan-eup" in English; a name not in the list as it is."""
    if language != "en":
        return name
    return next((district.name_en for district in districts() if district.name == name), name)


def nearest_district(lat: float, lon: float) -> str:
    """The name of the 읍면동 whose community centre is nearest the point ("문산읍"): a fair guess of the district
    a point is in, not its legal boundary."""
    return min(districts(), key=lambda district: _squared_distance(lat, lon, district.lat, district.lon)).name


def _squared_distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Proportional to the squared distance over a city's span (equirectangular): enough to rank by nearness."""
    east = (lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return east**2 + (lat2 - lat1) ** 2


# A coarse outline of Paju (latitude, longitude), clockwise from the south: the border with Goyang's Ilsan in the
# south, the Han and Imjin rivers in the west, the DMZ in the north, Yeoncheon and Yangju in the east. It is
# drawn from approximate points; near the border a point may fall on the wrong side.
PAJU_OUTLINE = (
    (37.700, 126.740),
    (37.715, 126.690),
    (37.760, 126.665),
    (37.800, 126.660),
    (37.850, 126.640),
    (37.930, 126.630),
    (37.975, 126.700),
    (37.980, 126.850),
    (37.960, 126.950),
    (37.900, 127.000),
    (37.820, 126.990),
    (37.760, 126.930),
    (37.720, 126.880),
    (37.710, 126.800),
)


def is_in_paju(lat: float, lon: float) -> bool:
    """Whether the point lies inside Paju's (approximate) outline."""
    inside = False
    corners = PAJU_OUTLINE
    for (lat1, lon1), (lat2, lon2) in zip(corners, corners[1:] + corners[:1], strict=True):
        if (lon1 > lon) != (lon2 > lon) and lat < lat1 + (lon - lon1) * (lat2 - lat1) / (lon2 - lon1):
            inside = not inside
    return inside


def find_place(text: str) -> Place:
    """The place a name or a phrase refers to ("금촌역", "금촌역 근처", "near Geumchon Station")."""
    wanted = _compact(text)
    if wanted:
        for place in places():
            if wanted in {_compact(alias) for alias in (place.name, place.name_en, *place.aliases)}:
                return place
        # The longest alias inside the phrase: "운정역 근처 주차장" → 운정역.
        found = [
            (len(_compact(alias)), place)
            for place in places()
            for alias in (place.name, place.name_en, *place.aliases)
            if _compact(alias) and _compact(alias) in wanted
        ]
        if found:
            return max(found, key=lambda pair: pair[0])[1]
    known = ", ".join(place.name for place in places())
    known_en = ", ".join(place.name_en for place in places())
    raise PlaceNotFound(
        f"I do not know where {text!r} is; places I know: {known_en}.",
        f"'{text}' 위치를 몰라요. 아는 곳: {known}.",
    )


def _compact(text: str) -> str:
    return re.sub(r"[\s\-_.,'’]+", "", unicodedata.normalize("NFKC", text).lower())
