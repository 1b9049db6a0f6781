"""`python -m bench.nlu_heldout`: the assistant's NLU beside Rasa's default pipeline on the held-out set of issue 23.

Both pipelines are trained in the run, NLU-only, on the same data/nlu: the assistant's as config.yml configures it,
the default as `rasa init` does; each model is kept under var/bench/ until the data, its config, the project's NLU
code or the Rasa version changes. Each then reads every message of tests/nlu/heldout.yml in one Rasa process
(.venv-rasa, Agent.load and parse_message, as a server would). Prints intent accuracy, macro-F1, Korean and English
accuracy, the recall of out-of-scope and gibberish messages, the training time, the parsing process's peak resident
memory and the most frequent confusions of both, beside the issue's goals, and writes the figures to
var/bench/nlu_heldout.json.

Options: --config PATH (another pipeline for the assistant), --model PATH (grade a trained model, such as
models/current.tar.gz, instead), --skip-default (the assistant alone).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from bench.bare_rasa import CACHE, RASA, RASA_ENV, rasa_version
from tests.support.stack import ROOT

HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
TRAINING_DATA = ROOT / "data" / "nlu"
NLU_CODE = ROOT / "bot" / "nlu"
PROJECT_CONFIG = ROOT / "config.yml"
RESULTS = CACHE / "nlu_heldout.json"
GOALS = {"accuracy": 0.97, "macro_f1": 0.97, "korean": 0.97, "rejection_recall": 0.9, "points_above_default": 5.0}
# Out of scope or gibberish: the assistant should decline these, and either intent declines.
REJECTIONS = frozenset({"out_of_scope", "nlu_fallback"})
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
CONFUSIONS = 10
FALLBACK = "nlu_fallback"
THRESHOLDS = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)
# The figures printed for each system, by their names in Score.
FIGURES = {
    "intent accuracy": "accuracy",
    "macro-F1": "macro_f1",
    "Korean accuracy": "korean",
    "English accuracy": "english",
    "out-of-scope + gibberish recall": "rejection_recall",
}

# Rasa 3.6's default pipeline (rasa/engine/recipes/config_files/default_config.yml, which `rasa init` trains with),
# language as `rasa init` writes it: none of these components reads it beyond the tokenizer's list of languages
# it cannot split, which has no Korean.
DEFAULT_CONFIG = """\
recipe: default.v1
assistant_id: bench_default_pipeline
language: en
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
    constrain_similarities: true
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: 100
    constrain_similarities: true
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.1
"""

# Runs in .venv-rasa: argv model, texts (JSON list), output (JSON). One Agent for all messages, as a server has.
PARSE_SCRIPT = """\
import asyncio, json, resource, sys
from rasa.core.agent import Agent

async def intents(model, texts):
    agent = Agent.load(model)
    names, guesses = [], []
    for text in texts:
        parsed = await agent.parse_message(text)
        names.append((parsed.get("intent") or {}).get("name") or "None")
        # The classifier's own best guess, under the fallback that may have replaced it.
        ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
        guesses.append([ranking[0]["name"], ranking[0]["confidence"]] if ranking else [names[-1], 1.0])
    return names, guesses

model, source, target = sys.argv[1:4]
with open(source, encoding="utf-8") as file:
    texts = json.load(file)
names, guesses = asyncio.run(intents(model, texts))
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with open(target, "w", encoding="utf-8") as file:
    json.dump({"intents": names, "guesses": guesses, "peak_rss_mib": peak_mib}, file)
"""


@dataclass(frozen=True)
class HeldOutMessage:
    text: str
    intent: str
    language: str  # ko or en


@dataclass(frozen=True)
class Score:
    messages: int
    accuracy: float
    macro_f1: float
    korean: float
    english: float
    rejection_recall: float
    confusions: list[tuple[str, str, int]]  # (expected, predicted, count), most frequent first


@dataclass(frozen=True)
class Parsed:
    intents: list[str]
    guesses: list[tuple[str, float]]  # the classifier's best intent other than nlu_fallback, and its confidence
    peak_rss_mib: float


def load_heldout(path: Path = HELDOUT) -> list[HeldOutMessage]:
    """The set's messages; a message without a language is Korean when it has Hangul."""
    messages = yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
    return [
        HeldOutMessage(
            text=m["text"],
            intent=m["intent"],
            language=m.get("language") or ("ko" if HANGUL.search(m["text"]) else "en"),
        )
        for m in messages
    ]


