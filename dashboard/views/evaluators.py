"""Page script: Evaluators (score distributions, judge calibration against people)."""

from loopwise.dashboard.evaluators_page import render_evaluators
from loopwise.dashboard.sign_in import page_settings

render_evaluators(page_settings())
