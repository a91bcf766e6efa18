"""``loopwise calibrate``: how well each evaluator version agrees with human verdicts."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from .feedback_target import (
    FormatOption,
    OutputFormat,
    cell,
    console,
    open_backend,
    print_json,
    print_text,
)
from .target import targeted

app = typer.Typer(
    help="Judge calibration: agreement of each evaluator version with human verdicts.",
    invoke_without_command=True,
)


@app.callback()
@targeted
def calibrate(
    project: Annotated[str | None, typer.Option("--project")] = None,
    evaluator: Annotated[str | None, typer.Option("--evaluator", help="Only this one.")] = None,
    min_labels: Annotated[
        int, typer.Option("--min-labels", min=1, help="Warn below this many labels.")
    ] = 20,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Accuracy, Cohen's kappa, precision/recall/F1 (positive class: fail) and the confusion
    matrix per evaluator version, with the number of labels and warnings."""
    query = {"project": project, "evaluator": evaluator, "min_labels": min_labels}
    with open_backend() as backend:
        answer = backend.call("GET", "/api/calibration", query=query)
    reports, reviewers = answer["evaluators"], answer.get("reviewers", [])
    if output is OutputFormat.json:
        print_json({"evaluators": reports, "reviewers": reviewers})
        return
    _reviewers(reviewers)
    if not reports:
        print_text("no evaluator has human verdicts to compare with yet")
        return
    table = Table(
        "evaluator",
        "version",
        "labels",
        "accuracy",
        "kappa",
        "precision",
        "recall",
        "F1",
        title="agreement with human verdicts",
    )
    for r in reports:
        table.add_row(
            cell(r["evaluator"]),
            cell(r["evaluator_version"] or "-"),
            str(r["labels"]),
            _num(r["accuracy"]),
            _num(r["kappa"]),
            _num(r["precision"]),
            _num(r["recall"]),
            _num(r["f1"]),
        )
    console.print(table)
    for r in reports:
        _confusion(r)
        for warning in r["warnings"]:
            print_text(
                f"warning: {r['evaluator']} {r['evaluator_version'] or ''}: {warning}", "yellow"
            )


def _reviewers(reports: list[dict[str, Any]]) -> None:
    """Agreement between two reviewers of the same outputs, when some were reviewed twice."""
    if not reports:
        return
    table = Table(
        "evaluator", "reviewed twice", "agreement", "kappa", title="agreement between reviewers"
    )
    for r in reports:
        table.add_row(cell(r["evaluator"]), str(r["pairs"]), _num(r["agreement"]), _num(r["kappa"]))
    console.print(table)
    for r in reports:
        for warning in r["warnings"]:
            print_text(f"warning: {r['evaluator']} reviewers: {warning}", "yellow")


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def _confusion(report: dict[str, Any]) -> None:
    classes = report["classes"]
    title = (
        f"{report['evaluator']} {report['evaluator_version'] or ''}: human (rows) x judge (columns)"
    )
    table = Table("human \\ judge", *classes, title=title)
    for name, row in zip(classes, report["confusion"], strict=True):
        table.add_row(cell(name), *(str(v) for v in row))
    console.print(table)
