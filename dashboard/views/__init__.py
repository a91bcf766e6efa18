"""Streamlit page scripts, run by ``st.navigation`` (see ``loopwise.dashboard.navigation``).

Each script draws one page when Streamlit runs it; do not import them.
"""
