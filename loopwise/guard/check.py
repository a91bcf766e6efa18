"""``loopwise.check``: run evaluators on one output inside the application, before it is used.

Code evaluators (the built-ins and your own) run in-process on a batch of one, with no network
call; an LLM judge runs only when it is named, under a timeout. ``check`` never raises into the
application: an evaluator that fails, times out or is unknown gives an errored score, and
``passed`` follows the stated policy (``errors="fail"`` by default: a check that could not
decide does not pass, so the output goes to a person rather than to the customer).

The scores are recorded on the current span: ``loopwise.check.passed`` and
``loopwise.check.failed`` (the failing evaluators) as attributes, and one ``loopwise.check``
event per score, so the trace shows what was checked and why it was held.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import trace

if TYPE_CHECKING:
    from loopwise.evals import Evaluator, Score

log = logging.getLogger(__name__)

ErrorPolicy = Literal["fail", "pass"]
DEFAULT_JUDGE_TIMEOUT_S = 10.0
CHECK_EVENT = "loopwise.check"

_evaluators: dict[str, Evaluator] = {}
_evaluators_lock = threading.Lock()
_judges = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="loopwise-judge")


@dataclass(frozen=True)
class CheckResult:
    """What ``check`` found: ``passed`` under the error policy, every ``Score`` by evaluator
    name, and the names that failed (or errored, when errors count as failures)."""

    passed: bool
    scores: dict[str, Score] = field(default_factory=dict)
    failed: tuple[str, ...] = ()
    errored: tuple[str, ...] = ()
    elapsed_ms: float = 0.0

    def reasons(self) -> list[str]:
        """One line per failing or errored evaluator: its name and explanation or error."""
        lines = []
        for name in (*self.failed, *(e for e in self.errored if e not in self.failed)):
            score = self.scores.get(name)
            why = (score.explanation or score.error or score.label) if score else None
            lines.append(f"{name}: {why}" if why else name)
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what a held review item carries."""
        return {
            "passed": self.passed,
            "failed": list(self.failed),
            "errored": list(self.errored),
            "scores": {name: _score_dict(score) for name, score in self.scores.items()},
        }


def check(
    output: Any,
    *,
    evaluators: Sequence[str | Evaluator],
    input: Any = None,
    context: Mapping[str, Any] | None = None,
    project: str | None = None,
    errors: ErrorPolicy = "fail",
    judge_timeout_s: float = DEFAULT_JUDGE_TIMEOUT_S,
    record: bool = True,
) -> CheckResult:
    """Score ``output`` with ``evaluators`` (registered names or Evaluator objects) now.

    ``input`` is what the step was given; ``context`` may hold ``retrieved`` (documents the
    answer may cite: grounding checks such as invented_identifiers read them), ``reference``
    (an expected answer) and ``metadata``. ``errors`` says what an errored score means for
    ``passed``: "fail" (default: an undecided check holds the output) or "pass".
    """
    started = time.perf_counter()
    scores: dict[str, Score] = {}
    try:
        row = _span_row(output, input, context or {}, project)
        for wanted in evaluators:
            name, score = _run_one(wanted, row, judge_timeout_s)
            scores[name] = score
    except Exception as exc:  # the app never sees our failure
        log.warning("loopwise.check could not run: %s", exc)
        scores.setdefault("check", _errored(f"check could not run: {type(exc).__name__}: {exc}"))
    result = _verdict(scores, errors, (time.perf_counter() - started) * 1000)
    if record:
        _record_on_current_span(result)
    return result


