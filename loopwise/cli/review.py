"""``loopwise review``: the review queue without the dashboard: list, pick, assign, comment,
approve, correct (with verdicts per evaluator), reject, reopen, second reviews, and each
queue's rubric (``review rubric``, in ``review_rubric``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from . import review_rubric
from .common import fail
from .feedback_target import (
    ActorOption,
    ExpectOption,
    FormatOption,
    OutputFormat,
    actor_name,
    console,
    open_backend,
    parse_pairs,
    print_json,
    print_table,
    print_text,
)
from .target import TargetTyper

app = TargetTyper(
    help="Review flagged, picked and thumbs-down spans: approve, correct or reject them.",
    no_args_is_help=True,
)
app.add_typer(review_rubric.app, name="rubric")
ITEM_COLUMNS = (
    "item_id",
    "state",
    "version",
    "source",
    "span_name",
    "root_cause_name",
    "assignee",
    "reason",
)
VerdictOption = Annotated[
    list[str] | None,
    typer.Option("--verdict", help="EVALUATOR=pass|fail|LABEL, a human verdict (repeatable)."),
]


def _show_item(item: dict[str, Any], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        print_json(item)
        return
    print_text(
        f"{item['item_id']}  {item['state']} (version {item['version']})"
        + (f", assigned to {item['assignee']}" if item.get("assignee") else "")
    )


def _act(
    item_id: str,
    action: str,
    output: OutputFormat,
    **body: Any,
) -> None:
    if "expected_version" in body and body["expected_version"] is None:
        # Acting without the version one reviewed could overwrite a colleague's decision.
        fail(
            f"review {action} needs --expect VERSION: the item version you reviewed "
            f"(shown by `loopwise review show {item_id}`)",
            code=2,
        )
    payload = {"action": action, **{k: v for k, v in body.items() if v is not None}}
    with open_backend() as backend:
        item = backend.call("POST", f"/api/reviews/{quote(item_id, safe='')}/actions", body=payload)
    _show_item(item, output)


@app.command("list")
def list_items(
    state: Annotated[
        str | None, typer.Option("--state", help="open, approved, corrected or rejected.")
    ] = "open",
    project: Annotated[str | None, typer.Option("--project")] = None,
    assignee: Annotated[str | None, typer.Option("--assignee")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="flag, manual or end_user.")
    ] = None,
    all_states: Annotated[bool, typer.Option("--all", help="Every state.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    sync: Annotated[
        bool, typer.Option("--sync/--no-sync", help="Open items for new flags first.")
    ] = True,
    output: FormatOption = OutputFormat.table,
) -> None:
    """List review items, newest first (open ones unless --state or --all)."""
    query = {
        "state": None if all_states else state,
        "project": project,
        "assignee": assignee,
        "source": source,
        "limit": limit,
    }
    with open_backend() as backend:
        if sync:
            backend.call("POST", "/api/reviews/sync")
        items = backend.call("GET", "/api/reviews", query=query)["items"]
    if output is OutputFormat.json:
        print_json(items)
    else:
        print_table(items, ITEM_COLUMNS, title="review items")


@app.command("show")
def show(
    item_id: Annotated[str, typer.Argument(help="The review item.")],
    output: FormatOption = OutputFormat.table,
) -> None:
    """One item: its state, full history and corrections."""
    with open_backend() as backend:
        detail = backend.call("GET", f"/api/reviews/{quote(item_id, safe='')}")
    if output is OutputFormat.json:
        print_json(detail)
        return
    item = detail["item"]
    _show_item(item, output)
    print_text(f"trace {item['trace_id']} span {item['span_id'] or '(root)'}; {item['source']}")
    if item.get("reason"):
        print_text(f"reason: {item['reason']}")
    if "held_output" in item:
        console.rule("held by a running workflow: input")
        print_text(item.get("held_input") or "")
        console.rule("output")
        print_text(item["held_output"])
    elif detail.get("span"):
        span = detail["span"]
        console.rule(f"span {span['name']} ({span['kind']}): input")
        print_text(span.get("input") or "(none)")
        console.rule("output")
        print_text(span.get("output") or "(none)")
    if item.get("root_cause_name"):
        cause = "this span" if item.get("root_cause_span_id") == item.get("span_id") else None
        print_text(
            f"root cause of the trace: {cause or item['root_cause_name']}"
            f" ({', '.join(item.get('root_cause_reasons') or [])})"
        )
    print_table(
        detail["events"],
        ("version", "action", "state", "actor", "comment", "created_at"),
        title="history",
    )
    for correction in detail["corrections"]:
        console.rule("correction")
        print_text(correction["corrected_output"])
        if correction.get("verdicts"):
            print_text(f"verdicts: {correction['verdicts']}")


@app.command("sync")
def sync() -> None:
    """Open review items for new flags and end-user thumbs-down."""
    with open_backend() as backend:
        opened = backend.call("POST", "/api/reviews/sync")["opened"]
    print_text(
        f"opened {opened.get('flag', 0)} from flags, {opened.get('end_user', 0)} "
        "from end-user thumbs-down"
    )


@app.command("pick")
def pick(
    trace_id: Annotated[str, typer.Argument(help="The trace (32 hex characters).")],
    span_id: Annotated[
        str | None, typer.Argument(help="The span (16 hex); default: the trace's root span.")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it needs review.")] = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Open a review item for a span you picked."""
    body = {"trace_id": trace_id, "span_id": span_id, "reason": reason, "actor": actor_name(actor)}
    with open_backend() as backend:
        item = backend.call("POST", "/api/reviews", body=body)
    _show_item(item, output)


