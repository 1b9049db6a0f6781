"""Duckling in a child process, spoken to over JSON lines.

Run in the Rasa process itself, Duckling's Haskell runtime corrupted TensorFlow's memory under
concurrent load (the server aborted in DIET's predict); in its own process it cannot.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

TIMEOUT_SECONDS = 5


def serve() -> None:
    """The child: reads {"text", "timestamp"} lines, answers each with Duckling's results (both languages)."""
    import duckling

    zones = duckling.load_time_zones("/usr/share/zoneinfo")
    locales = [duckling.default_locale_lang(duckling.parse_lang(language)) for language in ("KO", "EN")]
    dimensions = duckling.parse_dimensions(["time"])
    for line in sys.stdin:
        request = json.loads(line)
        reference = duckling.parse_ref_time(zones, "Asia/Seoul", request["timestamp"])
        results = [
            result
            for locale in locales
            for result in duckling.parse(request["text"], duckling.Context(reference, locale), dimensions, False)
        ]
        sys.stdout.write(json.dumps(results, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()


class DucklingWorker:
    """The parent's handle: one child per process, started on first use and again if it dies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: subprocess.Popen | None = None

    def parse(self, text: str, timestamp: int) -> list[dict[str, Any]]:
        with self._lock:
            for _attempt in range(2):
                try:
                    child = self._running()
                    child.stdin.write(json.dumps({"text": text, "timestamp": timestamp}, ensure_ascii=False) + "\n")
                    child.stdin.flush()
                    answer = child.stdout.readline()
                    if answer:
                        return json.loads(answer)
                except (OSError, ValueError):
                    pass
                self._stop()
        # Duckling is unavailable: the rule-based part of date finding still works.
        return []

    def _running(self) -> subprocess.Popen:
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "bot.nlu.duckling_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        return self._child

    def _stop(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child.wait()
            self._child = None


if __name__ == "__main__":
    serve()