def _run_one(wanted: str | Evaluator, row: dict[str, Any], timeout_s: float) -> tuple[str, Score]:
    from loopwise.evals import Score, evaluate

    try:
        chosen = _resolve(wanted)
    except Exception as exc:
        name = wanted if isinstance(wanted, str) else repr(wanted)
        return name, _errored(f"unknown evaluator: {exc}")
    table = _one_row_table(row)
    try:
        if chosen.kind == "llm" or chosen.is_async:
            future = _judges.submit(evaluate, chosen, table)
            outcome = future.result(timeout=timeout_s)
        else:
            outcome = evaluate(chosen, table)
    except concurrent.futures.TimeoutError:
        return chosen.name, _errored(f"no verdict within {timeout_s:g} s")
    except Exception as exc:
        return chosen.name, _errored(f"{type(exc).__name__}: {exc}")
    records = outcome.records()
    if not records:
        return chosen.name, Score(label="not_applicable", explanation="nothing to score")
    first = records[0]
    if first.get("status") == "errored":
        return chosen.name, _errored(first.get("error") or "errored")
    return chosen.name, Score(
        value=first.get("value"),
        label=first.get("label"),
        explanation=first.get("explanation"),
        passed=first.get("passed"),
    )


def _resolve(wanted: str | Evaluator) -> Evaluator:
    if not isinstance(wanted, str):
        return wanted
    with _evaluators_lock:
        found = _evaluators.get(wanted)
        if found is None:
            from loopwise.evals import default_registry

            found = default_registry().create(wanted)
            _evaluators[wanted] = found
        return found


def _verdict(scores: Mapping[str, Score], errors: ErrorPolicy, elapsed_ms: float) -> CheckResult:
    errored = tuple(name for name, s in scores.items() if s.status == "errored")
    failed = [name for name, s in scores.items() if s.status == "ok" and s.passed is False]
    if errors == "fail":
        failed += [name for name in errored if name not in failed]
    return CheckResult(
        passed=not failed,
        scores=dict(scores),
        failed=tuple(failed),
        errored=errored,
        elapsed_ms=elapsed_ms,
    )


def _span_row(
    output: Any, input: Any, context: Mapping[str, Any], project: str | None
) -> dict[str, Any]:
    current = trace.get_current_span().get_span_context()
    retrieved = context.get("retrieved") or context.get("documents") or ()
    if isinstance(retrieved, str):
        retrieved = [retrieved]
    metadata = dict(context.get("metadata") or {})
    if "reference" in context:
        metadata["reference"] = context["reference"]
    return {
        "project": project or "default",
        "trace_id": format(current.trace_id, "032x") if current.is_valid else "",
        "span_id": format(current.span_id, "016x") if current.is_valid else "",
        "name": "check",
        "kind": "llm",
        "status": "ok",
        "input": _text(input),
        "output": _text(output),
        "root_input": _text(input),
        "metadata": json.dumps(metadata, default=str),
        "retrieved_context": [_text(doc) or "" for doc in retrieved],
    }


def _one_row_table(row: dict[str, Any]) -> Any:
    import pyarrow as pa

    from loopwise.collector.store import SPAN_ARROW_SCHEMA

    columns = {
        name: pa.array([row.get(name)], SPAN_ARROW_SCHEMA.field(name).type)
        for name in SPAN_ARROW_SCHEMA.names
    }
    columns["root_input"] = pa.array([row["root_input"]], pa.string())
    columns["retrieved_context"] = pa.array([row["retrieved_context"]], pa.list_(pa.string()))
    return pa.table(columns)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _errored(message: str) -> Score:
    from loopwise.evals import Score

    return Score(status="errored", error=message[:1000])


def _score_dict(score: Score) -> dict[str, Any]:
    return {
        "passed": score.passed,
        "value": score.value,
        "label": score.label,
        "explanation": score.explanation,
        "status": score.status,
        "error": score.error,
    }


def _record_on_current_span(result: CheckResult) -> None:
    try:
        span = trace.get_current_span()
        if not span.is_recording():
            return
        span.set_attribute("loopwise.check.passed", result.passed)
        span.set_attribute("loopwise.check.failed", list(result.failed))
        for name, score in result.scores.items():
            attributes = {"loopwise.check.evaluator": name, "loopwise.check.status": score.status}
            for key, value in _score_dict(score).items():
                if value is not None and key != "status":
                    attributes[f"loopwise.check.{key}"] = value
            span.add_event(CHECK_EVENT, attributes)
    except Exception as exc:  # recording is best effort; the verdict stands
        log.debug("could not record the check on the span: %s", exc)