def _graded(intent: str) -> str:
    return "out_of_scope" if intent in REJECTIONS else intent


def is_right(expected: str, predicted: str) -> bool:
    """Exact intent, except that out_of_scope and nlu_fallback both decline, so either is right for the other; an
    in-scope message read as nlu_fallback is wrong."""
    return _graded(expected) == _graded(predicted)


def score(messages: list[HeldOutMessage], predicted: list[str]) -> Score:
    """The figures of one system's predictions, in the order of the messages.

    Macro-F1 averages over the intents the set expects (out_of_scope and nlu_fallback as one), so that a wrong
    prediction of an intent the set never asks for counts once, against the expected intent's recall, not again
    as an intent of F1 0.
    """
    if len(messages) != len(predicted):
        raise ValueError(f"{len(predicted)} predictions for {len(messages)} messages")
    right = [is_right(m.intent, p) for m, p in zip(messages, predicted, strict=True)]

    def accuracy(selected: list[bool]) -> float:
        return sum(selected) / len(selected) if selected else 0.0

    def among(keep) -> list[bool]:
        return [r for m, r in zip(messages, right, strict=True) if keep(m)]

    confusions = Counter(
        (m.intent, p) for m, p, r in zip(messages, predicted, right, strict=True) if not r
    ).most_common(CONFUSIONS)
    return Score(
        messages=len(messages),
        accuracy=accuracy(right),
        macro_f1=_macro_f1([_graded(m.intent) for m in messages], [_graded(p) for p in predicted]),
        korean=accuracy(among(lambda m: m.language == "ko")),
        english=accuracy(among(lambda m: m.language == "en")),
        rejection_recall=accuracy(among(lambda m: m.intent in REJECTIONS)),
        confusions=[(expected, got, n) for (expected, got), n in confusions],
    )


def _macro_f1(expected: list[str], predicted: list[str]) -> float:
    scores = []
    for intent in sorted(set(expected)):
        true_positives = sum(e == p == intent for e, p in zip(expected, predicted, strict=True))
        relevant = expected.count(intent)
        chosen = predicted.count(intent)
        scores.append(2 * true_positives / (relevant + chosen))
    return sum(scores) / len(scores)


def parse(model: Path, texts: list[str]) -> Parsed:
    """Every text through one Rasa process that loads the model once; PYTHONPATH lets it find the custom parts."""
    with tempfile.TemporaryDirectory() as scratch:
        source, target, log = (Path(scratch) / name for name in ("texts.json", "parsed.json", "rasa.log"))
        source.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        command = [str(RASA.parent / "python"), "-c", PARSE_SCRIPT, str(model), str(source), str(target)]
        _run(command, log, cwd=Path(scratch), extra_env={"PYTHONPATH": str(ROOT)})
        result = json.loads(target.read_text(encoding="utf-8"))
    guesses = [(name, confidence) for name, confidence in result["guesses"]]
    return Parsed(intents=result["intents"], guesses=guesses, peak_rss_mib=result["peak_rss_mib"])


def threshold_sweep(messages: list[HeldOutMessage], parsed: Parsed, configured: float) -> list[dict]:
    """Accuracy and out-of-scope recall had the fallback threshold been each of THRESHOLDS instead of `configured`:
    a message whose best guess is below it falls back. A message that fell back for another reason (two intents too
    close, no words) stays fallen back."""
    sweep = []
    for threshold in THRESHOLDS:
        predicted = []
        for name, (guess, confidence) in zip(parsed.intents, parsed.guesses, strict=True):
            by_threshold = name == FALLBACK and confidence < configured
            chosen = guess if by_threshold else name
            predicted.append(FALLBACK if chosen == FALLBACK or confidence < threshold else chosen)
        scored = score(messages, predicted)
        sweep.append(
            {
                "threshold": threshold,
                "accuracy": round(scored.accuracy, 4),
                "rejection": round(scored.rejection_recall, 4),
            }
        )
    return sweep


