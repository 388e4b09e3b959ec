"""Seeds: the one parser of a seed list ("0,1,2"), the one summary of a
figure over seeds (mean and sample standard deviation), the one test of a
difference between two systems' seeds (Welch's t) and the one test of paired
differences, such as two systems' scores on the same cross-validation folds."""

import math
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


def welch_t_test(first: List[float], second: List[float]) -> Dict[str, float]:
    """Welch's unequal-variance t-test of the difference of two groups' means
    (e.g. one system's F1 over seeds against another's): t, the
    Welch-Satterthwaite degrees of freedom and the two-sided p-value. Needs two
    values or more in each group; two groups without any spread give p 1 when
    their means are equal, else 0."""
    if len(first) < 2 or len(second) < 2:
        raise UserError("Welch's t-test needs at least two seeds in each group")
    a, b = mean_std(first), mean_std(second)
    var_a, var_b = a["std"] ** 2 / len(first), b["std"] ** 2 / len(second)
    if var_a + var_b == 0:
        df = float(len(first) + len(second) - 2)
    else:
        df = (var_a + var_b) ** 2 / (var_a ** 2 / (len(first) - 1) + var_b ** 2 / (len(second) - 1))
    return t_test_result(a["mean"] - b["mean"], var_a + var_b, df)


def paired_t_test(differences: List[float], held_out_ratio: float = 0.0) -> Dict[str, float]:
    """The t-test of paired differences (one system's score minus another's, on
    the same fold or seed): t, degrees of freedom and the two-sided p-value.
    With `held_out_ratio` (held-out words over training words of a fold), the
    variance is corrected as Nadeau and Bengio (2003) propose for folds whose
    training sets overlap: s² (1/n + ratio) in place of s²/n, which the plain
    test, treating the folds as independent, understates. Needs two
    differences or more; differences without spread give p 1 when they are all
    0, else 0."""
    n = len(differences)
    if n < 2:
        raise UserError("a paired t-test needs at least two pairs")
    summary = mean_std(differences)
    return t_test_result(summary["mean"], summary["std"] ** 2 * (1 / n + held_out_ratio), float(n - 1))


def t_test_result(difference: float, variance: float, df: float) -> Dict[str, float]:
    """t = difference / √variance, its degrees of freedom and its two-sided p (the
    regularised incomplete beta I_x(df/2, 1/2)); without variance, p is 1 when the
    difference is 0, else 0."""
    if variance == 0:
        return {"t": 0.0 if difference == 0 else math.copysign(math.inf, difference), "df": df,
                "p": 1.0 if difference == 0 else 0.0}
    t = difference / math.sqrt(variance)
    return {"t": t, "df": df, "p": min(1.0, max(0.0, incomplete_beta(df / (df + t * t), df / 2, 0.5)))}


def incomplete_beta(x: float, a: float, b: float) -> float:
    """The regularised incomplete beta function I_x(a, b), by its continued
    fraction (modified Lentz), on the side where it converges fast."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - incomplete_beta(1.0 - x, b, a)
    log_front = a * math.log(x) + b * math.log1p(-x) - math.log(a) - log_beta(a, b)
    tiny, c, d = 1e-300, 1.0, 0.0
    fraction = 0.0
    for step in range(401):
        m = step // 2
        if step == 0:
            numerator = 1.0
        elif step % 2 == 0:
            numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + numerator / c
        c = c if abs(c) > tiny else tiny
        factor = c * d
        fraction = factor if step == 0 else fraction * factor
        if step and abs(factor - 1.0) < 1e-14:
            break
    return math.exp(log_front) * (fraction - 1.0)


def log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
