"""Page script: Review queue (flagged items by failure cluster; approve, correct, reject)."""

from loopwise.dashboard.reviews_page import render_reviews
from loopwise.dashboard.settings import DashboardSettings

render_reviews(DashboardSettings.from_env())
