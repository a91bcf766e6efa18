"""``python -m loopwise``: the same as the ``loopwise`` command."""

from loopwise.console import main

main()
