"""The ``loopwise`` command line: one module per command, assembled here."""

from __future__ import annotations

import typer

from . import (
    archive,
    audit,
    calibrate,
    collect,
    dataset,
    delete,
    demo,
    keys,
    lake,
    prompt,
    review,
    sql,
    up,
    worker,
)
from . import eval as eval_commands

app = typer.Typer(
    name="loopwise",
    help="Collect, evaluate and improve AI workflows. Everything binds to 127.0.0.1 by default.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
app.command("up")(up.up)
app.command("collect")(collect.collect)
app.command("demo")(demo.demo)
app.command("sql")(sql.sql)
app.command("delete")(delete.delete)
app.command("export")(archive.export)
app.command("import")(archive.import_)
app.command("migrate")(lake.migrate_command)
app.command("worker")(worker.worker)
app.add_typer(review.app, name="review")
app.add_typer(dataset.app, name="dataset")
app.add_typer(prompt.app, name="prompt")
app.add_typer(calibrate.app, name="calibrate")
app.add_typer(eval_commands.app, name="eval")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(lake.app, name="lake")


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
