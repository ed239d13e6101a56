"""Summary statistics of repeated runs and Welch's t-test between two groups of them. Plain Python;
scipy (installed with scikit-learn) is imported only for the t distribution, when a comparison is
actually printed: scipy.special's stdtr/stdtrit (~0.2 s to import) rather than scipy.stats (~0.9 s)."""

import math
from dataclasses import dataclass


def describe(values: list[float]) -> dict[str, float | int | None]:
    """n, mean, sample std (ddof=1; None for n < 2), min and max of the finite values."""
    xs = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    n = len(xs)
    if not n:
        return {"n": 0, "mean": None, "std": None, "min": None, "max": None}
    mean = sum(xs) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else None
    return {"n": n, "mean": mean, "std": std, "min": min(xs), "max": max(xs)}


@dataclass
class Welch:
    """Welch's t-test of mean(a) - mean(b) (unequal variances)."""

    diff: float
    low: float  # the 95% confidence interval of diff
    high: float
    p: float  # two-sided
    df: float
    t: float


def welch(a: list[float], b: list[float], level: float = 0.95) -> Welch | None:
    """None when either side has fewer than 2 values, or neither side varies (no test possible)."""
    da, db = describe(a), describe(b)
    if da["n"] < 2 or db["n"] < 2:
        return None
    va, vb = da["std"] ** 2 / da["n"], db["std"] ** 2 / db["n"]
    diff = da["mean"] - db["mean"]
    se = math.sqrt(va + vb)
    if se == 0:
        return None
    df = (va + vb) ** 2 / (va**2 / (da["n"] - 1) + vb**2 / (db["n"] - 1))
    from scipy.special import stdtr, stdtrit  # Student's t CDF and its inverse, any real df

    t = diff / se
    half = float(stdtrit(df, 0.5 + level / 2)) * se
    p = 2 * float(stdtr(df, -abs(t)))
    return Welch(diff, diff - half, diff + half, float(p), df, t)
