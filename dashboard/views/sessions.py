"""Page script: Sessions (most recently active first, each linking to its traces)."""

from loopwise.dashboard.groups_page import render_sessions
from loopwise.dashboard.settings import DashboardSettings

render_sessions(DashboardSettings.from_env())
