"""Page script: Prompts (versions, labels, diffs, proposals to adopt)."""

from loopwise.dashboard.prompts_page import render_prompts
from loopwise.dashboard.settings import DashboardSettings

render_prompts(DashboardSettings.from_env())
