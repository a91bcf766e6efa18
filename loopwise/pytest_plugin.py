"""pytest plugin (entry point ``pytest11``): score outputs inside ordinary tests.

    def test_reply_is_grounded(loopwise_eval):
        reply = triage(ticket)
        loopwise_eval.assert_score("invented_identifiers", reply, input=ticket["body"])

Every ``assert_score`` is recorded; at the end of the session the results are saved like a
suite run (suite ``pytest``, one example per test) under ``.loopwise/runs/`` or the folder
given by ``--loopwise-results``, and with ``--loopwise-endpoint`` (or LOOPWISE_ENDPOINT) in that
collector as well, where the Runs page shows it. The plugin lives in the light ``loopwise``
package and imports the evaluation stack only when the fixture is used, so it costs nothing
in test sessions that do not use it, and an application's tests run with the base install
(``pip install loopwise``); the fixture itself names the extra it needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from loopwise.evals.declare import Evaluator
    from loopwise.evals.suites.results import ExampleResult, ScoreOutcome

_RESULTS_KEY = pytest.StashKey[list["ExampleResult"]]()
_SUMMARY_KEY = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--loopwise-results DIR``: where the session's eval results are saved."""
    parser.addoption(
        "--loopwise-results",
        default=".loopwise/runs",
        help="folder for loopwise eval results recorded by assert_score (default .loopwise/runs)",
    )
    parser.addoption(
        "--loopwise-endpoint",
        default=os.environ.get("LOOPWISE_ENDPOINT"),
        help="also record the run in this collector (default $LOOPWISE_ENDPOINT); "
        "LOOPWISE_API_KEY authenticates",
    )


class EvalRecorder:
    """What the ``loopwise_eval`` fixture gives a test."""

    def __init__(self, test_id: str, sink: list[ExampleResult]) -> None:
        self.test_id = test_id
        self._sink = sink
        self._count = 0

    def score(
        self,
        evaluator: str | Evaluator,
        output: Any,
        *,
        input: Any = None,
        reference: Any = None,
        context: list[str] | None = None,
    ) -> ScoreOutcome:
        """Score one output with an evaluator (a registry name or a declared evaluator)."""
        from loopwise.evals.suites.results import ExampleResult
        from loopwise.evals.suites.single import score_one

        name, outcome = score_one(
            evaluator, output, input=input, reference=reference, context=context
        )
        self._sink.append(
            ExampleResult(
                example_id=f"{self.test_id}#{self._count}",
                repetition=0,
                input=input,
                expected=reference,
                output=output,
                scores={name: outcome},
            )
        )
        self._count += 1
        return outcome

    def assert_score(
        self,
        evaluator: str | Evaluator,
        output: Any,
        *,
        input: Any = None,
        reference: Any = None,
        context: list[str] | None = None,
        passed: bool | None = True,
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> ScoreOutcome:
        """Score and assert: it must pass (``passed=True``, the default), reach
        ``min_value`` and stay within ``max_value`` when given (``max_value`` for evaluators
        where lower is better: a latency, a count of leaks). An evaluator that could not
        score fails the assertion."""
        outcome = self.score(evaluator, output, input=input, reference=reference, context=context)
        label = evaluator if isinstance(evaluator, str) else evaluator.name
        if outcome.errored:
            pytest.fail(f"{label} could not score the output: {outcome.error}")
        if passed is not None and outcome.passed is not passed:
            why = f": {outcome.explanation}" if outcome.explanation else ""
            pytest.fail(f"{label} expected passed={passed}, got {outcome.passed}{why}")
        if min_value is not None and (outcome.value is None or outcome.value < min_value):
            pytest.fail(f"{label} value {outcome.value} is below {min_value}")
        if max_value is not None and (outcome.value is None or outcome.value > max_value):
            pytest.fail(f"{label} value {outcome.value} is above {max_value}")
        return outcome


@pytest.fixture
def loopwise_eval(request: pytest.FixtureRequest) -> Iterator[EvalRecorder]:
    """Score outputs in a test; results are saved like a suite run at session end."""
    hint = _missing_extra()
    if hint is not None:
        pytest.fail(hint, pytrace=False)
    sink = request.config.stash.setdefault(_RESULTS_KEY, [])
    yield EvalRecorder(request.node.nodeid, sink)


def _missing_extra() -> str | None:
    """What to install when the evaluation stack (the server extra) is absent."""
    try:
        import loopwise.evals.suites.single  # noqa: F401
    except ModuleNotFoundError as error:
        from loopwise.collector.extras import install_hint

        hint = install_hint(error, "the loopwise_eval fixture")
        if hint is None:
            raise
        return hint
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Save the recorded results (if any test used the fixture) as one run of ``pytest``."""
    results = session.config.stash.get(_RESULTS_KEY, [])
    if not results:
        return
    from loopwise.evals.suites.single import save_pytest_run

    folder = Path(session.config.getoption("--loopwise-results"))
    endpoint = session.config.getoption("--loopwise-endpoint") or None
    lines = session.config.stash.setdefault(_SUMMARY_KEY, [])
    try:
        run_id = save_pytest_run(
            results, folder, endpoint=endpoint, api_key=os.environ.get("LOOPWISE_API_KEY")
        )
    except Exception as exc:  # the tests' outcome stands whatever happens to the recording
        if endpoint and any(folder.glob("pytest/*.json")):
            saved = f"loopwise: {len(results)} scores saved in {folder}"
            lines.append(f"{saved}; the collector at {endpoint} did not take the run: {exc}")
        else:
            lines.append(f"loopwise: could not save {len(results)} scores in {folder}: {exc}")
        return
    where = f"{folder} and {endpoint}" if endpoint else str(folder)
    lines.append(f"loopwise: {len(results)} scores recorded as run {run_id} in {where}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print what the session recorded, in the summary (on a line of its own)."""
    lines = terminalreporter.config.stash.get(_SUMMARY_KEY, [])
    if lines:
        terminalreporter.write_sep("-", "loopwise")
        for line in lines:
            terminalreporter.write_line(line)