def fallback_threshold(config: str) -> float | None:
    for component in yaml.safe_load(config).get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return None


def trained(name: str, config: str) -> tuple[Path, float | None]:
    """A model of the pipeline in `config` trained NLU-only on data/nlu, and the seconds its training took (None: not
    trained by this run, nor timed when it was). Kept under var/bench/ by a hash of the data, the config, the
    project's NLU code and the Rasa version, so that a second run grades the same models without training them."""
    model = CACHE / f"{name}-nlu-{_training_key(config)}.tar.gz"
    timing = model.with_suffix("").with_suffix(".json")
    if model.exists():
        seconds = json.loads(timing.read_text())["training_s"] if timing.exists() else None
        return model, seconds
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        config_file = Path(scratch) / "config.yml"
        config_file.write_text(config, encoding="utf-8")
        command = [str(RASA), "train", "nlu", "--config", str(config_file), "--nlu", str(TRAINING_DATA)]
        command += ["--out", f"{scratch}/models", "--fixed-model-name", name]
        started = time.perf_counter()
        # A cache of its own: the project's .rasa/cache stays the project's.
        extra_env = {"RASA_CACHE_DIRECTORY": scratch, "PYTHONPATH": str(ROOT)}
        _run(command, Path(scratch) / "train.log", cwd=Path(scratch), extra_env=extra_env)
        seconds = round(time.perf_counter() - started, 1)
        partial = model.with_suffix(".partial")
        shutil.copyfile(Path(scratch) / "models" / f"{name}.tar.gz", partial)
        partial.rename(model)  # whole or absent, should a run be stopped mid-copy
    timing.write_text(json.dumps({"training_s": seconds}))
    return model, seconds


def _training_key(config: str) -> str:
    digest = hashlib.sha256(config.encode())
    digest.update(rasa_version().encode())
    for folder in (TRAINING_DATA, NLU_CODE):
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".pyc"):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _run(command: list[str], log: Path, cwd: Path, extra_env: dict[str, str]) -> None:
    with open(log, "wb") as output:
        finished = subprocess.run(
            command,
            cwd=cwd,
            env={**os.environ, **RASA_ENV, **extra_env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    if finished.returncode != 0:
        raise RuntimeError(f"{command[0]} exited {finished.returncode}:\n{log.read_text(errors='replace')[-3000:]}")


def run(model: Path | None = None, config: Path = PROJECT_CONFIG, skip_default: bool = False) -> dict:
    """Trains what is not trained yet, grades both systems, prints the table and writes the figures. `model` grades
    a model already trained (the live one, say) instead of training the assistant's pipeline from `config`."""
    messages = load_heldout()
    texts = [m.text for m in messages]
    systems: dict[str, dict] = {}
    pipeline = config.read_text(encoding="utf-8")
    if model is None:
        model, training_s = trained("assistant", pipeline)
    else:
        model, training_s = model.resolve(), None  # models/current.tar.gz is a link: name the model it is now
    parsed = parse(model, texts)
    systems["assistant"] = _figures(score(messages, parsed.intents), parsed, model, training_s)
    configured = fallback_threshold(pipeline)
    if configured is not None:
        systems["assistant"]["fallback_threshold"] = configured
        systems["assistant"]["threshold_sweep"] = threshold_sweep(messages, parsed, configured)
    if not skip_default:
        default, training_s = trained("default", DEFAULT_CONFIG)
        parsed = parse(default, texts)
        systems["default_pipeline"] = _figures(score(messages, parsed.intents), parsed, default, training_s)
    languages = Counter(m.language for m in messages)
    results = {
        "heldout": {
            "messages": len(messages),
            "korean": languages["ko"],
            "english": languages["en"],
            "out_of_scope_or_gibberish": sum(m.intent in REJECTIONS for m in messages),
        },
        **systems,
        "goals": GOALS,
    }
    if not skip_default:
        points = systems["assistant"]["accuracy"] - systems["default_pipeline"]["accuracy"]
        results["points_above_default"] = round(100 * points, 1)
    CACHE.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(results))
    return results


def _figures(scored: Score, parsed: Parsed, model: Path, training_s: float | None) -> dict:
    figures = asdict(scored)
    for name in ("accuracy", "macro_f1", "korean", "english", "rejection_recall"):
        figures[name] = round(figures[name], 4)
    figures["confusions"] = [{"expected": e, "predicted": p, "count": n} for e, p, n in scored.confusions]
    return {
        **figures,
        "model": str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model),
        "training_s": training_s,
        "parse_peak_rss_mib": round(parsed.peak_rss_mib),
    }


