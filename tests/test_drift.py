"""Drift signals as pure functions: divergence, significance, thresholds."""

import math

import pytest
import spacy

from scripts.lib.drift import fold_change, js_divergence, label_counts_p, profile, signals

THRESHOLDS = {"label_js": 0.1, "entity_rate": 0.5, "entity_length": 0.5, "unseen_words": 0.15,
              "text_length": 1.0}


def test_js_divergence_bounds() -> None:
    assert js_divergence({"PER": 10, "LOC": 10}, {"PER": 5, "LOC": 5}) == pytest.approx(0.0)
    assert js_divergence({"PER": 10}, {"LOC": 3}) == pytest.approx(1.0)
    middle = js_divergence({"PER": 10, "LOC": 10}, {"PER": 18, "LOC": 2})
    assert 0.1 < middle < 0.5


def test_label_counts_test_is_significant_only_with_enough_evidence() -> None:
    assert label_counts_p({"PER": 500, "LOC": 500}, {"PER": 900, "LOC": 100}) < 1e-3
    assert label_counts_p({"PER": 5, "LOC": 5}, {"PER": 7, "LOC": 3}) > 0.1
    # Five documents drawn from the reference's own mix: small expected counts,
    # where the chi-square approximation (p = 0.002 here) raises a false alarm.
    reference = {"PER": 300, "LOC": 200, "ORG": 150, "MISC": 40, "TEMPO": 10}
    assert label_counts_p(reference, {"PER": 2, "LOC": 1, "TEMPO": 1}) > 0.01
    assert label_counts_p(reference, {"PER": 2, "LOC": 1}) == label_counts_p(reference, {"PER": 2, "LOC": 1})


def test_changes_count_the_same_either_way() -> None:
    assert fold_change(20.0, 40.0) == fold_change(20.0, 10.0) == pytest.approx(1.0)
    assert fold_change(20.0, 30.0) == pytest.approx(0.5) and fold_change(30.0, 20.0) == pytest.approx(0.5)
    assert fold_change(0.0, 0.0) == 0.0 and math.isinf(fold_change(0.0, 3.0))
    # Texts a third as long cross the text-length threshold of 1.0 as three times longer do.
    shorter = signals(base_profile(), base_profile(mean_doc_words=20.0 / 3), THRESHOLDS)
    longer = signals(base_profile(), base_profile(mean_doc_words=60.0), THRESHOLDS)
    assert shorter[-1]["crossed"] and longer[-1]["crossed"]
    assert shorter[-1]["value"] == pytest.approx(longer[-1]["value"])


def test_profile_counts_predictions_and_unseen_words() -> None:
    nlp = spacy.blank("pt")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PER", "pattern": "Ana"}])
    result = profile(nlp, ["Ana mora aqui.", "Ana e Ana."], {"ana", "mora", "."})
    assert (result["docs"], result["words"], result["entities"]) == (2, 8, 3)
    assert result["labels"] == {"PER": 3} and result["entities_per_1000_words"] == 375.0
    assert result["unseen_word_share"] == pytest.approx(2 / 8)  # "aqui", "e"
    assert result["top_unseen_words"] == [["aqui", 1], ["e", 1]]
    assert result["examples"][1] == {"text": "Ana e Ana.", "truncated": False,
                                     "entities": [[0, 3, "PER"], [6, 9, "PER"]]}


def base_profile(**changes) -> dict:
    values = {"labels": {"PER": 500, "LOC": 500}, "entities_per_1000_words": 100.0,
              "mean_entity_tokens": 1.5, "unseen_word_share": 0.1, "mean_doc_words": 20.0}
    return {**values, **changes}


def test_signals_cross_only_their_own_thresholds() -> None:
    same = signals(base_profile(), base_profile(), THRESHOLDS)
    assert not any(s["crossed"] for s in same) and len(same) == 5
    drifted = signals(base_profile(), base_profile(labels={"PER": 950, "LOC": 50},
                                                   unseen_word_share=0.5), THRESHOLDS)
    assert {s["key"] for s in drifted if s["crossed"]} == {"label_js", "unseen_words"}
    # A large divergence on a handful of entities is not significant: no alarm.
    few = signals(base_profile(), base_profile(labels={"PER": 3, "LOC": 1}), THRESHOLDS)
    assert not next(s for s in few if s["key"] == "label_js")["crossed"]
    assert math.isinf(signals(base_profile(mean_doc_words=0.0), base_profile(), THRESHOLDS)[-1]["value"])
