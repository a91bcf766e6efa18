"""Streamlit entry script of the loopwise dashboard: ``streamlit run <app_path()>``.

Streamlit runs this file as a script (not as a module), so imports are absolute. The pages
are listed in ``loopwise.dashboard.navigation.PAGES``.
"""

from __future__ import annotations

import streamlit as st

from loopwise.dashboard.launch import TOOLBAR_MODE
from loopwise.dashboard.navigation import build_navigation


def main() -> None:
    """Configure the browser tab, then run the page the user is on."""
    st.set_page_config(page_title="loopwise", page_icon=":material/loop:", layout="wide")
    # No "Deploy" button and no developer menu in a local tool. The browser learns this
    # option when a session starts, so it holds from the second session of a process; the
    # command line (``loopwise up``, launch.streamlit_command) sets it from the first.
    st.set_option("client.toolbarMode", TOOLBAR_MODE)
    st.navigation(build_navigation()).run()


main()
