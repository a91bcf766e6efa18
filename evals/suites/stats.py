"""Statistics for eval suites: bootstrap confidence intervals and paired comparisons.

LLM outputs are noisy, so a gate compares intervals, not raw numbers. Repetitions of one
example are not independent samples: every statistic here resamples *examples* (each
example's repetitions averaged first), so repeating a flaky example ten times does not
buy false confidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 4000


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval over ``n`` examples."""

    estimate: float
    low: float
    high: float
    n: int
    confidence: float = DEFAULT_CONFIDENCE

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


def example_means(per_example: Sequence[Sequence[float]]) -> np.ndarray:
    """One mean per example (over its repetitions); examples without values are dropped."""
    return np.array([float(np.mean(v)) for v in per_example if len(v)], dtype=float)


def bootstrap_mean(
    per_example: Sequence[Sequence[float]],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Mean over examples with a percentile bootstrap interval (examples resampled, by
    ``scipy.stats.bootstrap``).

    Pass-rates are the same computation on 0/1 values. With fewer than two examples the
    interval is the point itself (nothing to resample) — the caller should say so.
    """
    means = example_means(per_example)
    if means.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0, confidence)
    estimate = float(means.mean())
    if means.size < 2 or np.all(means == means[0]):
        return Interval(estimate, estimate, estimate, int(means.size), confidence)
    result = stats.bootstrap(
        (means,),
        np.mean,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return Interval(estimate, float(low), float(high), int(means.size), confidence)


@dataclass(frozen=True)
class PairedComparison:
    """Current vs. baseline on the examples both runs scored.

    ``difference`` is current minus baseline in the compared numbers (``measure``: the
    score's ``value``, or ``pass`` 1/0); ``direction`` says which sign is better, and
    ``improved``/``worsened`` count examples by it.
    """

    difference: Interval
    p_value: float
    n_pairs: int
    improved: int
    worsened: int
    unchanged: int
    direction: str = "higher"
    measure: str = "value"

    def significant_regression(self, alpha: float = 0.05, margin: float = 0.0) -> bool:
        """True when the mean got worse by more than ``margin`` and chance is an unlikely
        explanation: the whole interval of the difference lies on the worse side of
        ``margin`` (below ``-margin`` when higher is better, above ``margin`` when lower is)
        and the paired test rejects "no difference" at ``alpha``."""
        if self.p_value >= alpha:
            return False
        if self.direction == "lower":
            return self.difference.low > margin
        return self.difference.high < -margin


def compare_paired(
    current: Mapping[str, Sequence[float]],
    baseline: Mapping[str, Sequence[float]],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    direction: str = "higher",
    measure: str = "value",
) -> PairedComparison:
    """Paired bootstrap interval of the mean difference (current - baseline) and a paired
    sign-flip permutation test, over the example ids present in both runs. ``direction``
    (``higher`` or ``lower``) says which way the numbers improve."""
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', got {direction!r}")
    shared = sorted(set(current) & set(baseline))
    diffs = np.array(
        [
            float(np.mean(current[k])) - float(np.mean(baseline[k]))
            for k in shared
            if len(current[k]) and len(baseline[k])
        ],
        dtype=float,
    )
    n = int(diffs.size)
    interval = bootstrap_mean(
        [[d] for d in diffs], confidence=confidence, resamples=resamples, seed=seed
    )
    better = diffs < 0 if direction == "lower" else diffs > 0
    worse = diffs > 0 if direction == "lower" else diffs < 0
    return PairedComparison(
        difference=interval,
        p_value=sign_flip_p_value(diffs, resamples=resamples, seed=seed),
        n_pairs=n,
        improved=int(better.sum()),
        worsened=int(worse.sum()),
        unchanged=int((diffs == 0).sum()),
        direction=direction,
        measure=measure,
    )


def sign_flip_p_value(
    diffs: np.ndarray, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> float:
    """Two-sided p-value of "the mean paired difference is zero".

    Under the null each difference is as likely positive as negative, so flipping signs at
    random gives the null distribution of the mean (``scipy.stats.permutation_test``): exact
    while 2**n sign patterns are at most ``resamples``, Monte Carlo (with the +1 correction)
    beyond.
    """
    nonzero = diffs[diffs != 0]
    if nonzero.size < 2:  # one difference: its flip is as large, so nothing is rejected
        return 1.0
    result = stats.permutation_test(
        (nonzero,),
        _mean_along,
        permutation_type="samples",  # one sample: the signs are what is permuted
        alternative="two-sided",
        vectorized=True,
        n_resamples=resamples,  # all 2**n sign patterns when that is fewer: exact
        rng=np.random.default_rng(seed),
    )
    return float(min(result.pvalue, 1.0))


def _mean_along(values: np.ndarray, axis: int) -> np.ndarray:
    return np.asarray(np.mean(values, axis=axis))
