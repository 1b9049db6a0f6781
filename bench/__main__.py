"""`make bench`: starts the whole stack on free loopback ports and prints its figures.

Options: --skip-training (do not time a cold `rasa train`), --messages N (per conversation),
--only chat|booking|opendata (one part only).
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

from bench import booking, opendata_accuracy
from bench.chat_latency import measure
from tests.support.postgres import temporary_database
from tests.support.stack import ROOT, Stack


def time_training() -> float:
    """A cold training run: an empty Rasa cache and a throw-away output folder."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "RASA_CACHE_DIRECTORY": f"{scratch}/cache", "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        subprocess.run(
            [str(ROOT / ".venv-rasa/bin/rasa"), "train", "--out", f"{scratch}/models", "--fixed-model-name", "bench"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--messages", type=int, default=25, help="messages per conversation")
    parser.add_argument("--only", choices=["chat", "booking", "opendata"], help="run one part only")
    args = parser.parse_args()

    results: dict = {}
    if args.only in (None, "opendata"):
        results["opendata_accuracy"] = opendata_accuracy.figures(opendata_accuracy.run())
    if args.only == "opendata":
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
    with tempfile.TemporaryDirectory() as workdir:
        stack = Stack(Path(workdir)).start()
        try:
            gateway = stack.url("gateway")
            asyncio.run(measure(gateway, 2, 5))  # warm-up: first TensorFlow calls are slow
            paced = (1.5, 2.5)
            results["1_conversation"] = asyncio.run(measure(gateway, 1, args.messages * 4))
            results["20_conversations_paced"] = asyncio.run(measure(gateway, 20, args.messages, paced))
            results["20_conversations_saturated"] = asyncio.run(measure(gateway, 20, args.messages))
            results["resident_memory_mib"] = {name: round(mib) for name, mib in stack.rss_mb().items()}
        finally:
            stack.stop_all()
    if not args.skip_training:
        results["model_training_s"] = round(time_training(), 1)

    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
