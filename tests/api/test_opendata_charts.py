"""Charts of series answers: a PNG of the expected size, drawn with a font that has the Hangul it shows."""

import io
import warnings

import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from api.opendata import charts
from api.opendata.errors import ChartFontMissing
from tests.api.opendata_fixtures import ask, seeded


@pytest.fixture
def opendata(client):
    return seeded(client)


def _png(client, url: str) -> bytes:
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    return response.content


def test_a_trend_question_returns_a_png_chart_drawn_in_a_hangul_font(opendata):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font" for undrawable text
        answer = ask(opendata, "2024년 월별 관광객 추이")
    assert answer["chart_url"].startswith("http://localhost:8000/api/opendata/charts/")
    # The chart is sent as an image beside the text; the text never shows the service's own address.
    assert answer["chart_url"] not in answer["answer"] and "localhost" not in answer["answer"]
    image = Image.open(io.BytesIO(_png(opendata, answer["chart_url"])))
    assert image.format == "PNG" and image.size == (charts.WIDTH_PX, charts.HEIGHT_PX) == (960, 540)
    font_path = image.info["Font"]
    assert font_path.endswith("NanumGothic.ttf")
    cmap = TTFont(font_path).getBestCmap()
    title_text = "2024년 총관광객 수 추이 파주시 DMZ 평화관광 월별 관광객 현황"
    assert all(ord(character) in cmap for character in title_text if "가" <= character <= "힣")


def test_an_english_ranking_gets_a_bar_chart_and_a_single_figure_gets_none(opendata):
    ranking = ask(opendata, "top 5 districts by population in 2025")
    assert Image.open(io.BytesIO(_png(opendata, ranking["chart_url"]))).size == (960, 540)
    assert ask(opendata, "2025년 4월 관광객 수")["chart_url"] is None


def test_the_same_chart_is_drawn_once(opendata):
    first = ask(opendata, "DMZ visitor trend in 2024")["chart_url"]
    assert ask(opendata, "DMZ visitor trend in 2024")["chart_url"] == first


def test_an_unknown_chart_is_404(opendata):
    assert opendata.get("/api/opendata/charts/0123456789abcdef.png").status_code == 404


def test_charts_fail_clearly_without_the_korean_font(monkeypatch):
    def missing(*args, **kwargs):
        raise ValueError("no font")

    charts.korean_font_path.cache_clear()
    monkeypatch.setattr(charts.font_manager, "findfont", missing)
    with pytest.raises(ChartFontMissing, match="fonts-nanum"):
        charts.line_chart("제목", ["a", "b"], [1, 2], "명")
    charts.korean_font_path.cache_clear()
