"""Page script: Datasets (versions, examples, differences between versions)."""

from loopwise.dashboard.datasets_page import render_datasets
from loopwise.dashboard.settings import DashboardSettings

render_datasets(DashboardSettings.from_env())
