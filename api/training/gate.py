"""The safety gate before activation: a candidate that does worse than the live model waits for an admin's reason.

A training run has the candidate's file and the live model's file classify the same held-out split and the same
regression set (api/training/runs.py, `evaluation["comparison"]`). Any intent whose F1 falls by more than
TRAINING_GATE_F1_DROP, or any fall in regression accuracy, blocks the candidate; so does a comparison made with a
model that is no longer the live one. A model never compared (trained outside the console) is not blocked: there
is nothing measured to block on, and the console says so beside the confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.training.models import TrainedModel

# The comparison's two sets, in the order the console lists them.
SETS = {"regression": ("regression set", "회귀 세트"), "held_out": ("held-out split", "보류 데이터")}
REASONS_IN_REFUSAL = 5


@dataclass(frozen=True)
class IntentChange:
    """One intent's F1 on one set, the candidate's beside the live model's."""

    set_name: str
    intent: str
    support: int
    candidate_f1: float
    live_f1: float
    blocks: bool

    @property
    def change(self) -> float:
        return round(self.candidate_f1 - self.live_f1, 4)


@dataclass(frozen=True)
class Reason:
    english: str
    korean: str


@dataclass(frozen=True)
class Gate:
    """What stands between a model and activation; `blocked` when there is any reason."""

    compared: bool  # the candidate was measured beside the current live model
    margin: float
    changes: list[IntentChange] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    accuracy: dict[str, tuple[float, float]] = field(default_factory=dict)  # set → (candidate, live)
    compared_with: str | None = None  # the live model's file name at the time of the comparison

    @property
    def blocked(self) -> bool:
        return bool(self.reasons)


def assess(model: TrainedModel, live: TrainedModel | None, margin: float) -> Gate:
    """The gate for making `model` live while `live` is."""
    if live is None or live.id == model.id:
        return Gate(compared=False, margin=margin)
    comparison = (model.evaluation or {}).get("comparison")
    if not comparison:
        return Gate(compared=False, margin=margin)
    if comparison.get("live_model_id") != live.id:
        stale = Reason(
            f"It was compared with {comparison.get('live_file')}, which is no longer live; train again to compare "
            f"it with {live.file_name}.",
            f"비교한 운영 모델({comparison.get('live_file')})이 지금은 운영 중이 아니에요. "
            f"지금 모델({live.file_name})과 비교하려면 다시 학습해 주세요.",
        )
        return Gate(compared=False, margin=margin, reasons=[stale], compared_with=comparison.get("live_file"))
    changes, reasons, accuracy = [], [], {}
    for set_name, (english_set, korean_set) in SETS.items():
        ours, theirs = comparison.get(set_name, {}).get("candidate"), comparison.get(set_name, {}).get("live")
        if not ours or not theirs:
            continue
        accuracy[set_name] = (ours["accuracy"], theirs["accuracy"])
        if set_name == "regression" and ours["accuracy"] < theirs["accuracy"]:
            reasons.append(
                Reason(
                    f"Regression accuracy falls from {_pct(theirs['accuracy'])} to {_pct(ours['accuracy'])}.",
                    f"회귀 세트 정확도가 {_pct(theirs['accuracy'])}에서 {_pct(ours['accuracy'])}(으)로 떨어져요.",
                )
            )
        for change in _intent_changes(set_name, ours, theirs, margin):
            changes.append(change)
            if change.blocks:
                reasons.append(
                    Reason(
                        f"'{change.intent}' F1 on the {english_set} falls from {change.live_f1:.2f} to "
                        f"{change.candidate_f1:.2f}.",
                        f"'{change.intent}' 의도의 F1이 {korean_set}에서 {change.live_f1:.2f} → "
                        f"{change.candidate_f1:.2f}(으)로 떨어져요.",
                    )
                )
    return Gate(True, margin, changes, reasons, accuracy, comparison.get("live_file"))


def _intent_changes(set_name: str, ours: dict[str, Any], theirs: dict[str, Any], margin: float) -> list[IntentChange]:
    """Intents the set has messages of (an intent only ever predicted has no F1 worth comparing)."""
    found = []
    for intent in sorted(set(ours["intents"]) | set(theirs["intents"])):
        mine, live = ours["intents"].get(intent), theirs["intents"].get(intent)
        support = max((mine or {}).get("support", 0), (live or {}).get("support", 0))
        if not support:
            continue
        candidate_f1, live_f1 = (mine or {}).get("f1", 0.0), (live or {}).get("f1", 0.0)
        # Rounded as stored (4 places): a fall of exactly the margin does not block.
        blocks = round(live_f1 - candidate_f1, 4) > margin
        found.append(IntentChange(set_name, intent, support, candidate_f1, live_f1, blocks))
    return found


def refusal(gate: Gate) -> tuple[str, str]:
    """The 409's words: what blocks the model (the first few reasons; the gate route lists them all) and how to go
    ahead anyway."""
    shown, more = gate.reasons[:REASONS_IN_REFUSAL], len(gate.reasons) - REASONS_IN_REFUSAL
    english = " ".join(reason.english for reason in shown) + (f" And {more} more." if more > 0 else "")
    korean = " ".join(reason.korean for reason in shown) + (f" 그 밖에 {more}개 더 있어요." if more > 0 else "")
    return (
        f"The safety gate blocks this model: {english} To activate it anyway, give a reason (confirm_reason).",
        f"안전 검사에서 막혔어요: {korean} 그래도 전환하려면 이유를 적어 주세요(confirm_reason).",
    )


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"
