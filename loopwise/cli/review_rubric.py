"""``loopwise review rubric``: show and set a review queue's rubric, the evaluators its
reviewers give a verdict on. A queue is a project's review items, so a rubric belongs to a
project; with none set, each item offers the evaluators whose flags are on it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .feedback_target import (
    ActorOption,
    ExpectOption,
    FormatOption,
    OutputFormat,
    actor_name,
    open_backend,
    print_json,
    print_table,
    print_text,
)
from .target import targeted

# A plain Typer whose commands are each targeted: the review group's target options
# (``loopwise review --db F rubric show P``) still reach them.
app = typer.Typer(
    help="Show and set which evaluators reviewers give a verdict on, per project's queue.",
    no_args_is_help=True,
)
ProjectArgument = Annotated[str, typer.Argument(help="The project whose review queue it is.")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why it changes.")]
HISTORY_COLUMNS = ("version", "evaluators", "set_by", "set_at", "reason")


def _show_rubric(rubric: dict[str, Any]) -> None:
    project = rubric["project"]
    if rubric["set"]:
        print_text(
            f"rubric of project {project}: version {rubric['version']}, set by "
            f"{rubric['set_by']} at {rubric['set_at']}"
        )
        for number, name in enumerate(rubric["evaluators"], 1):
            print_text(f"  {number}. {name}")
    else:
        print_text(
            f"no rubric set for project {project}: each item offers the evaluators whose "
            "flags are on it"
        )
    for warning in rubric.get("warnings") or ():
        print_text(f"warning: {warning}", "yellow")


@app.command("show")
@targeted
def show(project: ProjectArgument, output: FormatOption = OutputFormat.table) -> None:
    """A project's rubric and every earlier version of it."""
    with open_backend() as backend:
        rubric = backend.call("GET", "/api/reviews/rubric", query={"project": project})
    if output is OutputFormat.json:
        print_json(rubric)
        return
    _show_rubric(rubric)
    if rubric["history"]:
        rows = [
            {**v, "evaluators": ", ".join(v["evaluators"]) or "(the default)"}
            for v in rubric["history"]
        ]
        print_table(rows, HISTORY_COLUMNS, title="history")


@app.command("list")
@targeted
def list_rubrics(output: FormatOption = OutputFormat.table) -> None:
    """Every project whose review queue has a rubric set."""
    with open_backend() as backend:
        rubrics = backend.call("GET", "/api/reviews/rubrics")["rubrics"]
    if output is OutputFormat.json:
        print_json(rubrics)
        return
    rows = [{**r, "evaluators": ", ".join(r["evaluators"])} for r in rubrics]
    print_table(rows, ("project", "version", "evaluators", "set_by", "set_at"), title="rubrics")


@app.command("set")
@targeted
def set_(
    project: ProjectArgument,
    evaluators: Annotated[
        list[str],
        typer.Argument(help="Evaluator names in the order reviewers see them (or a,b,c)."),
    ],
    reason: ReasonOption = None,
    expect: ExpectOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Set the evaluators reviewers of a project's queue give a verdict on."""
    names = [name for given in evaluators for name in given.split(",") if name.strip()]
    _change(
        project,
        output,
        evaluators=[name.strip() for name in names],
        reason=reason,
        expected_version=expect,
        actor=actor_name(actor),
    )


@app.command("clear")
@targeted
def clear(
    project: ProjectArgument,
    reason: ReasonOption = None,
    expect: ExpectOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Go back to the default: each item offers the evaluators whose flags are on it."""
    _change(
        project,
        output,
        clear=True,
        reason=reason,
        expected_version=expect,
        actor=actor_name(actor),
    )


def _change(project: str, output: OutputFormat, **fields: Any) -> None:
    body = {"project": project, **{k: v for k, v in fields.items() if v is not None}}
    with open_backend() as backend:
        rubric = backend.call("POST", "/api/reviews/rubric", body=body)
    if output is OutputFormat.json:
        print_json(rubric)
    else:
        _show_rubric(rubric)
