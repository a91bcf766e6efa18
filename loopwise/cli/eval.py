"""``loopwise eval``: the evaluation sub-commands, one module each, assembled here.

Add a command with ``app.command("name")(module.function)``.
"""

from __future__ import annotations

import typer

from . import eval_run, eval_score

app = typer.Typer(
    name="eval",
    help="Evaluate: re-score stored spans, run evaluation suites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("score")(eval_score.score)
app.command("run")(eval_run.run)

__all__ = ["app"]
