"""Page script: the Overview (traffic, latency, tokens, cost, scores, open flags)."""

from loopwise.dashboard.overview_page import render
from loopwise.dashboard.sign_in import page_settings

render(page_settings())
