"""`patience_needed`: the smallest patience that ends training on the same
model-best, checked against spaCy's own training loop (its stop rule and its
saving of model-best on ties)."""

import itertools
from typing import Any, Dict, List, Optional, Tuple

import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example
from spacy.training.loop import train_while_improving
from thinc.api import Adam

from scripts.lib.run_record import best_entry, patience_needed

EVAL_EVERY = 10


def spacy_replay(scores: List[float], patience: int) -> Tuple[Optional[int], int]:
    """Run spaCy's training loop on an empty pipeline whose dev scores are
    `scores` (one per evaluation, from step 0): the step whose model it last
    saved as best, and the step it stopped at."""
    nlp = spacy.blank("en")
    batch = [Example(Doc(nlp.vocab, words=["a"]), Doc(nlp.vocab, words=["a"]))]
    evaluations = iter(scores)
    saved_best, last_step = None, 0
    loop = train_while_improving(
        nlp, Adam(0.001), itertools.repeat((0, batch)), lambda: (next(evaluations), {}),
        dropout=0.0, eval_frequency=EVAL_EVERY, accumulate_gradient=1, patience=patience,
        max_steps=(len(scores) - 1) * EVAL_EVERY, exclude=[], annotating_components=[],
        before_update=None)
    for _, info, is_best in loop:
        last_step = info["step"]
        if is_best:
            saved_best = info["step"]
    return saved_best, last_step


def log_of(scores: List[float]) -> List[Dict[str, Any]]:
    return [{"step": i * EVAL_EVERY, "score": score} for i, score in enumerate(scores)]


CURVES = {
    "rises then falls": [0.1, 0.5, 0.6, 0.55, 0.58, 0.7, 0.65, 0.6, 0.6, 0.6],
    "a late best after a long plateau": [0.1, 0.5, 0.5, 0.4, 0.45, 0.44, 0.43, 0.52, 0.5, 0.5],
    "a tie with the best resaves model-best": [0.1, 0.6, 0.5, 0.55, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5],
    "always improving": [0.1, 0.2, 0.3, 0.4, 0.5],
    "never improving": [0.3, 0.2, 0.2, 0.1],
}


@pytest.mark.parametrize("curve", list(CURVES))
def test_patience_needed_is_the_least_that_reaches_the_same_model_best(curve: str) -> None:
    scores = CURVES[curve]
    log = log_of(scores)
    needed = patience_needed(log)
    full_best, _ = spacy_replay(scores, patience=0)
    assert full_best == best_entry(log)["step"]
    # Any patience from `needed` on ends on the same model-best...
    for patience in (needed, needed + EVAL_EVERY):
        if patience:
            assert spacy_replay(scores, patience)[0] == full_best
    # ...and one step less stops before it.
    if needed:
        saved, stopped = spacy_replay(scores, needed - 1)
        assert saved != full_best and stopped < full_best


def test_patience_needed_of_known_curves() -> None:
    assert patience_needed(log_of(CURVES["rises then falls"])) == 30
    assert patience_needed(log_of(CURVES["a late best after a long plateau"])) == 60
    assert patience_needed(log_of(CURVES["a tie with the best resaves model-best"])) == 30
    assert patience_needed(log_of(CURVES["always improving"])) == EVAL_EVERY
    assert patience_needed(log_of(CURVES["never improving"])) == 0
    assert patience_needed([]) == 0
