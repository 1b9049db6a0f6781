"""How bench/nlu_heldout.py grades a system's intents on the held-out set: declining counts for out-of-scope and
gibberish alike, a fallback on an in-scope message is a miss, and the table shows both systems or one.

Runs in .venv, like the bench, without Rasa: the predictions are written by hand."""

from __future__ import annotations

import pytest

from bench.nlu_heldout import HeldOutMessage, Score, load_heldout, score, table


def _message(intent: str, language: str = "ko") -> HeldOutMessage:
    return HeldOutMessage(text=f"{intent} {language}", intent=intent, language=language)


def test_out_of_scope_and_nlu_fallback_are_both_right_for_either():
    messages = [_message("out_of_scope"), _message("nlu_fallback"), _message("out_of_scope", "en")]
    scored = score(messages, ["nlu_fallback", "out_of_scope", "out_of_scope"])
    assert scored.accuracy == 1.0
    assert scored.rejection_recall == 1.0
    assert scored.confusions == []


def test_an_in_scope_message_read_as_nlu_fallback_is_wrong():
    scored = score([_message("book_tour"), _message("greet")], ["nlu_fallback", "greet"])
    assert scored.accuracy == 0.5
    assert scored.confusions == [("book_tour", "nlu_fallback", 1)]


def test_korean_and_english_are_scored_apart():
    messages = [_message("greet", "ko"), _message("greet", "ko"), _message("thank", "en"), _message("deny", "en")]
    scored = score(messages, ["greet", "stop", "thank", "thank"])
    assert scored.accuracy == 0.5
    assert scored.korean == 0.5
    assert scored.english == 0.5


def test_rejection_recall_counts_only_out_of_scope_and_gibberish_messages():
    messages = [_message("out_of_scope"), _message("nlu_fallback"), _message("greet"), _message("affirm")]
    scored = score(messages, ["request_human", "nlu_fallback", "out_of_scope", "affirm"])
    assert scored.rejection_recall == 0.5
    assert scored.accuracy == 0.5


def test_macro_f1_averages_the_expected_intents_with_declining_as_one():
    # greet: precision 1/2, recall 1/1 -> 2/3; deny: 0 right -> 0; out_of_scope (with nlu_fallback): 2/2 -> 1.
    messages = [_message("greet"), _message("deny"), _message("out_of_scope"), _message("nlu_fallback")]
    scored = score(messages, ["greet", "greet", "nlu_fallback", "out_of_scope"])
    assert scored.macro_f1 == pytest.approx((2 / 3 + 0 + 1) / 3)


def test_an_intent_the_set_never_expects_counts_only_against_the_expected_one():
    scored = score([_message("greet"), _message("deny")], ["greet", "knowledge_show"])
    assert scored.macro_f1 == pytest.approx((1 + 0) / 2)


def test_the_ten_most_frequent_confusions_come_first():
    messages = [_message("affirm")] * 3 + [_message("deny")] * 2 + [_message(f"intent_{i}") for i in range(12)]
    predicted = ["stop"] * 3 + ["greet"] * 2 + ["thank"] * 12
    scored = score(messages, predicted)
    assert len(scored.confusions) == 10
    assert scored.confusions[:2] == [("affirm", "stop", 3), ("deny", "greet", 2)]


def test_a_prediction_missing_for_a_message_is_refused():
    with pytest.raises(ValueError):
        score([_message("greet"), _message("thank")], ["greet"])


def test_the_held_out_set_reads_as_messages_with_a_language():
    messages = load_heldout()
    assert len(messages) >= 300
    assert {m.language for m in messages} == {"ko", "en"}
    assert all(m.text and m.intent for m in messages)


def _figures(scored: Score, model: str) -> dict:
    return {
        "accuracy": scored.accuracy,
        "macro_f1": scored.macro_f1,
        "korean": scored.korean,
        "english": scored.english,
        "rejection_recall": scored.rejection_recall,
        "confusions": [{"expected": e, "predicted": p, "count": n} for e, p, n in scored.confusions],
        "model": model,
        "training_s": None,
        "parse_peak_rss_mib": 900,
    }


def test_the_table_shows_both_systems_the_difference_and_the_goals():
    messages = [_message("greet"), _message("out_of_scope", "en"), _message("affirm")]
    ours, default = score(messages, ["greet", "nlu_fallback", "stop"]), score(messages, ["greet", "greet", "stop"])
    results = {
        "heldout": {"messages": 3, "korean": 2, "english": 1, "out_of_scope_or_gibberish": 1},
        "assistant": _figures(ours, "models/a.tar.gz"),
        "default_pipeline": _figures(default, "var/bench/default.tar.gz"),
        "points_above_default": round(100 * (ours.accuracy - default.accuracy), 1),
    }
    printed = table(results)
    assert "+33.3 pts" in printed
    assert "≥ 97%" in printed and "≥ 90%" in printed and "≥ +5" in printed
    assert "affirm -> stop" in printed and "out_of_scope -> greet" in printed


def test_the_table_shows_the_assistant_alone_when_the_default_is_skipped():
    messages = [_message("greet"), _message("affirm")]
    results = {
        "heldout": {"messages": 2, "korean": 2, "english": 0, "out_of_scope_or_gibberish": 0},
        "assistant": _figures(score(messages, ["greet", "stop"]), "models/a.tar.gz"),
    }
    printed = table(results)
    assert "50.0%" in printed and "default pipeline" not in printed
