"""The Runs page: suite runs recorded by ``loopwise eval run``, two of them side by side
(each evaluator's mean and pass rate) and the examples whose verdict got worse or better
from the first run to the second."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pandas as pd
import streamlit as st

from .api import ApiError, Record, RouteMissing
from .datasets_page import cell
from .render import better_text
from .settings import DashboardSettings
from .widgets import collector_status, show_api_error

KEY = "runs"
MAX_RUNS = 200


def summaries_side_by_side(before: Record, after: Record) -> pd.DataFrame:
    """One row per evaluator: mean in each run and which way it is better, pass rate in
    each run, and the change."""
    rows: dict[str, dict[str, Any]] = defaultdict(dict)
    for tag, report in (("A", before), ("B", after)):
        for summary in report.get("summaries") or []:
            row = rows[str(summary.get("name"))]
            row[f"mean {tag}"] = _estimate(summary.get("mean"))
            row["better"] = better_text(summary.get("direction"))
            row[f"pass rate {tag}"] = _estimate(summary.get("pass_rate"))
    frame = pd.DataFrame(
        [{"evaluator": name, **values} for name, values in sorted(rows.items())],
        columns=["evaluator", "mean A", "mean B", "better", "pass rate A", "pass rate B"],
    )
    frame["pass rate change"] = frame["pass rate B"] - frame["pass rate A"]
    return frame


def example_changes(before: Record, after: Record) -> pd.DataFrame:
    """Examples whose pass rate for an evaluator changed from run A to run B (repetitions
    averaged), regressions first, with the outputs of both runs as text."""
    rates_a, _ = _pass_rates(before)
    rates_b, details = _pass_rates(after)
    outputs_a = {e.get("example_id"): e.get("output") for e in before.get("examples") or []}
    rows: list[dict[str, Any]] = []
    for key in sorted(set(rates_a) & set(rates_b)):
        change = rates_b[key] - rates_a[key]
        if change == 0:
            continue
        example = details[key]
        rows.append(
            {
                "change": "regressed" if change < 0 else "improved",
                "evaluator": key[1],
                "example": key[0],
                "pass rate A": rates_a[key],
                "pass rate B": rates_b[key],
                "input": cell(example.get("input")),
                "expected": cell(example.get("expected")),
                "output A": cell(outputs_a.get(key[0])),
                "output B": cell(example.get("output")),
            }
        )
    rows.sort(
        key=lambda r: (r["change"] != "regressed", float(r["pass rate B"] - r["pass rate A"]))
    )
    columns = [
        "change",
        "evaluator",
        "example",
        "pass rate A",
        "pass rate B",
        "input",
        "expected",
        "output A",
        "output B",
    ]
    return pd.DataFrame(rows, columns=columns)


def _pass_rates(report: Record) -> tuple[dict[tuple[str, str], float], dict[Any, Record]]:
    verdicts: dict[tuple[str, str], list[bool]] = defaultdict(list)
    details: dict[Any, Record] = {}
    for example in report.get("examples") or []:
        scores = example.get("scores") or {}
        for name, outcome in scores.items():
            if not isinstance(outcome, dict):
                continue
            errored = bool(outcome.get("errored"))  # an error counts as a failure
            if errored or isinstance(outcome.get("passed"), bool):
                key = (str(example.get("example_id")), str(name))
                verdicts[key].append(bool(outcome.get("passed")) and not errored)
                details[key] = example
    return {k: sum(v) / len(v) for k, v in verdicts.items()}, details


def _estimate(interval: object) -> float | None:
    value = interval.get("estimate") if isinstance(interval, dict) else None
    return float(value) if isinstance(value, int | float) else None


def render_runs(settings: DashboardSettings) -> None:
    """Draw the Runs page."""
    st.title("Runs")
    if collector_status(settings) is None:
        return
    suite = st.text_input("Suite", key=f"{KEY}.suite", placeholder="all suites")
    with settings.connect() as api:
        try:
            runs = api.eval_runs(suite.strip() or None, limit=MAX_RUNS)
        except RouteMissing:
            st.info("Runs are not available: this collector has no /api/eval-runs.")
            return
        except ApiError as exc:
            show_api_error(exc)
            return
        if not runs:
            st.info("No runs yet: record one with `loopwise eval run --endpoint`.")
            return
        columns = ["run_id", "suite", "dataset", "passed", "started_at", "git_commit"]
        st.dataframe(
            pd.DataFrame([{k: r.get(k) for k in columns} for r in runs], columns=columns),
            hide_index=True,
            width="stretch",
        )
        if len(runs) < 2:
            st.info("One run so far: record another to compare them.")
            return
        ids = [str(r.get("run_id")) for r in runs]
        left, right = st.columns(2)
        old = left.selectbox("Run A (before)", ids, index=1, key=f"{KEY}.a")
        new = right.selectbox("Run B (after)", ids, index=0, key=f"{KEY}.b")
        try:
            before, after = api.eval_run(str(old)), api.eval_run(str(new))
        except ApiError as exc:
            show_api_error(exc)
            return
    st.subheader("Evaluators side by side")
    st.dataframe(summaries_side_by_side(before, after), hide_index=True, width="stretch")
    changes = example_changes(before, after)
    regressed = int((changes["change"] == "regressed").sum())
    st.subheader("Examples that changed")
    st.caption(f"{regressed} regressed · {len(changes) - regressed} improved")
    if len(changes):
        st.dataframe(changes, hide_index=True, width="stretch")
