"""Eval suites for CI: run a target over a dataset, score it, gate on statistics."""

from .stats import (
    Interval,
    PairedComparison,
    bootstrap_mean,
    compare_paired,
    example_means,
    sign_flip_p_value,
)

__all__ = [
    "Interval",
    "PairedComparison",
    "bootstrap_mean",
    "compare_paired",
    "example_means",
    "sign_flip_p_value",
]
