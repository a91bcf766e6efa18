"""The Sessions and Users pages: who and which conversations, most recently active first,
each linking to its traces on the Traces page (``traces?session=...``, ``traces?user=...``).

One API call per run (/api/sessions or /api/users, one page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from .api import ApiError, GroupPage, Record, RouteMissing
from .render import page_caption
from .settings import DashboardSettings
from .widgets import collector_status, show_api_error

PAGE_SIZES = (25, 50, 100)
TIME_FORMAT = "YYYY-MM-DD HH:mm:ss"


@dataclass(frozen=True)
class GroupKind:
    """What a page lists: the API's name for it, its id field and the Traces filter."""

    title: str
    endpoint: str
    id_field: str
    url_param: str
    columns: dict[str, str]
    """API field → column heading, in display order."""

    def key(self, name: str) -> str:
        """A widget key scoped to this page."""
        return f"{self.endpoint}.{name}"


SESSIONS = GroupKind(
    "Sessions",
    "sessions",
    "session_id",
    "session",
    {
        "session_id": "session",
        "trace_count": "traces",
        "users": "users",
        "first_seen": "first seen (UTC)",
        "last_seen": "last seen (UTC)",
        "traces_with_errors": "traces with errors",
        "total_tokens": "tokens",
        "cost_usd": "cost (USD)",
        "projects": "projects",
    },
)
USERS = GroupKind(
    "Users",
    "users",
    "user_id",
    "user",
    {
        "user_id": "user",
        "trace_count": "traces",
        "session_count": "sessions",
        "first_seen": "first seen (UTC)",
        "last_seen": "last seen (UTC)",
        "traces_with_errors": "traces with errors",
        "total_tokens": "tokens",
        "cost_usd": "cost (USD)",
        "projects": "projects",
    },
)


def group_frame(kind: GroupKind, rows: list[Record]) -> pd.DataFrame:
    """The table of one page: plain values, times parsed, and a link to the row's traces in
    the ``open`` column."""
    records: list[dict[str, Any]] = []
    for row in rows:
        record = {field: _plain(row.get(field)) for field in kind.columns}
        record["open"] = "traces?" + urlencode({kind.url_param: str(row.get(kind.id_field))})
        records.append(record)
    first, *rest = kind.columns
    frame = pd.DataFrame.from_records(records, columns=[first, "open", *rest])
    for field in ("first_seen", "last_seen"):
        frame[field] = pd.to_datetime(frame[field], errors="coerce", format="ISO8601", utc=True)
    return frame.rename(columns=kind.columns)


def _plain(value: object) -> object:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def render_sessions(settings: DashboardSettings) -> None:
    """Draw the Sessions page."""
    _render(settings, SESSIONS)


def render_users(settings: DashboardSettings) -> None:
    """Draw the Users page."""
    _render(settings, USERS)


def _render(settings: DashboardSettings, kind: GroupKind) -> None:
    st.title(kind.title)
    if collector_status(settings) is None:
        return
    project_column, size_column = st.columns([3, 1])
    project = project_column.text_input(
        "Project",
        key=kind.key("project"),
        placeholder="all projects",
        on_change=_go_to_page,
        args=(kind, 1),
    )
    size = size_column.selectbox(
        f"{kind.title} per page",
        PAGE_SIZES,
        key=kind.key("page_size"),
        on_change=_go_to_page,
        args=(kind, 1),
    )
    page = int(st.session_state.get(kind.key("page"), 1))
    with settings.connect() as api:
        try:
            listing = api.groups(
                kind.endpoint,
                project=project.strip() or None,
                limit=int(size),
                offset=(page - 1) * int(size),
            )
        except RouteMissing:
            st.info(f"{kind.title} are not available: this collector has no endpoint for them.")
            return
        except ApiError as exc:
            show_api_error(exc)
            return
    _pager(kind, page, int(size), listing)
    if not listing.rows:
        st.info(f"No {kind.endpoint} yet: spans carry them as session.id and user.id.")
        return
    st.dataframe(
        group_frame(kind, listing.rows),
        hide_index=True,
        width="stretch",
        column_config={
            "first seen (UTC)": st.column_config.DatetimeColumn(format=TIME_FORMAT),
            "last seen (UTC)": st.column_config.DatetimeColumn(format=TIME_FORMAT),
            "cost (USD)": st.column_config.NumberColumn(format="$%.4f"),
            "open": st.column_config.LinkColumn(display_text="open traces"),
        },
    )


def _go_to_page(kind: GroupKind, page: int) -> None:
    st.session_state[kind.key("page")] = max(page, 1)


def _pager(kind: GroupKind, page: int, size: int, listing: GroupPage) -> None:
    newer, older, position = st.columns([1, 1, 4], vertical_alignment="center")
    newer.button(
        "← Newer",
        key=kind.key("previous"),
        disabled=page <= 1,
        on_click=_go_to_page,
        args=(kind, page - 1),
    )
    older.button(
        "Older →",
        key=kind.key("next"),
        disabled=not listing.has_more,
        on_click=_go_to_page,
        args=(kind, page + 1),
    )
    position.caption(page_caption(page, size, listing.total, kind.endpoint))
