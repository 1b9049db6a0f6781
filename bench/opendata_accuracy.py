"""`python -m bench.opendata_accuracy`: open-data answers graded on the evaluation set of issue 15.

Uploads the set's datasets to a fresh seeded SQLite app through the HTTP API, asks every question, and prints per
dataset and overall the exact-figure accuracy, the wrong-figure rate and the refusal rate on questions that cannot
be answered, beside the goals, then every miss with its reply.
"""

import tempfile
from pathlib import Path

from tests.api.opendata_fixtures import headers_for, seeded_app
from tests.opendata_eval.grading import GOALS, Report, grade, summary


def run() -> Report:
    with tempfile.TemporaryDirectory() as scratch, seeded_app(Path(scratch)) as client:
        return grade(client, headers_for(client, "admin"))


def figures(report: Report) -> dict:
    """The headline rates, for `python -m bench`'s JSON."""
    overall = report.tally()
    return {
        "exact": round(overall.exact_rate, 3),
        "wrong_figures": round(overall.wrong_rate, 3),
        "refusals": round(overall.refusal_rate, 3),
        "stray_periods": round(overall.stray_periods / overall.questions, 3),
        "goals": GOALS,
        "questions": overall.questions,
        "misses": len(report.misses),
    }


def main() -> None:
    print(summary(run()))


if __name__ == "__main__":
    main()
