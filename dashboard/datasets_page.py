"""The Datasets page: every dataset, the versions of one, the examples of a version (a page
at a time) and what changed between two versions.

Examples are user and model text: they are shown in tables and code blocks, never as
Markdown. Reads only: datasets change through the API, the SDK or ``loopwise dataset``.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from .api import ApiError, CollectorAPI, Record, RouteMissing
from .render import page_count
from .settings import DashboardSettings
from .widgets import collector_status, show_api_error

NO_DATASETS = (
    "No datasets yet: turn reviewed corrections into one with "
    "`loopwise dataset create NAME --from-corrections`, or import examples with "
    "`loopwise dataset import`."
)
KEY = "datasets"
EXAMPLES_PER_PAGE = 25
CELL_CHARS = 300


def example_frame(examples: list[Record]) -> pd.DataFrame:
    """Examples as a table of plain text: id, input, expected, metadata, source trace."""
    rows = [
        {
            "example": e.get("example_id"),
            "input": cell(e.get("input")),
            "expected": cell(e.get("expected")),
            "metadata": cell(e.get("metadata") or None),
            "source trace": e.get("source_trace_id"),
        }
        for e in examples
    ]
    return pd.DataFrame(rows, columns=["example", "input", "expected", "metadata", "source trace"])


def cell(value: object) -> str:
    """A value as one line of readable text for a table cell, shortened: text as itself, an
    object as ``key: value`` pairs, chat messages as ``role: content``, other structures as
    JSON."""
    if value is None:
        return ""
    text = " ".join(readable(value).split())
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def readable(value: object) -> str:
    """``value`` as text a person reads without unescaping it (see ``cell``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(_is_message(m) for m in value):
        return " · ".join(f"{m['role']}: {readable(m['content'])}" for m in value)
    if isinstance(value, dict) and value:
        return " · ".join(f"{key}: {_inline(item)}" for key, item in value.items())
    return _inline(value)


def _inline(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _is_message(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("role"), str) and "content" in value


def page_of(items: list[Any], page: int, size: int = EXAMPLES_PER_PAGE) -> list[Any]:
    """The ``page``-th slice (1-based) of ``items``; pages past the end are clamped."""
    pages = page_count(len(items), size)
    page = min(max(page, 1), pages)
    return items[(page - 1) * size : page * size]


def render_datasets(settings: DashboardSettings) -> None:
    """Draw the Datasets page."""
    st.title("Datasets")
    if collector_status(settings) is None:
        return
    with settings.connect() as api:
        try:
            datasets = api.datasets()
        except RouteMissing:
            st.info("Datasets are not available: this collector has no /api/datasets.")
            return
        except ApiError as exc:
            show_api_error(exc)
            return
        if not datasets:
            st.info(NO_DATASETS)
            return
        st.dataframe(_listing(datasets), hide_index=True, width="stretch")
        names = [str(d.get("dataset")) for d in datasets]
        name = st.selectbox("Dataset", names, key=f"{KEY}.name")
        if name is not None:
            _dataset(api, str(name))


def _listing(datasets: list[Record]) -> pd.DataFrame:
    columns = {
        "dataset": "dataset",
        "version": "latest version",
        "example_count": "examples",
        "author": "author",
        "created_at": "changed (UTC)",
        "description": "description",
    }
    frame = pd.DataFrame([{k: d.get(k) for k in columns} for d in datasets], columns=list(columns))
    return frame.rename(columns=columns)


def _dataset(api: CollectorAPI, name: str) -> None:
    try:
        versions = api.dataset_versions(name)
    except ApiError as exc:
        show_api_error(exc)
        return
    numbers = [int(v["version"]) for v in versions if isinstance(v.get("version"), int)]
    if not numbers:
        st.info("This dataset has no versions.")
        return
    st.subheader("Versions")
    columns = ["version", "example_count", "author", "created_at", "message"]
    st.dataframe(
        pd.DataFrame([{k: v.get(k) for k in columns} for v in versions], columns=columns),
        hide_index=True,
        width="stretch",
    )
    examples, diff = st.tabs(["Examples", "Compare versions"])
    with examples:
        _examples(api, name, numbers)
    with diff:
        _diff(api, name, numbers)


def _examples(api: CollectorAPI, name: str, numbers: list[int]) -> None:
    version = st.selectbox("Version", numbers[::-1], key=f"{KEY}.version.{name}")
    try:
        found = api.dataset_version(name, int(version or numbers[-1]))
    except ApiError as exc:
        show_api_error(exc)
        return
    examples: list[Record] = found["examples"]
    pages = page_count(len(examples), EXAMPLES_PER_PAGE)
    page = st.number_input(
        "Page", min_value=1, max_value=pages, value=1, step=1, key=f"{KEY}.page.{name}.{version}"
    )
    st.caption(f"{len(examples)} examples · page {int(page)} of {pages}")
    st.dataframe(example_frame(page_of(examples, int(page))), hide_index=True, width="stretch")


def _diff(api: CollectorAPI, name: str, numbers: list[int]) -> None:
    if len(numbers) < 2:
        st.info("Only one version so far: nothing to compare.")
        return
    left, right = st.columns(2)
    old = left.selectbox("From version", numbers, index=len(numbers) - 2, key=f"{KEY}.from.{name}")
    new = right.selectbox("To version", numbers, index=len(numbers) - 1, key=f"{KEY}.to.{name}")
    try:
        diff = api.dataset_diff(name, int(old or numbers[0]), int(new or numbers[-1]))
    except ApiError as exc:
        show_api_error(exc)
        return
    added, removed = diff.get("added") or [], diff.get("removed") or []
    changed = diff.get("changed") or []
    st.caption(
        f"{len(added)} added · {len(removed)} removed · {len(changed)} changed · "
        f"{diff.get('unchanged', 0)} unchanged"
    )
    for title, rows in (("Added", added), ("Removed", removed)):
        if rows:
            st.subheader(title)
            st.dataframe(example_frame(rows), hide_index=True, width="stretch")
    if changed:
        st.subheader("Changed")
        pairs = [
            {
                "input": cell(c["before"].get("input")),
                "expected before": cell(c["before"].get("expected")),
                "expected after": cell(c["after"].get("expected")),
            }
            for c in changed
        ]
        st.dataframe(pd.DataFrame(pairs), hide_index=True, width="stretch")
