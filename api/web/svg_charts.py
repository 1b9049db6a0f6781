"""Charts for console pages drawn on the server as inline SVG: a bar chart and a line chart, values on hover."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 52, 58
COLOURS = ("#0b5cad", "#e07b00", "#2e8b57", "#a33ea1", "#7a8692", "#c0392b")
MAX_X_LABELS = 10


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per label; None where there is no value (a gap in a line)


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    unit: str = "",
    stacked: bool = False,
) -> Markup:
    """Bars per label: side by side for several series, or stacked into one bar when `stacked`."""
    top = _top(
        [sum(v or 0 for v in column) for column in zip(*(s.values for s in series), strict=True)]
        if stacked and series
        else [v or 0 for s in series for v in s.values]
    )
    parts = _frame(title, labels, series, top, x_label, y_label, unit)
    slot = _plot_width() / max(len(labels), 1)
    bars = 1 if stacked else max(len(series), 1)
    bar_width = slot * 0.8 / bars
    for index, label in enumerate(labels):
        base = 0.0
        for number, one in enumerate(series):
            value = one.values[index] or 0
            if value <= 0:
                continue
            x = LEFT + slot * index + slot * 0.1 + (0 if stacked else bar_width * number)
            y_top, y_bottom = _y(base + value, top), _y(base, top)
            parts.append(
                f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{bar_width:.1f}" height="{y_bottom - y_top:.1f}" '
                f'fill="{COLOURS[number % len(COLOURS)]}">'
                f"<title>{escape(label)} · {escape(one.name)}: {_number(value)}{escape(unit)}</title></rect>"
            )
            if stacked:
                base += value
    return _close(parts)


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    unit: str = "",
) -> Markup:
    """A line per series through the labels' points; a None value breaks the line."""
    top = _top([v for s in series for v in s.values if v is not None])
    parts = _frame(title, labels, series, top, x_label, y_label, unit)
    slot = _plot_width() / max(len(labels), 1)
    for number, one in enumerate(series):
        colour = COLOURS[number % len(COLOURS)]
        path, points, pen_down = [], [], False
        for index, value in enumerate(one.values):
            if value is None:
                pen_down = False
                continue
            x, y = LEFT + slot * (index + 0.5), _y(value, top)
            path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            pen_down = True
            points.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(labels[index])} · {escape(one.name)}: {_number(value)}{escape(unit)}</title></circle>"
            )
        if path:
            parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.extend(points)
    return _close(parts)


def _frame(
    title: str, labels: Sequence[str], series: Sequence[Series], top: float, x_label: str, y_label: str, unit: str
) -> list[str]:
    """The title, legend, axes with their labels and the grid: everything but the data."""
    bottom_y, right_x = HEIGHT - BOTTOM, WIDTH - RIGHT
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'font-size="12" font-family="sans-serif" fill="#1d2530"><title>{escape(title)}</title>',
        f'<text x="{LEFT}" y="20" font-size="15" font-weight="600">{escape(title)}</text>',
    ]
    if len(series) > 1:
        x = LEFT
        for number, one in enumerate(series):
            colour = COLOURS[number % len(COLOURS)]
            parts.append(f'<rect x="{x}" y="30" width="12" height="12" fill="{colour}"/>')
            parts.append(f'<text x="{x + 16}" y="40">{escape(one.name)}</text>')
            x += 28 + 8 * len(one.name) + (6 * len(one.name) if not one.name.isascii() else 0)
    for step in range(5):
        value = top * step / 4
        y = _y(value, top)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right_x}" y2="{y:.1f}" stroke="#e3e8ee"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(value)}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{bottom_y}" x2="{right_x}" y2="{bottom_y}" stroke="#536170"/>')
    slot = _plot_width() / max(len(labels), 1)
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for index, label in enumerate(labels):
        if index % every == 0:
            x = LEFT + slot * (index + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{bottom_y + 16}" text-anchor="middle">{escape(label)}</text>')
    parts.append(
        f'<text x="{LEFT + _plot_width() / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" fill="#536170">'
        f"{escape(x_label)}</text>"
    )
    middle = TOP + (bottom_y - TOP) / 2
    y_title = f"{y_label} ({unit})" if unit else y_label
    parts.append(
        f'<text x="14" y="{middle:.1f}" text-anchor="middle" fill="#536170" '
        f'transform="rotate(-90 14 {middle:.1f})">{escape(y_title)}</text>'
    )
    if not labels or not any(v is not None for s in series for v in s.values):
        parts.append(
            f'<text x="{LEFT + _plot_width() / 2:.1f}" y="{middle:.1f}" text-anchor="middle" fill="#7a8692">'
            "자료가 없어요</text>"
        )
    return parts


def _close(parts: list[str]) -> Markup:
    return Markup("".join(parts) + "</svg>")  # every text in it went through escape()


def _plot_width() -> float:
    return WIDTH - LEFT - RIGHT


def _y(value: float, top: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * value / top


def _top(values: Sequence[float]) -> float:
    """The axis maximum: four round steps covering the largest value."""
    largest = max(values, default=0)
    if largest <= 0:
        return 4
    raw = largest / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return step * 4


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
