"""The ``loopwise`` command line: one module per command, assembled here."""

from __future__ import annotations

import typer

from . import collect, demo, sql, up

app = typer.Typer(
    name="loopwise",
    help="Collect, evaluate and improve AI workflows. Everything binds to 127.0.0.1 by default.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("up")(up.up)
app.command("collect")(collect.collect)
app.command("demo")(demo.demo)
app.command("sql")(sql.sql)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
