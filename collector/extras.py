"""Which optional part of loopwise a missing module belongs to, and how to install it.

``pip install loopwise`` is the SDK alone; the collector, the store, the evaluators and the
SDK's local mode need ``loopwise[server]``, the dashboard ``loopwise[dashboard]``
(pyproject.toml lists both). A command or mode that lacks its part says which to install.
"""

from __future__ import annotations

SERVER_MODULES = frozenset(
    {
        "duckdb",
        "pandas",
        "pyarrow",
        "numpy",
        "fastapi",
        "pydantic",
        "starlette",
        "uvicorn",
        "httptools",
        "orjson",
        "sklearn",
        "scipy",
        "jsonschema",
        "tenacity",
        "fastapi_offline",
    }
)
DASHBOARD_MODULES = frozenset({"streamlit", "plotly"})


def extra_for(error: ModuleNotFoundError) -> str | None:
    """``server`` or ``dashboard`` when ``error`` is about a module of that extra."""
    top = (error.name or "").split(".", 1)[0]
    if top in SERVER_MODULES:
        return "server"
    if top in DASHBOARD_MODULES:
        return "dashboard"
    return None


def install_hint(error: ModuleNotFoundError, needed_for: str) -> str | None:
    """One sentence telling how to install what ``needed_for`` lacks; None when the missing
    module is not one of loopwise's optional parts (a real bug, to be raised as it is)."""
    extra = extra_for(error)
    if extra is None:
        return None
    return (
        f"{needed_for} needs loopwise's {extra} part ({error.name} is not installed): "
        f"pip install 'loopwise[{extra}]'"
    )
