"""The Evaluators page: how each evaluator scores (a histogram of its newest scores, pass
rate, errors) and how far each LLM judge agrees with people (/api/calibration: accuracy,
Cohen's kappa, precision/recall/F1 on "fail", the confusion matrix, the number of labels
and the collector's warnings, such as low agreement)."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from .api import ApiError, CollectorAPI, Record, RouteMissing
from .charts import plotly_text
from .render import better_text, escape_markdown
from .settings import DashboardSettings
from .widgets import collector_status, show_api_error

KEY = "evaluators"
MAX_SCORES = 1000


def score_summary(scores: list[Record]) -> pd.DataFrame:
    """One row per evaluator: scores, errored runs, mean value, which way it is better, and
    pass rate (people's verdicts, kind ``human``, are left out: they are the calibration's
    side). The mean is over decided scores; the pass rate counts errored scores against it,
    as the Overview and the suites do."""
    by_name: dict[str, list[Record]] = defaultdict(list)
    for score in _evaluated(scores):
        by_name[str(score.get("name"))].append(score)
    rows = []
    for name, rows_of in sorted(by_name.items()):
        ok = [s for s in rows_of if s.get("status", "ok") == "ok"]
        values = [float(s["value"]) for s in ok if isinstance(s.get("value"), int | float)]
        verdicts = [s["passed"] for s in ok if isinstance(s.get("passed"), bool)]
        judged = len(verdicts) + len(rows_of) - len(ok)
        newest = max(rows_of, key=lambda s: str(s.get("created_at") or ""))
        rows.append(
            {
                "evaluator": name,
                "scores": len(ok),
                "errored": len(rows_of) - len(ok),
                "mean": sum(values) / len(values) if values else None,
                "better": better_text(newest.get("direction")),
                "pass rate": sum(verdicts) / judged if judged else None,
            }
        )
    return pd.DataFrame(
        rows, columns=["evaluator", "scores", "errored", "mean", "better", "pass rate"]
    )


def distribution_figure(scores: list[Record]) -> go.Figure:
    """Histograms of score values, one trace per evaluator (names shown as literal text)."""
    values: dict[str, list[float]] = defaultdict(list)
    for score in _evaluated(scores):
        value = score.get("value")
        if score.get("status", "ok") == "ok" and isinstance(value, int | float):
            values[str(score.get("name"))].append(float(value))
    figure = go.Figure()
    for name, numbers in sorted(values.items()):
        figure.add_trace(
            go.Histogram(x=numbers, name=plotly_text(name, 60), opacity=0.75, nbinsx=20)
        )
    figure.update_layout(
        title={"text": "Score values per evaluator", "font": {"size": 14}},
        barmode="overlay",
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.2, "x": 0},
        xaxis_title="value",
        yaxis_title="scores",
    )
    return figure


def _evaluated(scores: list[Record]) -> list[Record]:
    return [s for s in scores if s.get("kind") != "human"]


def confusion_frame(report: Record) -> pd.DataFrame:
    """The confusion matrix as a table: rows are people's verdicts, columns the judge's."""
    classes = [str(c) for c in report.get("classes") or []]
    matrix = report.get("confusion") or []
    return pd.DataFrame(
        matrix,
        index=pd.Index([f"people: {c}" for c in classes]),
        columns=[f"judge: {c}" for c in classes],
    )


def render_evaluators(settings: DashboardSettings) -> None:
    """Draw the Evaluators page."""
    st.title("Evaluators")
    if collector_status(settings) is None:
        return
    project = st.text_input("Project", key=f"{KEY}.project", placeholder="all projects")
    with settings.connect() as api:
        _distributions(api, project.strip() or None)
        _calibration(api, project.strip() or None)


def _distributions(api: CollectorAPI, project: str | None) -> None:
    st.subheader("Score distributions")
    try:
        scores = api.scores(project, limit=MAX_SCORES)
    except RouteMissing:
        st.info("Scores are not available: this collector has no /api/scores.")
        return
    except ApiError as exc:
        show_api_error(exc)
        return
    if not scores:
        st.info("No scores yet: evaluators write them as traces come in.")
        return
    st.caption(f"The newest {len(scores)} scores.")
    st.dataframe(
        score_summary(scores),
        hide_index=True,
        width="stretch",
        column_config={"pass rate": st.column_config.NumberColumn(format="percent")},
    )
    st.plotly_chart(distribution_figure(scores), config={"displaylogo": False})


def _calibration(api: CollectorAPI, project: str | None) -> None:
    st.subheader("Judge calibration")
    try:
        reports, reviewers = api.calibration_report(project)
    except RouteMissing:
        st.info("Calibration is not available: this collector has no /api/calibration.")
        return
    except ApiError as exc:
        show_api_error(exc)
        return
    if not reports:
        st.info("No judge has human labels to compare with yet: review flagged items first.")
    for report in reports:
        version = report.get("evaluator_version") or "any version"
        with st.container(border=True):
            st.text(f"{report.get('evaluator')} ({version}) · {report.get('mode')}")
            columns = st.columns(5)
            for column, (label, field) in zip(
                columns,
                (
                    ("Labels", "labels"),
                    ("Accuracy", "accuracy"),
                    ("Kappa", "kappa"),
                    ("Precision", "precision"),
                    ("Recall", "recall"),
                ),
                strict=True,
            ):
                column.metric(label, _number(report.get(field)))
            st.caption(f"F1 {_number(report.get('f1'))}")
            for note in report.get("warnings") or []:
                st.warning(escape_markdown(note))
            if report.get("classes"):
                st.dataframe(confusion_frame(report), width="stretch")
    _reviewer_agreement(reviewers)


def _reviewer_agreement(reviewers: list[Record]) -> None:
    """Inter-annotator agreement per evaluator, the yardstick for the judge's kappa: a judge
    cannot be expected to agree with people more than two people agree with each other."""
    st.caption(
        "Reviewer agreement: items judged by two reviewers (Cohen's kappa and raw agreement)"
    )
    if not reviewers:
        st.info(
            "No item has two reviewers' verdicts yet: ask for second reviews "
            "(`loopwise review second`) to measure how far reviewers agree."
        )
        return
    frame = pd.DataFrame(
        [
            {
                "evaluator": r.get("evaluator"),
                "mode": r.get("mode"),
                "pairs": r.get("pairs"),
                "agreement": r.get("agreement"),
                "kappa": r.get("kappa"),
                "notes": "; ".join(str(w) for w in r.get("warnings") or []),
            }
            for r in reviewers
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "agreement": st.column_config.NumberColumn(format="percent"),
            "kappa": st.column_config.NumberColumn(format="%.2f"),
        },
    )


def _number(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return "-"
