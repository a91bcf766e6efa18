"""Page script: Prompts (versions, labels, diffs, proposals to adopt)."""

from loopwise.dashboard.prompts_page import render_prompts
from loopwise.dashboard.sign_in import page_settings

render_prompts(page_settings())
