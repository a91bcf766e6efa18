"""Page script: Runs (suite runs side by side, per-example regressions)."""

from loopwise.dashboard.runs_page import render_runs
from loopwise.dashboard.settings import DashboardSettings

render_runs(DashboardSettings.from_env())
