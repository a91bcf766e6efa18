"""``loopwise prompt``: the prompt registry: versions, labels, diffs, scores per version, and
proposals made from corrections (adopted only by a person)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from .common import fail
from .feedback_target import (
    ActorOption,
    ExpectOption,
    FormatOption,
    OutputFormat,
    actor_name,
    open_backend,
    print_diff,
    print_json,
    print_table,
    print_text,
)
from .target import TargetTyper

app = TargetTyper(
    help="Versioned prompts with labels (production, staging); loopwise.prompt() reads them.",
    no_args_is_help=True,
)


def _path(name: str, *rest: str) -> str:
    return "/".join(["/api/prompts", quote(name, safe=""), *rest])


def _print_version(data: dict[str, Any], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        print_json(data)
        return
    labels = ", ".join(data.get("labels") or []) or "no labels"
    print_text(f"{data['name']} version {data['version']} ({labels}) by {data['author']}")
    if data.get("model_params"):
        print_text(f"model parameters: {json.dumps(data['model_params'])}")
    print_text(f"variables: {', '.join(data.get('variables') or []) or 'none'}")
    print_text("")
    print_text(data["template"])


@app.command("list")
def list_prompts(
    output: FormatOption = OutputFormat.table,
) -> None:
    """Every prompt with its newest version and labels."""
    with open_backend() as backend:
        rows = backend.call("GET", "/api/prompts")["prompts"]
    if output is OutputFormat.json:
        print_json(rows)
    else:
        print_table(rows, ("name", "latest_version", "versions", "labels", "updated_at"))


@app.command("show")
def show(
    name: str,
    label: Annotated[str | None, typer.Option("--label", help="Default: production.")] = None,
    version: Annotated[int | None, typer.Option("--version", "-v", min=1)] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """One version (by --version, else by --label)."""
    with open_backend() as backend:
        data = backend.call("GET", _path(name), query={"label": label, "version": version})
    _print_version(data, output)


@app.command("versions")
def versions(
    name: str,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Every version of a prompt, and the history of its labels."""
    with open_backend() as backend:
        data = backend.call("GET", _path(name, "versions"))
    if output is OutputFormat.json:
        print_json(data)
        return
    print_table(data["versions"], ("version", "labels", "author", "created_at", "message"))
    print_table(
        data["label_history"],
        ("label", "version", "actor", "created_at", "reason"),
        title="label moves",
    )


