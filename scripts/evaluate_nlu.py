"""Trains held-out NLU models and has Rasa models classify labelled messages (run in .venv-rasa by the api).

Usage: evaluate_nlu.py JOB.json RESULT.json

JOB: {"config": path, "domain": path, "work_dir": path,
      "trainings": [{"name": str, "nlu": path, "sets": {set name: [{"text", "expected"}]}}],
      "models": [{"path": model file, "sets": {set name: [{"text", "expected"}]}}]}
Each training is an NLU-only model trained on `nlu` (examples the sets do not contain) in `work_dir`.
RESULT: {"predictions": {set name: [{"text", "expected", "predicted", "confidence"}]}}, the predictions
of sets that share a name (cross-validation folds) one after another. The figures are computed by the
api (api/training/metrics.py): this side only loads Rasa.
"""

import asyncio
import json
import logging
import sys
from pathlib import Path


async def _classify(model_path: str, sets: dict, predictions: dict) -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    for name, messages in sets.items():
        for message in messages:
            parsed = await agent.parse_message(message["text"])
            intent = parsed.get("intent") or {}
            predictions.setdefault(name, []).append(
                {
                    "text": message["text"],
                    "expected": message["expected"],
                    "predicted": intent.get("name"),
                    "confidence": round(float(intent.get("confidence") or 0.0), 4),
                }
            )


def main(job_path: str, result_path: str) -> None:
    from rasa.model_training import train_nlu
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # As `rasa train` logs: no line per classified message.
    configure_logging_and_warnings(logging.INFO)
    configure_structlog(logging.INFO)

    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    predictions: dict[str, list] = {}
    steps = len(job["trainings"]) + len(job["models"])
    step = 0
    for training in job["trainings"]:
        step += 1
        print(f"evaluation step {step}/{steps}: training {training['name']}", flush=True)
        model = train_nlu(
            job["config"], training["nlu"], job["work_dir"], fixed_model_name=training["name"], domain=job["domain"]
        )
        if not model:
            raise SystemExit(f"training {training['name']} produced no model")
        print(f"evaluation step {step}/{steps}: classifying with {training['name']}", flush=True)
        asyncio.run(_classify(model, training["sets"], predictions))
    for entry in job["models"]:
        step += 1
        print(f"evaluation step {step}/{steps}: classifying with {Path(entry['path']).name}", flush=True)
        asyncio.run(_classify(entry["path"], entry["sets"], predictions))
    Path(result_path).write_text(json.dumps({"predictions": predictions}, ensure_ascii=False), encoding="utf-8")
    print("evaluation done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
