"""Signing in to the dashboard with an API key, and who the signed-in reviewer is.

The key comes from LOOPWISE_API_KEY or from the sign-in box in the sidebar (kept in this
browser session only). A project key names its holder, so the review queue records that name
as the reviewer; with the instance admin key, or a collector without keys, the reviewer types
a name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import streamlit as st

from .api import ApiError, CollectorUnreachable, RouteMissing
from .settings import DashboardSettings

KEY_STATE = "sign_in.api_key"
NEEDS_KEY = (
    "This collector needs an API key: sign in below, or start the dashboard with "
    "LOOPWISE\\_API\\_KEY set."
)


@dataclass(frozen=True)
class Identity:
    """The signed-in caller: ``name`` and ``project`` come from a project key."""

    admin: bool
    project: str | None = None
    role: str | None = None
    name: str | None = None


def signed_in_settings() -> tuple[DashboardSettings, Identity] | None:
    """Settings carrying the signed-in key and the identity behind it; draws the sign-in box
    and returns None while the collector refuses the key (or the lack of one)."""
    settings = DashboardSettings.from_env()
    typed = st.session_state.get(KEY_STATE)
    if isinstance(typed, str) and typed.strip():
        settings = dataclasses.replace(settings, api_key=typed.strip())
    try:
        with settings.connect() as api:
            who = api.whoami()
    except RouteMissing:
        return settings, Identity(admin=True)  # a collector from before API keys
    except CollectorUnreachable:
        return settings, Identity(admin=True)  # the page says so itself
    except ApiError as exc:
        if exc.status == 401:
            _sign_in_form(settings.api_key is not None)
            return None
        return settings, Identity(admin=True)
    identity = Identity(
        admin=bool(who.get("admin")),
        project=_text(who.get("project")),
        role=_text(who.get("role")),
        name=_text(who.get("name")),
    )
    if not identity.admin:
        st.sidebar.caption(f"Signed in as **{identity.name}** · project {identity.project}")
        if st.sidebar.button("Sign out", key="sign_in.out"):
            st.session_state.pop(KEY_STATE, None)
            st.rerun()
    return settings, identity


def _sign_in_form(had_key: bool) -> None:
    st.title("Sign in")
    if had_key:
        st.error("The collector refused this API key (wrong, revoked or missing).")
    else:
        st.info(NEEDS_KEY)
    with st.form("sign_in.form"):
        key = st.text_input("API key", type="password", help="From `loopwise keys create`.")
        if st.form_submit_button("Sign in") and key.strip():
            st.session_state[KEY_STATE] = key.strip()
            st.rerun()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


IDENTITY_STATE = "sign_in.identity"


def page_settings() -> DashboardSettings:
    """What every page script starts with: the settings of the signed-in session. Stops the
    page (showing the sign-in box) until the collector accepts the key."""
    signed = signed_in_settings()
    if signed is None:
        st.stop()
        raise RuntimeError("unreachable: st.stop() ends the script run")
    settings, identity = signed
    st.session_state[IDENTITY_STATE] = identity
    return settings


def current_identity() -> Identity:
    """The identity ``page_settings`` found for this run (admin when it did not run)."""
    identity = st.session_state.get(IDENTITY_STATE)
    return identity if isinstance(identity, Identity) else Identity(admin=True)
