"""Page script: Sessions (most recently active first, each linking to its traces)."""

from loopwise.dashboard.groups_page import render_sessions
from loopwise.dashboard.sign_in import page_settings

render_sessions(page_settings())
