"""The review item's verdicts per evaluator, by its queue's rubric, and the rubric itself.

A review queue is a project's items; its rubric names the evaluators a reviewer gives a
verdict on (``loopwise.feedback.rubrics``). With none set, an item offers the evaluators
whose flags are on it. Each evaluator gets one choice, not judged / pass / fail; approve and
correct send the chosen ones with the action (``review_actions``), and they become the human
scores that judge calibration and reviewer agreement count. The rubric is shown, and can be
changed, in an expander beside the choices.
"""

from __future__ import annotations

import re

import streamlit as st

from .api import ApiError, CollectorAPI, CollectorUnreachable, Record, RouteMissing
from .render import escape_markdown
from .review_actions import KEY, VERDICT_CHOICES, current_actor, verdict_key
from .settings import DashboardSettings
from .widgets import show_api_error

RUBRIC_OUTCOME_KEY = f"{KEY}.rubric_outcome"
SEPARATORS = re.compile(r"[\s,]+")


def load_rubric(api: CollectorAPI, item_id: str) -> Record | None:
    """The item's rubric from the collector; None (after a note) when it has none to give."""
    try:
        return api.item_rubric(item_id)
    except RouteMissing:
        st.caption("This collector has no review rubrics: verdicts per evaluator are not offered.")
    except ApiError as exc:
        show_api_error(exc)
    return None


def verdict_controls(item_id: str, rubric: Record | None) -> tuple[str, ...]:
    """One not judged / pass / fail choice per evaluator of the item's rubric; returns the
    evaluators, whose choices approve and correct send."""
    if rubric is None:
        return ()
    evaluators = tuple(e for e in rubric.get("evaluators") or () if isinstance(e, str) and e)
    project = str(rubric.get("project") or "")
    st.subheader("Verdicts")
    st.caption("One per evaluator, recorded with approve or correct.")
    if rubric.get("source") == "rubric":
        where = f"The rubric of project {project} (version {rubric.get('rubric_version')})."
    else:
        where = (
            f"No rubric is set for project {project}: the evaluators whose flags are on this item."
        )
    st.caption(escape_markdown(where))
    implied = rubric.get("implied")
    if isinstance(implied, str) and implied:
        st.caption(
            escape_markdown(
                f"Left at not judged, {implied} (it opened this item) gets pass when you "
                "approve and fail when you correct."
            )
        )
    if not evaluators:
        st.caption("Nothing to judge here: no rubric and no flags name an evaluator.")
    for name in evaluators:
        st.radio(
            escape_markdown(name),
            VERDICT_CHOICES,
            key=verdict_key(item_id, name),
            horizontal=True,
        )
    return evaluators


def rubric_editor(settings: DashboardSettings, rubric: Record | None) -> None:
    """The rubric of the item's project, to set (evaluator names) or clear (the default)."""
    _show_rubric_outcome()
    if rubric is None or not rubric.get("project"):
        return
    project = str(rubric["project"])
    is_set = rubric.get("source") == "rubric"
    version = rubric.get("rubric_version")
    seen = version if isinstance(version, int) else 0
    with st.expander(escape_markdown(f"Rubric of project {project}")):
        current = ", ".join(str(e) for e in rubric.get("evaluators") or ()) if is_set else ""
        st.text_input(
            "Evaluators reviewers give a verdict on, in order",
            value=current,
            key=_names_key(project),
            placeholder="e.g. refusal, helpfulness",
        )
        save, default = st.columns(2)
        save.button(
            "Save rubric",
            key=f"{KEY}.rubric_save",
            on_click=_set,
            args=(settings, project, seen, False),
        )
        default.button(
            "Back to the default (each item's flags)",
            key=f"{KEY}.rubric_clear",
            disabled=not is_set,
            on_click=_set,
            args=(settings, project, seen, True),
        )


def _names_key(project: str) -> str:
    return f"{KEY}.rubric.{project}"


def _set(settings: DashboardSettings, project: str, seen: int, clear: bool) -> None:
    typed = str(st.session_state.get(_names_key(project)) or "")
    names = [name for name in SEPARATORS.split(typed) if name]
    if not clear and not names:
        _say("error", "Name at least one evaluator, or go back to the default.")
        return
    try:
        with settings.connect() as api:
            answer = api.set_rubric(
                project,
                actor=current_actor(),
                evaluators=None if clear else names,
                clear=clear,
                expected_version=seen,
            )
    except CollectorUnreachable:
        _say("error", f"The collector at {settings.endpoint} did not answer: nothing changed.")
        return
    except ApiError as exc:
        if exc.status == 409:
            _say("warning", "Not saved: someone changed this rubric meanwhile; here it is now.")
        else:
            _say("error", f"The rubric was not saved (HTTP {exc.status}): {exc}")
        return
    st.session_state.pop(_names_key(project), None)
    if clear:
        _say("success", f"Project {project} is back to the default rubric.")
        return
    text = f"Rubric of project {project} saved: {', '.join(answer.get('evaluators') or names)}."
    for warning in answer.get("warnings") or ():
        text += f" Note: {warning}."
    _say("success", text)


def _say(kind: str, text: str) -> None:
    st.session_state[RUBRIC_OUTCOME_KEY] = (kind, text)


def _show_rubric_outcome() -> None:
    outcome = st.session_state.pop(RUBRIC_OUTCOME_KEY, None)
    if not isinstance(outcome, tuple) or len(outcome) != 2:
        return
    kind, text = outcome
    show = {"success": st.success, "warning": st.warning}.get(str(kind), st.error)
    show(escape_markdown(text))  # it may echo names and the collector's message
