"""How the dashboard is started: the ``streamlit run`` command line ``loopwise up`` uses."""

from __future__ import annotations

import sys
from pathlib import Path

TOOLBAR_MODE = "minimal"
"""Streamlit's toolbar: ``minimal`` hides the Deploy button and the developer menu."""

STREAMLIT_OPTIONS: dict[str, str] = {
    "server.headless": "true",
    "browser.gatherUsageStats": "false",
    "global.developmentMode": "false",
    "client.toolbarMode": TOOLBAR_MODE,
}
"""Options every run of the dashboard gets."""


def streamlit_command(app: Path, host: str, port: int, **options: str) -> list[str]:
    """The command running the dashboard script ``app`` on ``host``:``port``; ``options``
    (Streamlit option names with ``_`` for ``.``, e.g. ``server_fileWatcherType``) are added
    or override the defaults."""
    chosen = {**STREAMLIT_OPTIONS, "server.address": host, "server.port": str(port)}
    chosen.update({name.replace("_", ".", 1): value for name, value in options.items()})
    command = [sys.executable, "-m", "streamlit", "run", str(app)]
    for name, value in chosen.items():
        command += [f"--{name}", value]
    return command
