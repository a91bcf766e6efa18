"""The pytest plugin, run the way users run it: a test file using ``loopwise_eval``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

# In-process pytester runs drop the modules they imported afterwards; numpy cannot be loaded
# twice in one process, so the evaluation stack is imported here, once, before any run.
import loopwise.evals.suites.single  # noqa: F401

pytest_plugins = ["pytester"]


def test_assert_score_passes_fails_and_records(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(
        test_replies="""
        def test_valid_json(loopwise_eval):
            loopwise_eval.assert_score("valid_json", '{"category": "refund"}')

        def test_invented_order_id(loopwise_eval):
            loopwise_eval.assert_score(
                "invented_identifiers",
                "Your order ORD-99871 ships tomorrow.",
                input="Where is my parcel? Order ORD-10234.",
            )

        def test_reference_match(loopwise_eval):
            outcome = loopwise_eval.assert_score("exact_match", "refund", reference="refund")
            assert outcome.value == 1.0

        def test_invented_count_at_most(loopwise_eval):
            loopwise_eval.assert_score(
                "invented_identifiers", "Orders ORD-99871 and ORD-99872 ship.",
                input="Where is my parcel?", passed=False, max_value=1,
            )
        """
    )
    results = tmp_path / "runs"
    outcome = pytester.runpytest("-p", "no:cacheprovider", f"--loopwise-results={results}")
    outcome.assert_outcomes(passed=2, failed=2)
    outcome.stdout.fnmatch_lines(["*invented_identifiers expected passed=True, got False*"])
    outcome.stdout.fnmatch_lines(["*invented_identifiers value 2.0 is above 1*"])
    outcome.stdout.fnmatch_lines(["loopwise: 4 scores recorded as run run_* in*"])
    [saved] = list((results / "pytest").glob("*.json"))
    report = json.loads(saved.read_text())
    assert report["passed"] is False
    verdicts = {e["example_id"].split("::")[1]: e["scores"] for e in report["examples"]}
    assert verdicts["test_valid_json#0"]["valid_json"]["passed"] is True
    assert verdicts["test_invented_order_id#0"]["invented_identifiers"]["passed"] is False


def test_sessions_without_the_fixture_record_nothing(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile("def test_plain():\n    assert True\n")
    outcome = pytester.runpytest("-p", "no:cacheprovider", f"--loopwise-results={tmp_path}")
    outcome.assert_outcomes(passed=1)
    assert not list(tmp_path.rglob("*.json"))


def test_a_run_reaches_the_collector_and_the_summary_has_its_own_line(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    from loopwise.collector.server import CollectorConfig, CollectorServer
    from loopwise.evals.suites.api import SuiteRunsExtension

    pytester.makepyfile(
        test_replies="""
        def test_valid_json(loopwise_eval):
            loopwise_eval.assert_score("valid_json", '{"category": "refund"}')
        """
    )
    config = CollectorConfig(db_path=tmp_path / "runs.duckdb", port=0)
    with CollectorServer(config, extensions=[SuiteRunsExtension()]) as server:
        outcome = pytester.runpytest(
            "-p",
            "no:cacheprovider",
            f"--loopwise-results={tmp_path / 'runs'}",
            f"--loopwise-endpoint={server.url}",
        )
        runs = httpx.get(f"{server.url}/api/eval-runs", params={"suite": "pytest"}).json()["runs"]
    outcome.assert_outcomes(passed=1)
    [run] = runs
    assert run["passed"] is True
    lines = outcome.stdout.lines
    summary = next(line for line in lines if line.startswith("loopwise: "))
    assert summary == f"loopwise: 1 scores recorded as run {run['run_id']} in " + (
        f"{tmp_path / 'runs'} and {server.url}"
    )
    assert not any("%]loopwise" in line for line in lines)  # not glued to the progress


def test_a_collector_that_is_down_does_not_fail_the_session(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        "def test_one(loopwise_eval):\n    loopwise_eval.score('valid_json', '{}')\n"
    )
    outcome = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        f"--loopwise-results={tmp_path}",
        "--loopwise-endpoint=http://127.0.0.1:9",
    )
    outcome.assert_outcomes(passed=1)
    assert outcome.ret == 0
    outcome.stdout.fnmatch_lines(["loopwise: 1 scores saved in *; the collector at * did not*"])
    assert list(tmp_path.rglob("*.json"))
