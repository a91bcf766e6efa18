"""Eval suites for CI: run a target over a dataset, score it, gate on statistics.

A suite is a Python file::

    from loopwise.evals.suites import PassRate, NoSignificantRegression, Suite

    suite = Suite(
        name="triage",
        dataset="datasets/support_triage",      # or "name@3" from the store
        target=triage,                           # sync or async, called with each input
        evaluators=["valid_json", exact_match],
        thresholds=[PassRate("valid_json", at_least=0.95), NoSignificantRegression("valid_json")],
    )

and ``loopwise eval run suite.py`` runs it (exit 0 pass, 1 threshold failed, 2 usage error).
"""

from .cache import DEFAULT_CACHE_PATH, RunCache, cache_key
from .examples import DatasetNotFound, LoadedDataset, SuiteExample, load_dataset_path, read_jsonl
from .execute import TargetRun, run_target
from .record import CollectorRunStore, DatabaseRunStore, FolderRunStore, RunStore
from .reports import to_json, to_junit, to_markdown
from .results import (
    BaselineComparison,
    EvaluatorSummary,
    ExampleChange,
    ExampleResult,
    RunReport,
    ScoreOutcome,
    ThresholdOutcome,
)
from .run import RunOptions, find_baseline, run_suite
from .stats import (
    Interval,
    PairedComparison,
    bootstrap_mean,
    compare_paired,
    example_means,
    sign_flip_p_value,
)
from .suite import MeanScore, NoSignificantRegression, PassRate, Suite, SuiteError, load_suite

__all__ = [
    "DEFAULT_CACHE_PATH",
    "BaselineComparison",
    "CollectorRunStore",
    "DatabaseRunStore",
    "DatasetNotFound",
    "EvaluatorSummary",
    "ExampleChange",
    "ExampleResult",
    "FolderRunStore",
    "Interval",
    "LoadedDataset",
    "MeanScore",
    "NoSignificantRegression",
    "PairedComparison",
    "PassRate",
    "RunCache",
    "RunOptions",
    "RunReport",
    "RunStore",
    "ScoreOutcome",
    "Suite",
    "SuiteError",
    "SuiteExample",
    "TargetRun",
    "ThresholdOutcome",
    "bootstrap_mean",
    "cache_key",
    "compare_paired",
    "example_means",
    "find_baseline",
    "load_dataset_path",
    "load_suite",
    "read_jsonl",
    "run_suite",
    "run_target",
    "sign_flip_p_value",
    "to_json",
    "to_junit",
    "to_markdown",
]
