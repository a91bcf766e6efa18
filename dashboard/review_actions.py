"""The review queue's actions: approve, correct and reject one item, approve or reject a
whole group, each a button whose callback calls /api/reviews/{id}/actions. Approve and correct
carry the reviewer's verdict per rubric evaluator (``review_verdicts`` draws the choices).

Callbacks get the item id and version from the run that drew the button, so an action
always applies to the item the reviewer saw at the version they saw; a 409 (someone else
acted first) is reported, never retried. The outcome shows once, on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from .api import ApiError, CollectorUnreachable, Record
from .review_queue import QueueGroup
from .settings import DashboardSettings

KEY = "reviews"
ACTOR_KEY = f"{KEY}.actor"
OUTCOME_KEY = f"{KEY}.outcome"
DEFAULT_ACTOR = "dashboard"
CONFLICT_NOTE = (
    "Not applied: someone else changed this item while you were looking at it. The queue "
    "has been reloaded; if the item is still open it is shown as it is now."
)
DONE = {"approve": "Approved.", "reject": "Rejected.", "correct": "Correction saved."}
NOT_JUDGED = "not judged"
VERDICT_CHOICES = (NOT_JUDGED, "pass", "fail")
"""What a reviewer can say per rubric evaluator; ``not judged`` sends no verdict."""
REJECT_WITH_VERDICTS = (
    "Not rejected: a rejected item records no verdicts. Set them back to not judged, or "
    "approve or correct the item."
)


@dataclass(frozen=True)
class Outcome:
    """What the last action did, shown once after the page reloads."""

    kind: str  # "success", "warning" or "error"
    text: str


def show_outcome() -> None:
    """Show (once) the outcome of the action the reviewer just took."""
    outcome = st.session_state.pop(OUTCOME_KEY, None)
    if not isinstance(outcome, Outcome):
        return
    show = {"success": st.success, "warning": st.warning}.get(outcome.kind, st.error)
    show(outcome.text)  # the page's own words and counts, never API text


def item_actions(
    settings: DashboardSettings,
    item_id: str,
    version: int,
    output: str,
    evaluators: tuple[str, ...] = (),
) -> None:
    """Approve, reject (with a reason) and correct (the output, prefilled, and a reason);
    approve and correct send the verdicts chosen for ``evaluators`` (the item's rubric)."""
    st.subheader("Decision")
    approve, reject = st.columns(2)
    approve.button(
        "Approve: the output is right",
        key=f"{KEY}.approve",
        type="primary",
        shortcut="A",
        on_click=_act,
        args=(settings, item_id, version, "approve", "", evaluators),
    )
    reject.text_input("Reason to reject", key=f"{KEY}.reject_reason.{item_id}")
    reject.button(
        "Reject",
        key=f"{KEY}.reject",
        shortcut="X",
        on_click=_act,
        args=(settings, item_id, version, "reject", "", evaluators),
    )
    st.caption("Correct: write the right output")
    st.text_area("Corrected output", value=output, height=160, key=f"{KEY}.corrected.{item_id}")
    st.text_input("Reason for the correction", key=f"{KEY}.correct_reason.{item_id}")
    st.button(
        "Submit correction",
        key=f"{KEY}.correct",
        shortcut="Alt+Enter",  # Ctrl+Enter is the text box's own "apply"
        on_click=_act,
        args=(settings, item_id, version, "correct", output, evaluators),
    )


def assign_control(
    settings: DashboardSettings, item_id: str, version: int, assignee: object
) -> None:
    """Who the item is assigned to, and a box to assign it (empty: unassign)."""
    person, button = st.columns([3, 1], vertical_alignment="bottom")
    person.text_input(
        "Assigned to",
        value=str(assignee or ""),
        key=f"{KEY}.assignee.{item_id}",
        placeholder="nobody: type a reviewer's name",
    )
    button.button(
        "Assign", key=f"{KEY}.assign", on_click=_act, args=(settings, item_id, version, "assign")
    )


def bulk_actions(settings: DashboardSettings, group: QueueGroup) -> None:
    """Approve or reject every item of a flagged group of two or more, each at the version
    shown; items someone else changed meanwhile are left alone and counted."""
    if not group.flagged or len(group.items) < 2:
        return
    seen = [(str(i["item_id"]), item_version(i)) for i in group.items]
    with st.expander(f"Act on all {len(seen)} items of this group"):
        st.text_input("Reason (required to reject)", key=f"{KEY}.bulk_reason")
        left, right = st.columns(2)
        left.button(
            f"Approve all {len(seen)}",
            key=f"{KEY}.bulk_approve",
            on_click=_bulk,
            args=(settings, seen, "approve"),
        )
        right.button(
            f"Reject all {len(seen)}",
            key=f"{KEY}.bulk_reject",
            on_click=_bulk,
            args=(settings, seen, "reject"),
        )


def item_version(item: Record) -> int:
    """The item's version as the collector sent it (0 when missing)."""
    version = item.get("version")
    return version if isinstance(version, int) else 0


def current_actor() -> str:
    """The reviewer's name as typed (trimmed), or the default when none is given."""
    name = st.session_state.get(ACTOR_KEY)
    return name.strip() if isinstance(name, str) and name.strip() else DEFAULT_ACTOR


def verdict_key(item_id: str, evaluator: str) -> str:
    """The session key of the verdict choice for ``evaluator`` on one item."""
    return f"{KEY}.verdict.{item_id}.{evaluator}"


def given_verdicts(item_id: str, evaluators: tuple[str, ...]) -> dict[str, str]:
    """The verdicts the reviewer chose on the item, ``{evaluator: "pass" | "fail"}``; the
    evaluators left at not judged are left out."""
    chosen = {name: st.session_state.get(verdict_key(item_id, name)) for name in evaluators}
    return {name: str(v) for name, v in chosen.items() if v in VERDICT_CHOICES[1:]}


def _say(kind: str, text: str) -> None:
    st.session_state[OUTCOME_KEY] = Outcome(kind, text)


def _act(
    settings: DashboardSettings,
    item_id: str,
    version: int,
    action: str,
    original: str = "",
    evaluators: tuple[str, ...] = (),
) -> None:
    fields: dict[str, object] = {}
    verdicts = given_verdicts(item_id, evaluators)
    if action == "reject" and verdicts:
        _say("error", REJECT_WITH_VERDICTS)
        return
    if action in ("approve", "correct") and verdicts:
        fields["verdicts"] = verdicts
    if action == "assign":
        fields["assignee"] = str(st.session_state.get(f"{KEY}.assignee.{item_id}") or "").strip()
    if action == "reject":
        reason = str(st.session_state.get(f"{KEY}.reject_reason.{item_id}") or "").strip()
        if not reason:
            _say("error", "Say why you reject it: the reason is required.")
            return
        fields["comment"] = reason
    if action == "correct":
        corrected = str(st.session_state.get(f"{KEY}.corrected.{item_id}") or "")
        if not corrected.strip():
            _say("error", "The corrected output is empty.")
            return
        if corrected == original:
            _say("error", "The corrected output is the same as the original: approve instead.")
            return
        reason = str(st.session_state.get(f"{KEY}.correct_reason.{item_id}") or "").strip()
        fields.update(corrected_output=corrected, comment=reason or None)
    try:
        with settings.connect() as api:
            api.review_action(
                item_id, action, actor=current_actor(), expected_version=version, **fields
            )
    except CollectorUnreachable:
        _say("error", f"The collector at {settings.endpoint} did not answer: nothing changed.")
        return
    except ApiError as exc:
        if exc.status == 409:
            st.session_state[f"{KEY}.item"] = item_id
            _say("warning", CONFLICT_NOTE)
        else:
            _say("error", f"The collector refused the action (HTTP {exc.status}).")
        return
    if action == "assign":  # still open: the reviewer stays on it
        st.session_state[f"{KEY}.item"] = item_id
        who = fields["assignee"]
        _say("success", f"Assigned to {who}." if who else "Unassigned.")
        return
    st.session_state.pop(f"{KEY}.item", None)
    given = f" {len(verdicts)} verdict(s) recorded." if "verdicts" in fields else ""
    _say("success", f"{DONE[action]}{given} Showing the next item.")


def _bulk(settings: DashboardSettings, seen: list[tuple[str, int]], action: str) -> None:
    reason = str(st.session_state.get(f"{KEY}.bulk_reason") or "").strip()
    if action == "reject" and not reason:
        _say("error", "Say why you reject them: the reason is required.")
        return
    done, stale, failed = 0, 0, 0
    with settings.connect() as api:
        for item_id, version in seen:
            try:
                api.review_action(
                    item_id,
                    action,
                    actor=current_actor(),
                    expected_version=version,
                    comment=reason or None,
                )
                done += 1
            except CollectorUnreachable:
                failed += 1
            except ApiError as exc:
                stale += exc.status == 409
                failed += exc.status != 409
    verb = "Approved" if action == "approve" else "Rejected"
    text = f"{verb} {done} of {len(seen)} items."
    if stale:
        text += f" {stale} were changed by someone else meanwhile and were left as they are."
    if failed:
        text += f" {failed} failed."
    st.session_state.pop(f"{KEY}.item", None)
    _say("success" if done == len(seen) else "warning", text)
