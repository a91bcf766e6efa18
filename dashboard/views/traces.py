"""Page script: Traces (search, the span tree and timeline, span details)."""

from loopwise.dashboard.sign_in import page_settings
from loopwise.dashboard.traces_page import render

render(page_settings())
