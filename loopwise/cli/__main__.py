"""``python -m loopwise.cli``: the same as the ``loopwise`` command."""

from loopwise.cli import main

main()
