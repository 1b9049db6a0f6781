"""The held-out NLU set (tests/nlu/heldout.yml, issue 23) stays out of training and keeps its shape.

The set measures the model on messages it never saw, so none of them may be a training example under data/nlu/ or a
near copy of one (the same text once spaces, punctuation and case are set aside, or a SequenceMatcher ratio of 0.9
or more). A failure names only the held-out message and the ratio, never the training example.

Standard library and PyYAML only: this runs in .venv, without Rasa.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
TRAINING = ROOT / "data" / "nlu"
DOMAIN = ROOT / "domain"

NEAR_COPY = 0.9
MIN_MESSAGES = 300
KOREAN_SHARE = (0.6, 0.72)
MIN_OUT_OF_SCOPE = 30
MIN_GIBBERISH = 20
MIN_PER_INTENT = 4
STYLES = {"polite", "casual", "nospace", "typo", "chosung", "emoji", "mixed", "english"}
KOREAN_STYLES = STYLES - {"english"}
# Intents only buttons send (a payload with its entities): citizens do not type them, so the set leaves them out.
PAYLOAD_ONLY = {
    "knowledge_feedback",
    "knowledge_show",
    "rate_report",
    "report_photo",
    "notice_read",
    "notice_open",
    "confirm_waitlist",
    "cancel_handoff",
}
REQUIRED = {
    "greet", "goodbye", "thank", "affirm", "deny", "help", "out_of_scope", "stop", "request_human", "inform",
    "tour_list", "tour_info", "tour_availability", "book_tour", "my_bookings", "cancel_booking", "change_booking",
    "join_waitlist", "notice_latest", "notice_search", "notice_subscribe", "notice_unsubscribe", "my_subscriptions",
    "my_notices", "verify_code", "opendata_question", "opendata_catalog", "opendata_explain", "facility_nearby",
    "report_problem", "report_status", "city_question", "nlu_fallback",
}  # fmt: skip

# [text](entity), [text](entity:value), [text]{"entity": ...}
ENTITY = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
LATIN = re.compile(r"[A-Za-z]")


def normalise(text: str) -> str:
    """NFC, lower case, without spaces, punctuation or symbols (emoji); a text of nothing else keeps its marks."""
    text = unicodedata.normalize("NFC", text).lower()
    kept = "".join(c for c in text if unicodedata.category(c)[0] not in "PSZC")
    return kept or "".join(c for c in text if not c.isspace())


@cache
def heldout() -> list[dict]:
    return yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))["messages"]


def _examples(item: dict) -> list[str]:
    examples = item.get("examples")
    if isinstance(examples, str):
        lines = (line.strip() for line in examples.splitlines())
        return [line[1:].strip() for line in lines if line.startswith("-")]
    if isinstance(examples, list):  # examples with metadata: [{text: ...}, ...]
        return [e["text"] if isinstance(e, dict) else str(e) for e in examples]
    return []


@cache
def training() -> frozenset[str]:
    """The normalised text of every intent example under data/nlu/."""
    texts = set()
    for path in sorted(TRAINING.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in document.get("nlu") or []:
            if isinstance(item, dict) and "intent" in item:
                texts.update(normalise(ENTITY.sub(r"\1", text)) for text in _examples(item))
    texts.discard("")
    return frozenset(texts)


def domain_intents() -> set[str]:
    intents = set()
    for path in DOMAIN.glob("*.yml"):
        for intent in yaml.safe_load(path.read_text(encoding="utf-8")).get("intents") or []:
            intents.add(intent if isinstance(intent, str) else next(iter(intent)))
    return intents


def closest(text: str, corpus: frozenset[str]) -> float:
    """The highest SequenceMatcher ratio of text against the corpus (cheap upper bounds first)."""
    best = 0.0
    matcher = SequenceMatcher(autojunk=False)
    matcher.set_seq2(text)
    for other in corpus:
        if 2 * min(len(text), len(other)) / (len(text) + len(other)) <= best:
            continue
        matcher.set_seq1(other)
        if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
            best = max(best, matcher.ratio())
    return best


def test_training_data_is_there():
    count = len(training())  # only the count: a failure must not print the training examples
    assert count > 100, "no training examples found under data/nlu/"


def test_no_heldout_message_is_a_training_example_or_a_near_copy():
    corpus = training()
    copies = []
    for message in heldout():
        text = normalise(message["text"])
        ratio = 1.0 if text in corpus else closest(text, corpus)
        if ratio >= NEAR_COPY:
            copies.append(f"{ratio:.2f}  {message['text']!r} ({message['intent']})")
    assert not copies, "held-out messages equal to or near a training example:\n" + "\n".join(copies)


def test_heldout_messages_are_unique():
    seen = Counter(normalise(m["text"]) for m in heldout())
    assert not [text for text, n in seen.items() if n > 1]


def test_size_and_language_mix():
    messages = heldout()
    assert len(messages) >= MIN_MESSAGES
    languages = Counter(m["language"] for m in messages)
    assert set(languages) <= {"ko", "en"}
    share = languages["ko"] / len(messages)
    assert KOREAN_SHARE[0] <= share <= KOREAN_SHARE[1], share


def test_language_matches_the_letters():
    for m in heldout():
        if HANGUL.search(m["text"]):
            assert m["language"] == "ko", m["text"]
        elif LATIN.search(m["text"]):
            assert m["language"] == "en", m["text"]


def test_out_of_scope_and_gibberish():
    intents = Counter(m["intent"] for m in heldout())
    assert intents["out_of_scope"] >= MIN_OUT_OF_SCOPE
    assert intents["nlu_fallback"] >= MIN_GIBBERISH


def test_every_typed_intent_is_covered():
    intents = Counter(m["intent"] for m in heldout())
    typed = (domain_intents() - PAYLOAD_ONLY) | REQUIRED
    assert not typed - set(intents), f"missing: {sorted(typed - set(intents))}"
    assert set(intents) <= typed, f"not typed intents of the domain: {sorted(set(intents) - typed)}"
    thin = {intent: n for intent, n in intents.items() if n < MIN_PER_INTENT}
    assert not thin, thin


def test_styles():
    messages = heldout()
    assert {m["style"] for m in messages} <= STYLES
    korean = {m["style"] for m in messages if m["language"] == "ko"}
    assert korean >= KOREAN_STYLES, f"Korean styles missing: {sorted(KOREAN_STYLES - korean)}"


def test_heldout_is_not_under_data():
    """Rasa trains on everything under data/: the set must never be there."""
    assert not list((ROOT / "data").rglob("heldout*"))
    assert HELDOUT.is_relative_to(ROOT / "tests")
