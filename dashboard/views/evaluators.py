"""Page script: Evaluators (score distributions, judge calibration against people)."""

from loopwise.dashboard.evaluators_page import render_evaluators
from loopwise.dashboard.settings import DashboardSettings

render_evaluators(DashboardSettings.from_env())