@app.command("create")
def create(
    name: str,
    template: Annotated[str | None, typer.Option("--template", help="The template text.")] = None,
    template_file: Annotated[
        Path | None, typer.Option("--file", help="Read the template from a file.")
    ] = None,
    params: Annotated[
        str | None, typer.Option("--params", help='Model parameters as JSON: {"model": ...}.')
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Point this label at it (repeatable).")
    ] = None,
    message: Annotated[str | None, typer.Option("--message", "-m")] = None,
    expect: ExpectOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Store a new version ({{variable}} placeholders)."""
    if (template is None) == (template_file is None):
        fail("give the template with --template or --file", code=2)
    if template_file is not None:
        try:
            template = template_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {template_file}: {exc}")
    try:
        model_params = json.loads(params) if params else None
    except ValueError:
        fail("--params must be a JSON object", code=2)
    body = {
        "template": template,
        "model_params": model_params,
        "labels": label or [],
        "message": message,
        "expected_version": expect,
        "actor": actor_name(actor),
    }
    with open_backend() as backend:
        data = backend.call("POST", _path(name, "versions"), body=body)
    _print_version(data, output)


@app.command("label")
def label(
    name: str,
    label_name: Annotated[str, typer.Argument(metavar="LABEL", help="e.g. production.")],
    version: Annotated[
        int | None, typer.Argument(help="The version it should point at; omit with --remove.")
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the label.")] = False,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    expect: Annotated[
        int | None,
        typer.Option("--expect", min=0, help="The version the label points at now (0: none)."),
    ] = None,
    actor: ActorOption = None,
) -> None:
    """Move a label to a version (or remove it)."""
    if (version is None) != remove:
        fail("give a VERSION, or --remove", code=2)
    body = {
        "label": label_name,
        "version": version,
        "reason": reason,
        "expected_version": expect,
        "actor": actor_name(actor),
    }
    with open_backend() as backend:
        backend.call("POST", _path(name, "labels"), body=body)
    where = f"version {version}" if version is not None else "nothing (removed)"
    print_text(f"{name}: {label_name} → {where}")


@app.command("diff")
def diff(
    name: str,
    old: Annotated[int | None, typer.Option("--from", min=1)] = None,
    new: Annotated[int | None, typer.Option("--to", min=1)] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """A unified diff of two versions (default: the newest against the one before)."""
    with open_backend() as backend:
        data = backend.call("GET", _path(name, "diff"), query={"from": old, "to": new})
    if output is OutputFormat.json:
        print_json(data)
        return
    print_diff(data["diff"] or "(templates are identical)")
    for key, change in data["model_params"].items():
        print_text(f"{key}: {change['from']!r} → {change['to']!r}", "yellow")


@app.command("scores")
def scores(
    name: str,
    project: Annotated[str | None, typer.Option("--project")] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Scores of traces rendered from each version, side by side."""
    with open_backend() as backend:
        rows = backend.call("GET", _path(name, "scores"), query={"project": project})["scores"]
    if output is OutputFormat.json:
        print_json(rows)
    else:
        columns = (
            "prompt_version",
            "name",
            "kind",
            "scores",
            "errored",
            "traces",
            "mean_value",
            "direction",
            "pass_rate",
        )
        print_table(rows, columns, title=f"scores per version of {name}")


@app.command("propose")
def propose(
    name: str,
    correction: Annotated[
        list[str] | None, typer.Option("--correction", help="Use this correction (repeatable).")
    ] = None,
    base_version: Annotated[int | None, typer.Option("--base-version", min=1)] = None,
    base_label: Annotated[str | None, typer.Option("--base-label")] = None,
    max_examples: Annotated[int, typer.Option("--max-examples", min=1, max=20)] = 3,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Propose a new version with corrected examples as few-shot examples; shows the diff.
    Nothing changes until someone adopts it."""
    body = {
        "correction_ids": correction,
        "base_version": base_version,
        "base_label": base_label,
        "max_examples": max_examples,
        "actor": actor_name(actor),
    }
    with open_backend() as backend:
        data = backend.call("POST", _path(name, "proposals"), body=body)
    _print_proposal(data, output)


def _print_proposal(data: dict[str, Any], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        print_json(data)
        return
    print_text(
        f"proposal {data['proposal_id']} for {data['name']} (from version "
        f"{data['base_version']}): {data['status']}"
    )
    print_text(data.get("rationale") or "")
    print_diff(data["diff"])


@app.command("proposals")
def proposals(
    name: str,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Proposals for a prompt, newest first."""
    with open_backend() as backend:
        rows = backend.call("GET", _path(name, "proposals"))["proposals"]
    if output is OutputFormat.json:
        print_json(rows)
    else:
        columns = ("proposal_id", "base_version", "status", "adopted_version", "rationale")
        print_table(rows, columns)


@app.command("adopt")
def adopt(
    name: str,
    proposal_id: str,
    label_name: Annotated[
        str | None, typer.Option("--label", help="Point this label at the new version.")
    ] = None,
    message: Annotated[str | None, typer.Option("--message", "-m")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Adopt even if the prompt changed since.")
    ] = False,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Adopt a proposal as the next version (and point --label at it); says what moved."""
    body = {"label": label_name, "message": message, "force": force, "actor": actor_name(actor)}
    with open_backend() as backend:
        before = _label_versions(backend.call("GET", _path(name, "versions"))["versions"])
        data = backend.call(
            "POST", _path(name, "proposals", quote(proposal_id, safe=""), "adopt"), body=body
        )
    if output is OutputFormat.json:
        print_json(data)
        return
    print_text(f"adopted proposal {proposal_id} as {name} version {data['version']}")
    if label_name:
        was = before.get(label_name)
        moved = f"from version {was}" if was else "a new label"
        print_text(f"label {label_name} now points at version {data['version']} ({moved})")
    else:
        serving = ", ".join(f"{k} → version {v}" for k, v in sorted(before.items())) or "none"
        print_text(
            f"no label moved: the application still gets what its labels point at ({serving}); "
            f"move one with `loopwise prompt label {name} LABEL {data['version']}`"
        )
    print_text("")
    _print_version(data, output)


def _label_versions(versions: list[dict[str, Any]]) -> dict[str, int]:
    """Each label and the version it points at, from a versions listing."""
    return {label: int(v["version"]) for v in versions for label in v.get("labels") or []}


@app.command("reject")
def reject(
    name: str,
    proposal_id: str,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Reject a proposal."""
    body = {"reason": reason, "actor": actor_name(actor)}
    with open_backend() as backend:
        data = backend.call(
            "POST", _path(name, "proposals", quote(proposal_id, safe=""), "reject"), body=body
        )
    _print_proposal(data, output)
