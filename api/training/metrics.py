"""Intent classification figures from predictions: per-intent precision, recall, F1, and the confused pairs."""

from collections import Counter
from dataclasses import dataclass
from typing import Any

MAX_ERRORS = 50
MAX_CONFUSED = 10


def report(predictions: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures of predictions given as {"text", "expected", "predicted", "confidence"}."""
    expected = Counter(p["expected"] for p in predictions)
    predicted = Counter(p["predicted"] for p in predictions)
    correct = Counter(p["expected"] for p in predictions if p["expected"] == p["predicted"])
    intents = {}
    for intent in sorted(set(expected) | set(predicted)):
        precision = correct[intent] / predicted[intent] if predicted[intent] else 0.0
        recall = correct[intent] / expected[intent] if expected[intent] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        intents[intent] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": expected[intent],
        }
    total = len(predictions)
    supported = [name for name in intents if intents[name]["support"]]
    mistakes = [p for p in predictions if p["expected"] != p["predicted"]]
    confused = Counter((p["expected"], p["predicted"]) for p in mistakes).most_common(MAX_CONFUSED)
    return {
        "count": total,
        "accuracy": round(sum(correct.values()) / total, 4) if total else 0.0,
        "macro_f1": round(sum(intents[n]["f1"] for n in supported) / len(supported), 4) if supported else 0.0,
        "weighted_f1": round(sum(intents[n]["f1"] * intents[n]["support"] for n in supported) / total, 4)
        if total
        else 0.0,
        "intents": intents,
        "confused": [[pair[0], pair[1], number] for pair, number in confused],
        "errors": [
            {key: p.get(key) for key in ("text", "expected", "predicted", "confidence")} for p in mistakes[:MAX_ERRORS]
        ],
    }


@dataclass(frozen=True)
class IntentRow:
    intent: str
    candidate: dict[str, Any] | None
    live: dict[str, Any] | None

    @property
    def f1_change(self) -> float | None:
        if self.candidate is None or self.live is None:
            return None
        return round(self.candidate["f1"] - self.live["f1"], 4)


def side_by_side(candidate: dict[str, Any] | None, live: dict[str, Any] | None) -> list[IntentRow]:
    """One row per intent of either report, for the console's comparison table."""
    ours, theirs = (candidate or {}).get("intents", {}), (live or {}).get("intents", {})
    return [IntentRow(intent, ours.get(intent), theirs.get(intent)) for intent in sorted(set(ours) | set(theirs))]
