"""Inference speed, measured for long enough to be stable."""

import time
from typing import Any, Callable, Dict, List, Sequence, Tuple


def words_per_second(process_all: Callable[[], int], min_seconds: float) -> Tuple[int, int, int]:
    """Call `process_all` (it returns the words it processed) until `min_seconds`
    have passed; return (words/second, words, passes). Short runs are too noisy."""
    words = passes = 0
    start = time.perf_counter()
    while True:
        words += process_all()
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return round(words / elapsed), words, passes


def best_of_rounds_speeds(models: Dict[Any, Any], texts: List[str], min_seconds: float, rounds: int,
                          modes: Sequence[str] = ("batch", "single")) -> Dict[Any, Dict[str, float]]:
    """Words/second of each model (a spaCy Language), batched (`nlp.pipe`) and one text
    at a time, as `modes` ask. Models take turns for `rounds` rounds and keep their best
    round: on a shared machine, interference only ever slows a measurement down."""
    best: Dict[Any, Dict[str, float]] = {key: {mode: 0.0 for mode in modes} for key in models}
    for _ in range(rounds):
        for key, nlp in models.items():
            process = {"batch": lambda: sum(len(doc) for doc in nlp.pipe(texts, batch_size=256)),
                       "single": lambda: sum(len(nlp(text)) for text in texts)}
            for mode in modes:
                best[key][mode] = max(best[key][mode], words_per_second(process[mode], min_seconds)[0])
    return best
