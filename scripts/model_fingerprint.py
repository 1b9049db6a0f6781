"""Prints a fingerprint of everything a trained Rasa model depends on: config, domain, data, NLU code.

Rasa fingerprints the same inputs inside a model; hashing them here lets `make` know, without
loading Rasa, whether `models/` already holds a model for the current data.
"""

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ["config.yml", "domain", "data", "bot/nlu", "common", "requirements/rasa.txt"]


def fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".pyc" or "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


if __name__ == "__main__":
    sys.stdout.write(fingerprint() + "\n")
