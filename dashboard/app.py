"""Streamlit entry script of the loopwise dashboard: ``streamlit run <app_path()>``.

Streamlit runs this file as a script (not as a module), so imports are absolute. Each page
is a function taking the dashboard settings; add a page by adding it to ``PAGES``.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from loopwise.dashboard import traces_page
from loopwise.dashboard.settings import DashboardSettings

PageRenderer = Callable[[DashboardSettings], None]

PAGES: list[tuple[str, str, str, PageRenderer]] = [
    ("Traces", "traces", ":material/account_tree:", traces_page.render),
]
"""(title, URL path, icon, renderer) of every page; the first is the default."""


def _page(render: PageRenderer) -> Callable[[], None]:
    def run() -> None:
        render(DashboardSettings.from_env())

    return run


def main() -> None:
    """Configure the browser tab, then run the page the user is on."""
    st.set_page_config(page_title="loopwise", page_icon=":material/loop:", layout="wide")
    pages = [
        st.Page(_page(render), title=title, url_path=path, icon=icon, default=index == 0)
        for index, (title, path, icon, render) in enumerate(PAGES)
    ]
    st.navigation(pages).run()


main()
