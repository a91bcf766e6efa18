"""Page script: Traces (search, the span tree and timeline, span details)."""

from loopwise.dashboard.settings import DashboardSettings
from loopwise.dashboard.traces_page import render

render(DashboardSettings.from_env())
