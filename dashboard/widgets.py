"""Streamlit pieces every page shares: the collector status line, API errors, span content.

Strings from the API never reach a Markdown-rendering call unescaped: they are shown with
``st.text``/``st.code``/``st.dataframe``, or passed through ``escape_markdown``.
"""

from __future__ import annotations

import streamlit as st

from .api import ApiError, CollectorAPI, CollectorUnreachable, Record
from .render import content_block, escape_markdown
from .settings import DashboardSettings

HEALTH_CACHE_S = 15
"""How long a health report is reused, so a page costs one API call for its own data."""

TALL_CONTENT_CHARS = 2000
TALL_CONTENT_LINES = 20
TALL_CONTENT_HEIGHT_PX = 400


@st.cache_data(ttl=HEALTH_CACHE_S, show_spinner=False)
def _cached_health(endpoint: str, api_key: str | None, timeout_s: float) -> Record:
    with CollectorAPI(endpoint, api_key, timeout_s) as api:
        return api.health()


def collector_status(settings: DashboardSettings) -> Record | None:
    """Show the collector's URL, status and version under the title; None (after showing
    the error) when it does not answer."""
    try:
        health = _cached_health(settings.endpoint, settings.api_key, settings.timeout_s)
    except ApiError as exc:
        show_api_error(exc)
        return None
    line = (
        f"Collector {settings.endpoint} · {health.get('status', '?')} · "
        f"version {health.get('version', '?')} · {health.get('rows_written', 0)} spans written "
        "since it started"
    )
    st.caption(escape_markdown(line))
    return health


def show_api_error(exc: ApiError) -> None:
    """Show an API failure as one clear error box (escaped: the message may echo input)."""
    if isinstance(exc, CollectorUnreachable):
        message = str(exc)[:1].upper() + str(exc)[1:]
    else:
        message = f"Collector answered {exc.status}: {exc}"
    if exc.status == 401:
        message += ". Set LOOPWISE_API_KEY to the collector's API key."
    st.error(escape_markdown(message), icon=":material/error:")


def show_content(heading: str, value: object) -> None:
    """A static ``heading`` over span content (input, output…) shown verbatim in a code block."""
    st.caption(heading)
    block = content_block(value)
    tall = len(block.text) > TALL_CONTENT_CHARS or block.text.count("\n") > TALL_CONTENT_LINES
    st.code(
        block.text,
        language=block.language,
        wrap_lines=True,
        height=TALL_CONTENT_HEIGHT_PX if tall else "content",
    )


def show_json_text(heading: str, value: object) -> None:
    """A static ``heading`` over a JSON column (attributes, resource…); nothing when empty."""
    if value in (None, "", "null", "{}", "[]"):
        return
    show_content(heading, value)
