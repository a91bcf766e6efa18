"""Page script: Runs (suite runs side by side, per-example regressions)."""

from loopwise.dashboard.runs_page import render_runs
from loopwise.dashboard.sign_in import page_settings

render_runs(page_settings())
