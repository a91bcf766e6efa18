"""Bootstrap intervals and the paired test behave as statistics should."""

from __future__ import annotations

import numpy as np
import pytest

from loopwise.evals.suites import bootstrap_mean, compare_paired, sign_flip_p_value


def test_interval_contains_the_mean_and_narrows_with_more_examples() -> None:
    rng = np.random.default_rng(1)
    small = bootstrap_mean([[v] for v in rng.binomial(1, 0.7, size=20)])
    large = bootstrap_mean([[v] for v in rng.binomial(1, 0.7, size=2000)])
    assert small.low <= small.estimate <= small.high
    assert large.low <= 0.7 <= large.high
    assert (large.high - large.low) < (small.high - small.low) / 4


def test_repetitions_do_not_shrink_the_interval() -> None:
    rng = np.random.default_rng(2)
    outcomes = rng.binomial(1, 0.5, size=30).astype(float)
    once = bootstrap_mean([[v] for v in outcomes])
    ten_times = bootstrap_mean([[v] * 10 for v in outcomes])
    assert once == ten_times


def test_degenerate_inputs() -> None:
    assert bootstrap_mean([]).n == 0
    single = bootstrap_mean([[0.4, 0.6]])
    assert (single.estimate, single.low, single.high, single.n) == (0.5, 0.5, 0.5, 1)
    constant = bootstrap_mean([[1.0]] * 5)
    assert constant.low == constant.high == 1.0


def test_seeded_results_are_repeatable() -> None:
    values = [[float(v)] for v in range(10)]
    assert bootstrap_mean(values, seed=3) == bootstrap_mean(values, seed=3)


def test_a_clear_regression_is_significant() -> None:
    examples = [f"ex{i}" for i in range(40)]
    baseline = {k: [1.0] for k in examples}
    current = {k: [0.0 if i < 15 else 1.0] for i, k in enumerate(examples)}
    result = compare_paired(current, baseline)
    assert result.worsened == 15 and result.improved == 0 and result.n_pairs == 40
    assert result.difference.estimate == pytest.approx(-15 / 40)
    assert result.p_value < 0.001
    assert result.significant_regression()


def test_noise_is_not_a_regression() -> None:
    examples = [f"ex{i}" for i in range(40)]
    baseline = {k: [1.0 if i % 2 else 0.0] for i, k in enumerate(examples)}
    # One example flips each way: the mean is unchanged.
    current = dict(baseline)
    current["ex0"], current["ex1"] = [1.0], [0.0]
    result = compare_paired(current, baseline)
    assert result.p_value == 1.0
    assert not result.significant_regression()


def test_only_shared_examples_are_paired() -> None:
    result = compare_paired({"a": [1.0], "b": [0.0]}, {"b": [1.0], "c": [1.0]})
    assert result.n_pairs == 1 and result.worsened == 1


def test_exact_sign_flip_matches_enumeration() -> None:
    # Three equal positive differences: only the all-positive and all-negative sign
    # patterns reach the observed |mean|, so p = 2/8.
    assert sign_flip_p_value(np.array([1.0, 1.0, 1.0])) == pytest.approx(0.25)
    assert sign_flip_p_value(np.zeros(5)) == 1.0
