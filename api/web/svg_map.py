"""A map of Paju drawn on the server as inline SVG: no tiles, no map service; reference places and case dots."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Paju's bounding box with a little margin (degrees): the map is this box, projected so that distances look right.
SOUTH, NORTH, WEST, EAST = 37.68, 37.99, 126.61, 127.02
MIDDLE_LATITUDE = (SOUTH + NORTH) / 2
PADDING = 16


@dataclass(frozen=True)
class Landmark:
    """A reference place: a grey labelled dot; a 읍면동 (district) in a lighter grey."""

    name: str
    latitude: float
    longitude: float
    district: bool = False


@dataclass(frozen=True)
class Dot:
    """A case on the map: a coloured dot, its tooltip, and where clicking it goes."""

    latitude: float
    longitude: float
    colour: str
    label: str
    href: str = ""  # none: a dot that links nowhere (the case's own page)
    highlighted: bool = False  # overdue: a red ring around it


def inside(latitude: float | None, longitude: float | None) -> bool:
    return latitude is not None and longitude is not None and SOUTH <= latitude <= NORTH and WEST <= longitude <= EAST


def paju_map(
    title: str,
    landmarks: Sequence[Landmark],
    dots: Sequence[Dot],
    *,
    outline: Sequence[tuple[float, float]] = (),
    width: int = 640,
) -> Markup:
    """The box with the city's outline, the landmarks labelled and each dot linking to its case; what lies
    outside the box is left out."""
    height = _height(width)
    parts = [
        f'<svg class="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'font-size="11" font-family="sans-serif"><title>{escape(title)}</title>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f7f9fb" stroke="#c3ccd6"/>',
    ]
    if outline:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (_point(lat, lon, width) for lat, lon in outline))
        parts.append(f'<polygon points="{points}" fill="#eef4ea" stroke="#9fb39a" stroke-width="1.5"/>')
    parts.append(_compass(width))
    labels: list[tuple[float, float, float, float]] = []
    # Stations and landmarks are labelled first; a 읍면동 label that would cover one is left out (its dot stays).
    for landmark in sorted(landmarks, key=lambda place: place.district):
        if not inside(landmark.latitude, landmark.longitude):
            continue
        x, y = _point(landmark.latitude, landmark.longitude, width)
        colour = "#9aa5b1" if landmark.district else "#536170"
        size = ' font-size="9"' if landmark.district else ""
        box = _label_box(x + 5, y - 4, landmark.name, 9 if landmark.district else 11)
        text = ""
        if not any(_overlap(box, placed) for placed in labels):
            labels.append(box)
            text = f'<text x="{x + 5:.1f}" y="{y - 4:.1f}" fill="{colour}"{size}>{escape(landmark.name)}</text>'
        parts.append(
            f'<g class="landmark"><circle cx="{x:.1f}" cy="{y:.1f}" r="{2.5 if landmark.district else 3.5}" '
            f'fill="{colour}">{f"<title>{escape(landmark.name)}</title>" if not text else ""}</circle>{text}</g>'
        )
    for dot in dots:
        if not inside(dot.latitude, dot.longitude):
            continue
        x, y = _point(dot.latitude, dot.longitude, width)
        ring = (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="10" fill="none" stroke="#c0392b" stroke-width="2"/>'
            if dot.highlighted
            else ""
        )
        circle = (
            f'{ring}<circle cx="{x:.1f}" cy="{y:.1f}" r="6.5" fill="{escape(dot.colour)}" stroke="#fff" '
            f'stroke-width="1.5"><title>{escape(dot.label)}</title></circle>'
        )
        parts.append(f'<a href="{escape(dot.href)}" class="case-dot">{circle}</a>' if dot.href else circle)
    return Markup("".join(parts) + "</svg>")  # every text in it went through escape()


def _label_box(x: float, baseline: float, name: str, font_size: int) -> tuple[float, float, float, float]:
    """The rough box a label takes: Hangul is about one em wide a letter, Latin about half."""
    width = sum(font_size if ord(letter) > 0x2E80 else font_size * 0.55 for letter in name)
    return x, baseline - font_size, x + width, baseline + 2


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _height(width: int) -> int:
    return round(width * (NORTH - SOUTH) / ((EAST - WEST) * math.cos(math.radians(MIDDLE_LATITUDE))))


def _point(latitude: float, longitude: float, width: int) -> tuple[float, float]:
    height = _height(width)
    x = PADDING + (width - 2 * PADDING) * (longitude - WEST) / (EAST - WEST)
    y = PADDING + (height - 2 * PADDING) * (NORTH - latitude) / (NORTH - SOUTH)
    return x, y


def _compass(width: int) -> str:
    x = width - 24
    return (
        f'<g class="north"><path d="M{x},14 l6,16 l-6,-5 l-6,5 z" fill="#536170"/>'
        f'<text x="{x}" y="42" text-anchor="middle" fill="#536170">북</text></g>'
    )
