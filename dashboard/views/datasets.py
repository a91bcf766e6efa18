"""Page script: Datasets (versions, examples, differences between versions)."""

from loopwise.dashboard.datasets_page import render_datasets
from loopwise.dashboard.sign_in import page_settings

render_datasets(page_settings())
