"""The pytest plugin, run the way users run it: a test file using ``loopwise_eval``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
