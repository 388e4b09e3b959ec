"""Seeds: the one parser of a seed list ("0,1,2") and the one summary of a
figure over seeds (mean and sample standard deviation)."""

import statistics
from typing import Dict, List

from .errors import UserError


def parse_seeds(text: str, minimum: int = 1) -> List[int]:
    """Distinct integer seeds, in order of appearance; a bad list is one line."""
    seeds: List[int] = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        try:
            seed = int(part)
        except ValueError:
            raise UserError(f"seeds must be comma-separated integers, got {part!r} in {text!r}") from None
        if seed not in seeds:
            seeds.append(seed)
    if len(seeds) < minimum:
        raise UserError(f"give at least {minimum} seed{'s' if minimum > 1 else ''} (got {text!r})")
    return seeds


def mean_std(values: List[float]) -> Dict[str, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}