@app.command("assign")
def assign(
    item_id: str,
    assignee: Annotated[str, typer.Argument(help="Who should review it ('' to unassign).")],
    expect: ExpectOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Assign an open item to a reviewer."""
    _act(
        item_id,
        "assign",
        output,
        assignee=assignee,
        actor=actor_name(actor),
        expected_version=expect,
    )


@app.command("comment")
def comment(
    item_id: str,
    text: Annotated[str, typer.Argument(help="The comment.")],
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Comment on an item (any state; the state stays)."""
    _act(item_id, "comment", output, comment=text, actor=actor_name(actor))


@app.command("approve")
def approve(
    item_id: str,
    verdict: VerdictOption = None,
    note: Annotated[str | None, typer.Option("--comment", help="Why.")] = None,
    expect: ExpectOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """The output is right as it is (a flag on it was a false alarm)."""
    _act(
        item_id,
        "approve",
        output,
        comment=note,
        verdicts=parse_pairs(verdict or [], "--verdict") or None,
        actor=actor_name(actor),
        expected_version=expect,
    )


@app.command("correct")
def correct(
    item_id: str,
    output_text: Annotated[
        str | None, typer.Option("--output", help="The corrected output.")
    ] = None,
    output_file: Annotated[
        Path | None, typer.Option("--output-file", help="Read the corrected output from a file.")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="What was wrong.")] = None,
    verdict: VerdictOption = None,
    expect: ExpectOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """The output was wrong: store the right one, with the reason and verdicts."""
    if (output_text is None) == (output_file is None):
        fail("give the corrected output with --output or --output-file", code=2)
    if output_file is not None:
        try:
            output_text = output_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {output_file}: {exc}")
    _act(
        item_id,
        "correct",
        output,
        corrected_output=output_text,
        comment=reason,
        verdicts=parse_pairs(verdict or [], "--verdict") or None,
        actor=actor_name(actor),
        expected_version=expect,
    )


@app.command("reject")
def reject(
    item_id: str,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it is dismissed.")] = None,
    expect: ExpectOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Dismiss an item without a verdict."""
    _act(
        item_id,
        "reject",
        output,
        comment=reason,
        actor=actor_name(actor),
        expected_version=expect,
    )


@app.command("reopen")
def reopen(
    item_id: str,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    expect: ExpectOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Open a closed item again (its history stays)."""
    _act(
        item_id,
        "reopen",
        output,
        comment=reason,
        actor=actor_name(actor),
        expected_version=expect,
    )


@app.command("corrections")
def corrections(
    project: Annotated[str | None, typer.Option("--project")] = None,
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="Only spans rendered from this prompt.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    output: FormatOption = OutputFormat.table,
) -> None:
    """List corrections, oldest first."""
    query = {"project": project, "prompt": prompt, "limit": limit}
    with open_backend() as backend:
        rows = backend.call("GET", "/api/reviews/corrections", query=query)["corrections"]
    if output is OutputFormat.json:
        print_json(rows)
    else:
        print_table(rows, ("correction_id", "span_name", "author", "reason", "corrected_output"))


@app.command("second")
def second(
    reviewer: Annotated[str, typer.Argument(help="Who reviews the items a second time.")],
    count: Annotated[int, typer.Option("--count", min=1, max=1000)] = 20,
    project: Annotated[str | None, typer.Option("--project")] = None,
    evaluator: Annotated[
        str | None, typer.Option("--evaluator", help="Only items opened by this evaluator.")
    ] = None,
    seed: Annotated[str, typer.Option("--seed", help="Another seed picks another sample.")] = "",
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Send a sample of items one person closed to a second reviewer (for their agreement,
    shown by `loopwise calibrate`)."""
    body = {
        "reviewer": reviewer,
        "actor": actor_name(actor),
        "count": count,
        "project": project,
        "evaluator": evaluator,
        "seed": seed,
    }
    with open_backend() as backend:
        sent = backend.call("POST", "/api/reviews/second-reviews", body=body)
    if output is OutputFormat.json:
        print_json(sent)
        return
    print_text(f"sent {len(sent['item_ids'])} items to {sent['reviewer']} for a second review")
    for item_id in sent["item_ids"]:
        print_text(f"  {item_id}")
    if sent["skipped"]:
        print_text(f"skipped {len(sent['skipped'])} that someone acted on meanwhile")
