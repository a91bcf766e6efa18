"""The Prompts page: every prompt, its versions and labels, the diff between two versions,
and the proposals waiting for a decision, each with its diff and an Adopt button.

A proposal becomes a version only when a person adopts it: Adopt asks for a confirmation,
and only the confirmation calls /api/prompts/{name}/proposals/{id}/adopt. Templates,
diffs and rationales are shown as code or plain text.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .api import ApiError, CollectorAPI, CollectorUnreachable, Record, RouteMissing
from .settings import DashboardSettings
from .widgets import collector_status, show_api_error

KEY = "prompts"
CONFIRM_KEY = f"{KEY}.confirm"
OUTCOME_KEY = f"{KEY}.outcome"
ACTOR = "dashboard"


def render_prompts(settings: DashboardSettings) -> None:
    """Draw the Prompts page."""
    st.title("Prompts")
    if collector_status(settings) is None:
        return
    outcome = st.session_state.pop(OUTCOME_KEY, None)
    if isinstance(outcome, tuple):
        show = st.success if outcome[0] == "success" else st.warning
        show(str(outcome[1]))  # the collector's words in it are escaped
    with settings.connect() as api:
        try:
            prompts = api.prompts()
        except RouteMissing:
            st.info("Prompts are not available: this collector has no /api/prompts.")
            return
        except ApiError as exc:
            show_api_error(exc)
            return
        if not prompts:
            st.info("No prompts yet: register one with the SDK or the API.")
            return
        rows = [
            {
                "prompt": p.get("name"),
                "latest version": p.get("latest_version"),
                "versions": p.get("versions"),
                "labels": _labels(p.get("labels")),
            }
            for p in prompts
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        name = st.selectbox("Prompt", [str(p.get("name")) for p in prompts], key=f"{KEY}.name")
        if name is not None:
            _prompt(api, settings, str(name))


def _labels(labels: object) -> str:
    if not isinstance(labels, dict):
        return ""
    return ", ".join(f"{label} → v{version}" for label, version in sorted(labels.items()))


def _prompt(api: CollectorAPI, settings: DashboardSettings, name: str) -> None:
    try:
        found = api.prompt_versions(name)
        proposals = api.prompt_proposals(name)
    except ApiError as exc:
        show_api_error(exc)
        return
    versions: list[Record] = [v for v in found.get("versions") or [] if isinstance(v, dict)]
    numbers = [int(v["version"]) for v in versions if isinstance(v.get("version"), int)]
    pending = [p for p in proposals if p.get("status") == "open"]
    tabs = st.tabs(["Versions", "Compare versions", f"Proposals ({len(pending)} pending)"])
    with tabs[0]:
        _versions(versions)
    with tabs[1]:
        _diff(api, name, numbers)
    with tabs[2]:
        _proposals(settings, name, pending)


def _versions(versions: list[Record]) -> None:
    rows = [
        {
            "version": v.get("version"),
            "labels": ", ".join(v.get("labels") or []),
            "author": v.get("author"),
            "created (UTC)": v.get("created_at"),
            "message": v.get("message"),
            "from proposal": v.get("proposal_id"),
        }
        for v in reversed(versions)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    numbers = [v.get("version") for v in reversed(versions)]
    shown = st.selectbox("Show the template of version", numbers, key=f"{KEY}.template")
    for version in versions:
        if version.get("version") == shown:
            st.code(str(version.get("template") or ""), language=None, wrap_lines=True)


def _diff(api: CollectorAPI, name: str, numbers: list[int]) -> None:
    if len(numbers) < 2:
        st.info("Only one version so far: nothing to compare.")
        return
    left, right = st.columns(2)
    old = left.selectbox("From version", numbers, index=len(numbers) - 2, key=f"{KEY}.from")
    new = right.selectbox("To version", numbers, index=len(numbers) - 1, key=f"{KEY}.to")
    try:
        diff = api.prompt_diff(name, int(old or numbers[0]), int(new or numbers[-1]))
    except ApiError as exc:
        show_api_error(exc)
        return
    st.code(str(diff.get("diff") or "(the templates are the same)"), language="diff")
    params = diff.get("model_params")
    if params:
        st.caption("Model parameters that changed")
        st.json(params)


def _proposals(settings: DashboardSettings, name: str, pending: list[Record]) -> None:
    if not pending:
        st.info("No proposals waiting: they are made from reviewers' corrections.")
        return
    for proposal in pending:
        proposal_id = str(proposal.get("proposal_id"))
        st.subheader(f"Proposal from version {proposal.get('base_version')}")
        st.text(f"{proposal_id} · by {proposal.get('author')} · {proposal.get('created_at')}")
        st.caption("Rationale")
        st.text(str(proposal.get("rationale") or "(none given)"))
        st.code(str(proposal.get("diff") or ""), language="diff")
        if st.session_state.get(CONFIRM_KEY) != proposal_id:
            st.button(
                "Adopt…", key=f"{KEY}.adopt.{proposal_id}", on_click=_ask, args=(proposal_id,)
            )
            continue
        st.warning("Adopting makes this proposal the prompt's next version. Are you sure?")
        yes, no = st.columns(2)
        yes.button(
            "Confirm adoption",
            key=f"{KEY}.confirm.{proposal_id}",
            type="primary",
            on_click=_adopt,
            args=(settings, name, proposal_id),
        )
        no.button("Cancel", key=f"{KEY}.cancel.{proposal_id}", on_click=_ask, args=(None,))


def _ask(proposal_id: str | None) -> None:
    st.session_state[CONFIRM_KEY] = proposal_id


def _adopt(settings: DashboardSettings, name: str, proposal_id: str) -> None:
    st.session_state.pop(CONFIRM_KEY, None)
    try:
        with settings.connect() as api:
            version = api.adopt_proposal(name, proposal_id, ACTOR)
    except CollectorUnreachable:
        st.session_state[OUTCOME_KEY] = ("warning", "Not adopted: the collector did not answer.")
        return
    except ApiError as exc:
        reason = (
            "it was decided or the prompt changed meanwhile"
            if exc.status == 409
            else (f"the collector answered HTTP {exc.status}")
        )
        st.session_state[OUTCOME_KEY] = ("warning", f"Not adopted: {reason}.")
        return
    st.session_state[OUTCOME_KEY] = ("success", f"Adopted as version {version.get('version')}.")
