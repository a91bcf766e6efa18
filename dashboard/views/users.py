"""Page script: Users (most recently active first, each linking to their traces)."""

from loopwise.dashboard.groups_page import render_users
from loopwise.dashboard.sign_in import page_settings

render_users(page_settings())
