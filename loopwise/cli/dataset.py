"""``loopwise dataset``: versioned datasets: create from spans or corrections, add, remove,
diff, import and export JSONL/CSV/Parquet, and save/load the ``datasets/<name>/`` folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from loopwise.feedback import (
    FeedbackError,
    FieldMapping,
    NotFound,
    parse_examples,
    read_dataset_dir,
    read_examples_file,
    save_dataset_dir,
    write_examples_file,
)

from .common import fail
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
from .target import TargetTyper

app = TargetTyper(
    help="Versioned example sets: every change is a new version; old ones stay readable.",
    no_args_is_help=True,
)
VERSION_COLUMNS = ("dataset", "version", "example_count", "author", "created_at", "message")
WhereOption = Annotated[
    str | None,
    typer.Option("--where", help="Add spans matching this SQL condition, e.g. \"name = 'x'\"."),
]
SqlOption = Annotated[
    str | None,
    typer.Option("--sql", help="Add the rows of this SELECT (columns input, expected, ...)."),
]
CorrectionsOption = Annotated[
    bool, typer.Option("--from-corrections", help="Add corrections (all, or --prompt's).")
]
CorrectionIdOption = Annotated[
    list[str] | None, typer.Option("--correction", help="Add this correction (repeatable).")
]
PromptOption = Annotated[
    str | None, typer.Option("--prompt", help="With --from-corrections: this prompt's spans.")
]
CorrectionsProjectOption = Annotated[
    str | None,
    typer.Option("--project", help="With --from-corrections: only this project's corrections."),
]
DuplicateOption = Annotated[
    str, typer.Option("--on-duplicate", help="error, skip or replace (same input twice).")
]
MessageOption = Annotated[str | None, typer.Option("--message", "-m", help="Why this change.")]


def _path(name: str, *rest: str) -> str:
    return "/".join(["/api/datasets", quote(name, safe=""), *rest])


def _sources(
    where: str | None,
    sql: str | None,
    from_corrections: bool,
    correction: list[str] | None,
    prompt: str | None,
    project: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if where:
        body["from_spans"] = {"where": where}
    if sql:
        body["from_sql"] = sql
    if correction:
        body["from_corrections"] = {"ids": correction}
    elif from_corrections or prompt or project:
        body["from_corrections"] = {"prompt": prompt, "project": project}
    return body


def _print_change(change: dict[str, Any], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        print_json(change)
    elif change.get("created", True):
        print_text(
            f"{change['dataset']} version {change['version']}: {change['example_count']} "
            f"examples (+{change.get('added', 0)} -{change.get('removed', 0)} "
            f"~{change.get('replaced', 0)}, {change.get('skipped', 0)} skipped)"
        )
    else:
        print_text(f"{change['dataset']} unchanged at version {change['version']}")


@app.command("list")
def list_datasets(
    output: FormatOption = OutputFormat.table,
) -> None:
    """Every dataset at its latest version."""
    with open_backend() as backend:
        rows = backend.call("GET", "/api/datasets")["datasets"]
    print_json(rows) if output is OutputFormat.json else print_table(rows, VERSION_COLUMNS)


@app.command("show")
def show(
    name: str,
    version: Annotated[int | None, typer.Option("--version", "-v", min=1)] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """The examples of one version (default: the latest)."""
    with open_backend() as backend:
        data = backend.call("GET", _path(name), query={"version": version})
    if output is OutputFormat.json:
        print_json(data)
        return
    header = data["version"]
    title = f"{header['dataset']} version {header['version']}"
    print_table(
        data["examples"], ("example_id", "input", "expected", "source_span_id"), title=title
    )


@app.command("versions")
def versions(
    name: str,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Every version of a dataset: who, when, why."""
    with open_backend() as backend:
        rows = backend.call("GET", _path(name, "versions"))["versions"]
    print_json(rows) if output is OutputFormat.json else print_table(rows, VERSION_COLUMNS)


