"""Page script: Users (most recently active first, each linking to their traces)."""

from loopwise.dashboard.groups_page import render_users
from loopwise.dashboard.settings import DashboardSettings

render_users(DashboardSettings.from_env())
