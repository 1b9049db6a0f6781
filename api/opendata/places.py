"""A small gazetteer of places in Paju that people name ("금촌역", "Imjingak") and their coordinates."""

import csv
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


@cache
def places() -> tuple[Place, ...]:
    with PLACES_FILE.open(encoding="utf-8", newline="") as file:
        return tuple(
            Place(row["name"], row["name_en"], tuple(row["aliases"].split("|")), float(row["lat"]), float(row["lon"]))
            for row in csv.DictReader(file)
        )


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
