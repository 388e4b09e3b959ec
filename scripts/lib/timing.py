"""Inference speed, measured for long enough to be stable."""

import time
from typing import Callable, Tuple


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