def table(results: dict) -> str:
    """The printed comparison, from the figures `run` writes."""
    ours, default = results["assistant"], results.get("default_pipeline")
    counts = results["heldout"]

    def row(label: str, assistant: str, other: str, difference: str, goal: str, met: str) -> str:
        return f"{label:34}{assistant:>10}{other:>10}{difference:>12}{goal:>9}  {met}".rstrip()

    lines = [
        f"NLU on the held-out set ({counts['messages']} messages: {counts['korean']} Korean, {counts['english']} "
        f"English; {counts['out_of_scope_or_gibberish']} out of scope or gibberish)",
        row("", "assistant", "default", "difference", "goal", "met"),
    ]
    for label, name in FIGURES.items():
        goal = GOALS.get(name)
        lines.append(
            row(
                label,
                f"{ours[name]:.1%}",
                f"{default[name]:.1%}" if default else "-",
                f"{100 * (ours[name] - default[name]):+.1f} pts" if default else "-",
                f"≥ {goal:.0%}" if goal is not None else "",
                ("yes" if ours[name] >= goal else "no") if goal is not None else "",
            )
        )
    target = GOALS["points_above_default"]
    if default:
        points = results["points_above_default"]
        met = "yes" if points >= target else "no"
        lines.append(row("accuracy above the default", "", "", f"{points:+.1f} pts", f"≥ +{target:g}", met))
    lines.append(
        row(
            "parse process peak RSS",
            f"{ours['parse_peak_rss_mib']} MiB",
            f"{default['parse_peak_rss_mib']} MiB" if default else "-",
            "",
            "",
            "",
        )
    )
    if default:

        def seconds(system: dict) -> str:
            return f"{system['training_s']} s" if system["training_s"] is not None else "not timed"

        lines.append(row("training time (NLU only)", seconds(ours), seconds(default), "", "", ""))
        lines.append(f"models: assistant {ours['model']}, default {default['model']}")
    else:
        lines.append(f"model: assistant {ours['model']}")
    lines += ["", f"Most frequent confusions, top {CONFUSIONS} (count, expected -> predicted):"]
    width = 56
    left = [_confusion(c) for c in ours["confusions"]]
    right = [_confusion(c) for c in default["confusions"]] if default else []
    lines.append(f"{'assistant':{width}}  {'default pipeline' if default else ''}".rstrip())
    for i in range(max(len(left), len(right))):
        lines.append(f"{(left[i] if i < len(left) else ''):{width}}  {right[i] if i < len(right) else ''}".rstrip())
    if ours.get("threshold_sweep"):
        lines += ["", f"The assistant with another fallback threshold (configured: {ours['fallback_threshold']:g}):"]
        lines.append(f"{'threshold':>12}{'accuracy':>10}{'out-of-scope recall':>22}")
        for point in ours["threshold_sweep"]:
            lines.append(f"{point['threshold']:>12g}{point['accuracy']:>10.1%}{point['rejection']:>22.1%}")
    return "\n".join(lines)


def _confusion(confusion: dict) -> str:
    return f"{confusion['count']:3}  {confusion['expected']} -> {confusion['predicted']}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nlu_heldout")
    parser.add_argument("--config", type=Path, default=PROJECT_CONFIG, help="the assistant's pipeline to train")
    parser.add_argument("--model", type=Path, help="grade this model as the assistant instead of training one")
    parser.add_argument("--skip-default", action="store_true", help="the assistant alone, no default pipeline")
    args = parser.parse_args()
    run(args.model, args.config, args.skip_default)


if __name__ == "__main__":
    main()
