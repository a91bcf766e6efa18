"""The dashboard's pages and links between them.

Each page is a small script in ``views/`` (so ``st.page_link`` and Streamlit's test harness
can address it by path) that calls the page module's ``render``. Add a page by adding its
script and a ``PageSpec`` here; ``SECTIONS`` orders the sidebar.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from .render import escape_markdown


@dataclass(frozen=True)
class PageSpec:
    """One page: sidebar title, script (relative to app.py), URL path, icon and section."""

    title: str
    script: str
    url_path: str
    icon: str
    section: str


SECTIONS = ("Monitor", "Improve")
"""Sidebar sections in order; "Improve" holds the review queue, datasets, prompts and
judge calibration as their pages arrive."""

HOME_URL_PATH = "start"
"""The hidden default page served at the root: it opens the first page (``/`` and
``/overview`` both show the Overview, and the sidebar marks it)."""

PAGES: tuple[PageSpec, ...] = (
    PageSpec("Overview", "views/overview.py", "overview", ":material/monitoring:", "Monitor"),
    PageSpec("Traces", "views/traces.py", "traces", ":material/account_tree:", "Monitor"),
    PageSpec("Sessions", "views/sessions.py", "sessions", ":material/forum:", "Monitor"),
    PageSpec("Users", "views/users.py", "users", ":material/group:", "Monitor"),
    PageSpec("Review queue", "views/reviews.py", "reviews", ":material/rate_review:", "Improve"),
    PageSpec("Datasets", "views/datasets.py", "datasets", ":material/dataset:", "Improve"),
    PageSpec("Prompts", "views/prompts.py", "prompts", ":material/edit_note:", "Improve"),
    PageSpec("Evaluators", "views/evaluators.py", "evaluators", ":material/rule:", "Improve"),
    PageSpec("Runs", "views/runs.py", "runs", ":material/compare_arrows:", "Improve"),
)
"""Every page; the first is where the root URL leads."""


def page(url_path: str) -> PageSpec:
    """The page served at ``url_path``; ``KeyError`` when there is none."""
    for spec in PAGES:
        if spec.url_path == url_path:
            return spec
    raise KeyError(url_path)


def build_navigation() -> dict[str, list[st.Page]]:
    """``st.Page`` objects grouped by section, for ``st.navigation``. Every page keeps its
    own URL path (Streamlit serves its default page only at the root, so a default Overview
    would answer ``/overview`` with "Page not found"); the default is a hidden page that
    switches to the first one, keeping the query parameters."""
    sections: dict[str, list[st.Page]] = {}
    for spec in PAGES:
        entry = st.Page(spec.script, title=spec.title, url_path=spec.url_path, icon=spec.icon)
        sections.setdefault(spec.section, []).append(entry)
    home = st.Page(
        _open_first_page,
        title=PAGES[0].title,
        url_path=HOME_URL_PATH,
        default=True,
        visibility="hidden",
    )
    sections[PAGES[0].section].insert(0, home)
    return {name: sections[name] for name in SECTIONS if name in sections}


def _open_first_page() -> None:
    st.switch_page(PAGES[0].script, query_params=st.query_params.to_dict() or None)


def link(url_path: str, label: str, icon: str | None = None, **query: str) -> None:
    """A link to another page with query parameters; ``label`` is shown as plain text."""
    st.page_link(
        page(url_path).script,
        label=escape_markdown(label),
        icon=icon,
        query_params=query or None,
    )
