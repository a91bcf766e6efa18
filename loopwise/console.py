"""The ``loopwise`` console script: the command line, or, in an install without the server
part (``pip install loopwise`` for an application), one line saying what to install."""

from __future__ import annotations

import sys

from loopwise.collector.extras import install_hint


def main() -> None:
    """Run the command line (``loopwise.cli``)."""
    try:
        from loopwise.cli import main as run
    except ModuleNotFoundError as error:
        hint = install_hint(error, "the loopwise command line")
        if hint is None:
            raise
        print(f"error: {hint}", file=sys.stderr)
        raise SystemExit(1) from None
    run()
