"""`python -m bench.opendata`: latency of POST /api/opendata/ask in-process on a seeded SQLite database.

Prints the first (cold) answer, then p50/p95 over repeated rounds of number questions and of chart questions.
"""

import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from tests.api.opendata_fixtures import seeded

TOKEN = "bench-service-token"
NUMBER_QUESTIONS = [
    "2025년 4월 외국인 관광객 수",
    "작년 대비 올해 관광객 증감",
    "How many foreign visitors came to the DMZ in April?",
    "2025년 인구가 가장 많은 읍면동",
    "운정3동 인구 비중",
    "공영주차장 몇 곳?",
    "What share of DMZ visitors were foreigners in 2025?",
    "파주 미세먼지 농도는?",
]
CHART_QUESTIONS = ["2024년 월별 관광객 추이", "top 5 districts by population in 2024"]


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def _time(client: TestClient, question: str) -> float:
    started = time.perf_counter()
    response = client.post(
        "/api/opendata/ask", json={"question": question}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


def main(rounds: int = 20) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'paju.db'}"
        upgrade(url)
        app = create_app(Settings(database_url=url, service_token=TOKEN, log_level="WARNING"))
        with TestClient(app) as client:
            seeded(client)
            cold = _time(client, NUMBER_QUESTIONS[0])
            numbers = [_time(client, q) for _ in range(rounds) for q in NUMBER_QUESTIONS]
            first_charts = [_time(client, q) for q in CHART_QUESTIONS]
            charts = [_time(client, q) for _ in range(rounds) for q in CHART_QUESTIONS]
        app.state.engine.dispose()
    print(f"ask, first question (cold caches): {cold:.0f} ms")
    print(
        f"ask, numbers: p50 {statistics.median(numbers):.1f} ms, p95 {_percentile(numbers, 0.95):.1f} ms "
        f"({len(numbers)} answers)"
    )
    print(f"ask, chart drawn: {', '.join(f'{ms:.0f}' for ms in first_charts)} ms")
    print(f"ask, chart already drawn: p50 {statistics.median(charts):.1f} ms, p95 {_percentile(charts, 0.95):.1f} ms")


if __name__ == "__main__":
    main()