@app.command("create")
def create(
    name: str,
    description: Annotated[str | None, typer.Option("--description")] = None,
    where: WhereOption = None,
    sql: SqlOption = None,
    from_corrections: CorrectionsOption = False,
    correction: CorrectionIdOption = None,
    prompt: PromptOption = None,
    project: CorrectionsProjectOption = None,
    on_duplicate: DuplicateOption = "error",
    message: MessageOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Create a dataset (version 1), from spans, a query or corrections (or empty)."""
    body = {
        "name": name,
        "description": description,
        "message": message,
        "on_duplicate": on_duplicate,
        "actor": actor_name(actor),
        **_sources(where, sql, from_corrections, correction, prompt, project),
    }
    with open_backend() as backend:
        change = backend.call("POST", "/api/datasets", body=body)
    _print_change(change, output)


@app.command("add")
def add(
    name: str,
    where: WhereOption = None,
    sql: SqlOption = None,
    from_corrections: CorrectionsOption = False,
    correction: CorrectionIdOption = None,
    prompt: PromptOption = None,
    project: CorrectionsProjectOption = None,
    on_duplicate: DuplicateOption = "error",
    message: MessageOption = None,
    expect: ExpectOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Add examples as a new version."""
    sources = _sources(where, sql, from_corrections, correction, prompt, project)
    if not sources:
        fail("say what to add: --where, --sql, --from-corrections or --correction", code=2)
    body = {
        "message": message,
        "on_duplicate": on_duplicate,
        "expected_version": expect,
        "actor": actor_name(actor),
        **sources,
    }
    with open_backend() as backend:
        change = backend.call("POST", _path(name, "versions"), body=body)
    _print_change(change, output)


@app.command("remove")
def remove(
    name: str,
    example_ids: Annotated[list[str], typer.Argument(help="Example ids to remove.")],
    message: MessageOption = None,
    expect: ExpectOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Remove examples as a new version."""
    body = {
        "remove": example_ids,
        "message": message,
        "expected_version": expect,
        "actor": actor_name(actor),
    }
    with open_backend() as backend:
        change = backend.call("POST", _path(name, "versions"), body=body)
    _print_change(change, output)


@app.command("diff")
def diff(
    name: str,
    old: Annotated[int | None, typer.Option("--from", min=1, help="Default: to - 1.")] = None,
    new: Annotated[int | None, typer.Option("--to", min=1, help="Default: latest.")] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """What changed between two versions."""
    with open_backend() as backend:
        data = backend.call("GET", _path(name, "diff"), query={"from": old, "to": new})
    if output is OutputFormat.json:
        print_json(data)
        return
    print_text(
        f"{data['dataset']}: version {data['from_version']} → {data['to_version']}, "
        f"{data['unchanged']} unchanged"
    )
    for example in data["added"]:
        print_text(f"+ {example['example_id']}  {str(example['input'])[:100]}", "green")
    for example in data["removed"]:
        print_text(f"- {example['example_id']}  {str(example['input'])[:100]}", "red")
    for pair in data["changed"]:
        print_text(
            f"~ {pair['before']['example_id']} → {pair['after']['example_id']}  "
            f"expected: {str(pair['after']['expected'])[:100]}",
            "yellow",
        )


@app.command("import")
def import_file(
    name: str,
    path: Annotated[Path, typer.Argument(help="A .jsonl, .csv or .parquet file.")],
    file_format: Annotated[
        str | None, typer.Option("--format", help="jsonl, csv or parquet (default: suffix).")
    ] = None,
    input_field: Annotated[
        list[str] | None, typer.Option("--input", help="Field(s) holding the input.")
    ] = None,
    expected_field: Annotated[
        list[str] | None, typer.Option("--expected", help="Field(s) holding the expected output.")
    ] = None,
    metadata_field: Annotated[
        list[str] | None,
        typer.Option("--metadata", help="Field(s) kept as metadata (default: all others)."),
    ] = None,
    on_duplicate: DuplicateOption = "error",
    message: MessageOption = None,
    expect: ExpectOption = None,
    actor: ActorOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Import examples from a file: a new dataset, or a new version of an existing one.
    The whole file is checked first; a bad record stores nothing."""
    if file_format not in (None, "jsonl", "csv", "parquet"):
        fail("--format must be jsonl, csv or parquet", code=2)
    mapping = FieldMapping(
        input=input_field or (), expected=expected_field or (), metadata=metadata_field
    )
    try:
        examples = read_examples_file(path, file_format, mapping)  # type: ignore[arg-type]
    except FeedbackError as exc:
        fail(exc.message)
    rows = [e.to_dict() for e in examples]
    body: dict[str, Any] = {
        "examples": rows,
        "message": message or f"imported {path.name}",
        "on_duplicate": on_duplicate,
        "actor": actor_name(actor),
    }
    with open_backend() as backend:
        try:
            backend.call("GET", _path(name, "versions"))
            body["expected_version"] = expect
            change = backend.call("POST", _path(name, "versions"), body=body)
        except NotFound:
            change = backend.call("POST", "/api/datasets", body={"name": name, **body})
    _print_change(change, output)


@app.command("export")
def export(
    name: str,
    path: Annotated[Path, typer.Argument(help="Output .jsonl, .csv or .parquet file.")],
    version: Annotated[int | None, typer.Option("--version", "-v", min=1)] = None,
    file_format: Annotated[str | None, typer.Option("--format")] = None,
) -> None:
    """Write one version's examples to a file."""
    if file_format not in (None, "jsonl", "csv", "parquet"):
        fail("--format must be jsonl, csv or parquet", code=2)
    with open_backend() as backend:
        data = backend.call("GET", _path(name), query={"version": version})
        examples = parse_examples(data["examples"])
        write_examples_file(examples, path, file_format)  # type: ignore[arg-type]
    print_text(
        f"wrote {len(examples)} examples of {name} version {data['version']['version']} to {path}"
    )


@app.command("save")
def save(
    name: str,
    directory: Annotated[Path, typer.Option("--dir", help="Parent folder.")] = Path("datasets"),
) -> None:
    """Write the dataset with all its versions to DIR/NAME/ (manifest.json, examples.jsonl)."""
    with open_backend() as backend:
        snapshot = backend.call("GET", _path(name, "snapshot"))
    folder = save_dataset_dir(snapshot, directory)
    latest = snapshot["manifest"]["latest_version"]
    print_text(f"saved {name} (versions 1-{latest}) to {folder}")


@app.command("load")
def load(
    folder: Annotated[Path, typer.Argument(help="A dataset folder with manifest.json.")],
) -> None:
    """Store the versions a dataset folder holds that the store lacks."""
    with open_backend() as backend:
        snapshot = read_dataset_dir(folder)
        result = backend.call("POST", "/api/datasets/snapshot", body=snapshot)
    restored = result["restored"]
    print_text(
        f"{result['dataset']}: restored version(s) {restored or 'none'}; "
        f"latest is {result['latest_version']}"
    )
