"""Page script: the Overview (traffic, latency, tokens, cost, scores, open flags)."""

from loopwise.dashboard.overview_page import render
from loopwise.dashboard.settings import DashboardSettings

render(DashboardSettings.from_env())
