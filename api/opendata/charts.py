"""PNG charts of a series (a line over time, or bars per place) with Korean text, drawn by matplotlib in NanumGothic."""

import io
import subprocess
import threading
from functools import cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FuncFormatter

from api.opendata.errors import ChartFontMissing

FONT_FAMILY = "NanumGothic"
WIDTH_PX, HEIGHT_PX, DPI = 960, 540, 120
LINE_COLOUR = "#1f6f8b"
# matplotlib's text engine is not safe across threads; charts are small, so one at a time.
_drawing = threading.Lock()


@cache
def korean_font_path() -> Path:
    """NanumGothic's file, from the Debian package fonts-nanum; a clear error when it is not installed."""
    if not any(entry.name == FONT_FAMILY for entry in font_manager.fontManager.ttflist):
        # matplotlib's font cache may predate the package: look on the system and register it.
        found = [path for path in font_manager.findSystemFonts() if Path(path).name.startswith("NanumGothic")]
        found = found or [line.split(":")[0] for line in _fc_list() if "/NanumGothic" in line.split(":")[0]]
        for path in found:
            font_manager.fontManager.addfont(path)
    try:
        return Path(font_manager.findfont(FontProperties(family=FONT_FAMILY), fallback_to_default=False))
    except ValueError:
        raise ChartFontMissing(
            "NanumGothic is not installed, so charts cannot draw Korean text: install the Debian package "
            "fonts-nanum (apt-get install fonts-nanum; `make browser` does it)."
        ) from None


def line_chart(title: str, labels: list[str], values: list[float], value_label: str) -> bytes:
    def draw(axes) -> None:
        positions = list(range(len(values)))
        axes.plot(positions, values, marker="o", color=LINE_COLOUR, linewidth=2)
        step = max(1, len(labels) // 12)
        axes.set_xticks(positions[::step], labels[::step], rotation=45 if len(labels) > 6 else 0, ha="right")
        axes.set_ylim(bottom=0)

    return _render(title, value_label, draw)


def bar_chart(title: str, labels: list[str], values: list[float], value_label: str) -> bytes:
    def draw(axes) -> None:
        positions = list(range(len(values)))[::-1]
        axes.barh(positions, values, color=LINE_COLOUR)
        axes.set_yticks(positions, labels)

    return _render(title, value_label, draw, horizontal=True)


def _render(title: str, value_label: str, draw, horizontal: bool = False) -> bytes:
    font = korean_font_path()
    with _drawing, matplotlib.rc_context({"font.family": FONT_FAMILY, "axes.unicode_minus": False}):
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        axes = figure.add_subplot()
        draw(axes)
        axes.set_title(title, fontsize=13)
        thousands = FuncFormatter(lambda value, _position: f"{value:,.0f}")
        (axes.xaxis if horizontal else axes.yaxis).set_major_formatter(thousands)
        if horizontal:
            axes.set_xlabel(value_label)
        else:
            axes.set_ylabel(value_label)
        axes.grid(axis="x" if horizontal else "y", alpha=0.3)
        figure.tight_layout()
        output = io.BytesIO()
        # The font's file goes into the PNG's text chunks, so a reader can tell what drew the Hangul.
        figure.savefig(output, format="png", dpi=DPI, metadata={"Font": str(font), "Software": "matplotlib"})
    return output.getvalue()


def _fc_list() -> list[str]:
    try:
        return subprocess.run(["fc-list"], capture_output=True, text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return []
