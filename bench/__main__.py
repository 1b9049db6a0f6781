"""`make bench`: starts the whole stack on free loopback ports and prints its figures.

The chat figures are the stack's beside bare Rasa's (bench/bare_rasa.py) under the same greetings, both systems
up at once and taking turns, with the ratio of the two.

Options: --skip-training (do not time a cold `rasa train`), --messages N (per conversation),
--rounds N (turns each system takes at each chat load), --model PATH (another model for the stack's Rasa than
models/current.tar.gz), --only chat|booking|opendata|knowledge|nlu|rush (one part only; nlu is the held-out NLU set,
the assistant's pipeline beside Rasa's default one; rush is the booking rush in cluster mode, one replica beside two).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench import bare_rasa, booking, booking_rush, knowledge, nlu_heldout, opendata_accuracy
from bench.chat_latency import run_load, side_by_side, web_chat
from tests.support.postgres import temporary_database
from tests.support.stack import DEFAULT_MODEL, ROOT, Stack


def time_training() -> float:
    """A cold training run: an empty Rasa cache and a throw-away output folder."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "RASA_CACHE_DIRECTORY": f"{scratch}/cache", "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        subprocess.run(
            [
                *(str(ROOT / ".venv-rasa/bin/rasa"), "train", "--domain", "domain"),
                *("--out", f"{scratch}/models", "--fixed-model-name", "bench"),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - started


def chat(messages: int, rounds: int, model: Path = DEFAULT_MODEL) -> dict:
    """Greetings through the stack's web chat and to bare Rasa's REST channel, side by side."""
    moodbot = bare_rasa.moodbot_model()  # trained before the stack starts, so as not to slow it
    results: dict = {}
    with tempfile.TemporaryDirectory() as workdir:
        # Rasa asks the api for a new live model as often as in production (scripts/run-rasa), not every second as
        # the tests have it.
        stack = Stack(Path(workdir), model=model, extra_env={"MODEL_PULL_SECONDS": "10"}).start()
        try:
            with bare_rasa.serve(moodbot) as rasa_url:
                systems = {"stack": web_chat(stack.url("gateway")), "bare_rasa": bare_rasa.rest_channel(rasa_url)}
                for conversation in systems.values():
                    asyncio.run(run_load(conversation, 2, 5))  # warm-up: first TensorFlow calls are slow
                paced = (1.5, 2.5)
                results["1_conversation"] = asyncio.run(side_by_side(systems, 1, messages * 4, rounds))
                results["20_conversations_paced"] = asyncio.run(side_by_side(systems, 20, messages, 1, paced))
                results["20_conversations_saturated"] = asyncio.run(side_by_side(systems, 20, messages, rounds))
            results["resident_memory_mib"] = {name: round(mib) for name, mib in stack.rss_mb().items()}
        finally:
            stack.stop_all()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--messages", type=int, default=25, help="messages per conversation")
    parser.add_argument("--rounds", type=int, default=5, help="turns each system takes at each chat load")
    parts = ["chat", "booking", "opendata", "knowledge", "nlu", "rush"]
    parser.add_argument("--only", choices=parts, help="run one part only")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the model the stack's Rasa serves")
    args = parser.parse_args()

    results: dict = {}
    if args.only == "rush":
        _rush(results)
        return
    if args.only in (None, "opendata"):
        results["opendata_accuracy"] = opendata_accuracy.figures(opendata_accuracy.run())
    if args.only in (None, "knowledge"):
        results["knowledge_retrieval"] = knowledge.run(show_misses=False)
    if args.only in (None, "nlu"):
        results["nlu_heldout"] = nlu_heldout.run()
    if args.only in ("opendata", "knowledge", "nlu"):
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    if args.only != "chat":
        with tempfile.TemporaryDirectory() as workdir:
            results["booking_sqlite"] = booking.measure(f"sqlite:///{workdir}/bench.db", Path(workdir))
        with tempfile.TemporaryDirectory() as workdir, temporary_database() as url:
            results["booking_postgres"] = booking.measure(url, Path(workdir))
    if args.only == "booking":
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    results |= chat(args.messages, args.rounds, args.model)
    if not args.skip_training:
        results["model_training_s"] = round(time_training(), 1)
    _rush(results)


def _rush(results: dict) -> None:
    """The booking rush in cluster mode (its own clusters, one replica then two: some five to eight minutes)."""
    results["booking_rush"] = booking_rush.run()
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(booking_rush.side_by_side(results["booking_rush"]))


if __name__ == "__main__":
    main()
