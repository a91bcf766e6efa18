"""Page script: Review queue (flagged items by failure cluster; approve, correct, reject)."""

from loopwise.dashboard.reviews_page import render_reviews
from loopwise.dashboard.sign_in import page_settings

render_reviews(page_settings())
