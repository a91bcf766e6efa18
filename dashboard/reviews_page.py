"""The Review queue page: open review items, flagged ones first, grouped by failure cluster;
one item at a time with its span's input and output and the flags behind it; a verdict per
evaluator of its queue's rubric; approve, correct or reject it (or a whole cluster at once).

Every action goes to /api/reviews/{id}/actions with the version the reviewer saw
(``expected_version``): when someone else acted first the collector answers 409 and the page
says so and shows the item as it is now. After an action the next open item is shown.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .api import ApiError, CollectorAPI, Record, RouteMissing
from .cluster_labels import readable_label
from .queue_snapshots import forget_url_snapshot, put_snapshot_in_url, snapshot_in_url
from .render import escape_markdown, output_text
from .review_actions import (
    ACTOR_KEY,
    DEFAULT_ACTOR,
    KEY,
    assign_control,
    bulk_actions,
    current_actor,
    item_actions,
    item_version,
    show_outcome,
)
from .review_context import show_context, show_highlights
from .review_queue import (
    BY_CLUSTER,
    GROUPINGS,
    NEW_SINCE,
    QueueGroup,
    QueueProgress,
    QueueSnapshot,
    apply_snapshot,
    current_item,
    flags_of,
    group_items,
    item_label,
    queue_progress,
    reviewed_span,
    root_cause_note,
    skipped_last,
    take_snapshot,
)
from .review_verdicts import load_rubric, rubric_editor, verdict_controls
from .settings import DashboardSettings
from .sign_in import current_identity
from .widgets import collector_status, show_api_error, show_content

SNAPSHOT_KEY = f"{KEY}.snapshot"
SKIPPED_KEY = f"{KEY}.skipped"
SHORTCUTS = (
    "A approve · X reject · Alt+Enter submit the correction (Ctrl+Enter applies the box) · "
    "S skip · J next · K previous"
)
MAX_ITEMS = 500
MAX_FLAGS = 1000
FLAG_COLUMNS = {
    "rule": "rule",
    "severity": "severity",
    "evaluator": "evaluator",
    "value": "value",
    "reason": "reason",
    "cluster_label": "cluster",
}


def render_reviews(settings: DashboardSettings) -> None:
    """Draw the Review queue page."""
    st.title("Review queue")
    if collector_status(settings) is None:
        return
    show_outcome()
    identity = current_identity()
    if identity.name:
        # A project key names its holder; the collector records that name, not a typed one.
        st.session_state[ACTOR_KEY] = identity.name
        st.sidebar.markdown(f"Reviewing as **{escape_markdown(identity.name)}**")
        project = identity.project or ""
    else:
        st.sidebar.text_input("Reviewing as", value=DEFAULT_ACTOR, key=ACTOR_KEY)
        project = st.text_input("Project", key=f"{KEY}.project", placeholder="all projects")
    mine = st.toggle("Only items assigned to me", key=f"{KEY}.mine")
    actor = current_actor()
    with settings.connect() as api:
        try:
            items = api.review_items(
                project=project.strip() or None,
                assignee=actor if mine else None,
                limit=MAX_ITEMS,
            )
        except RouteMissing:
            st.info("The review queue is not available: this collector has no /api/reviews.")
            return
        except ApiError as exc:
            show_api_error(exc)
            return
        flags = _flags(api, project.strip() or None)
        grouping = st.radio(
            "Group by",
            list(GROUPINGS),
            format_func=GROUPINGS.__getitem__,
            horizontal=True,
            key=f"{KEY}.grouping",
        )
        by = str(grouping or BY_CLUSTER)
        scope = project.strip() + (f"\n{actor}" if mine else "")
        groups, progress = _stable_groups(items, flags, by, scope)
        if not groups:
            st.success(
                f"Nothing assigned to {actor} is open."
                if mine
                else "Nothing to review: every item has been handled."
            )
            return
        group = _choose_group(groups, GROUPINGS[by])
        group = skipped_last(group, st.session_state.get(SKIPPED_KEY, []))
        item = current_item(group, st.session_state.get(f"{KEY}.item"))
        if item is None:
            return
        bulk_actions(settings, group)
        _item(api, settings, group, item, flags, progress)


def _stable_groups(
    items: list[Record], flags: list[Record], by: str, project: str
) -> tuple[list[QueueGroup], QueueProgress]:
    """The queue as grouped when the reviewer loaded it (or last regrouped), so groups and
    counts do not shift under them between actions; arrivals wait in a group of their own.
    The snapshot's id is in the URL (``?queue=``), so a reload keeps the same queue. Also how
    much of that queue is decided."""
    scope = (by, project)
    snapshot = snapshot_in_url(by, project)
    kept = st.session_state.get(SNAPSHOT_KEY)
    if snapshot is None and isinstance(kept, tuple) and kept[0] == scope:
        # Back from another page (its URL had no queue id): the session's queue still holds.
        snapshot = kept[1] if isinstance(kept[1], QueueSnapshot) else None
        if snapshot is not None:
            put_snapshot_in_url(by, project, snapshot)
    if snapshot is None:
        groups = group_items(items, flags, by=by)
        snapshot = take_snapshot(groups, by)
        put_snapshot_in_url(by, project, snapshot)
    else:
        groups = apply_snapshot(snapshot, items)
    st.session_state[SNAPSHOT_KEY] = (scope, snapshot)
    arrived = sum(len(g.items) for g in groups if g.key == NEW_SINCE)
    if arrived:
        st.info(f"{arrived} item(s) arrived since the queue was loaded; they wait at the end.")
    st.button("Regroup the queue", key=f"{KEY}.regroup", on_click=_regroup)
    return groups, queue_progress(snapshot, items)


def _regroup() -> None:
    st.session_state.pop(SNAPSHOT_KEY, None)
    forget_url_snapshot()
    st.session_state.pop(SKIPPED_KEY, None)


def _flags(api: CollectorAPI, project: str | None) -> list[Record]:
    try:
        return api.flags(status="open", project=project, limit=MAX_FLAGS)
    except ApiError:  # no evaluation API: items still show, just without clusters
        st.caption("Flags are not available from this collector: items are not clustered.")
        return []


def _choose_group(groups: list[QueueGroup], chooser: str) -> QueueGroup:
    total = sum(len(g.items) for g in groups)
    noun = "group" if len(groups) == 1 else "groups"
    ranked = "flagged clusters" if chooser == GROUPINGS[BY_CLUSTER] else "steps with most items"
    order = f"held outputs first, then {ranked}" if groups[0].key == "held" else f"{ranked} first"
    st.caption(f"{total} open items in {len(groups)} {noun}; {order}.")
    st.dataframe(
        pd.DataFrame({"group": [g.label for g in groups], "open": [len(g.items) for g in groups]}),
        hide_index=True,
        width="stretch",
    )
    titles = [g.title for g in groups]
    chosen = st.selectbox(
        chooser, range(len(groups)), key=f"{KEY}.group", format_func=lambda i: titles[i]
    )
    return groups[chosen if isinstance(chosen, int) and chosen < len(groups) else 0]


def _item(
    api: CollectorAPI,
    settings: DashboardSettings,
    group: QueueGroup,
    item: Record,
    flags: list[Record],
    progress: QueueProgress,
) -> None:
    ids = [str(i["item_id"]) for i in group.items]
    labels = [item_label(i, flags) for i in group.items]
    st.session_state[f"{KEY}.position"] = ids.index(str(item["item_id"]))
    st.selectbox(
        f"Item ({len(ids)} in this group)",
        range(len(ids)),
        key=f"{KEY}.position",
        format_func=lambda i: f"{i + 1}. {labels[i]}",
        on_change=_pick,
        args=(ids,),
    )
    _navigation(ids, ids.index(str(item["item_id"])), progress)
    item_id = str(item["item_id"])
    behind = flags_of(item, flags)
    severity = behind[0].get("severity") if behind else item.get("severity")
    st.subheader("Item")
    st.text(
        f"source: {item.get('source')} · severity: {severity or '-'} · "
        f"evaluator: {item.get('evaluator') or '-'} · version {item.get('version')} · "
        f"trace {item.get('trace_id')}"
    )
    version = item_version(item)
    assign_control(settings, item_id, version, item.get("assignee"))
    note = root_cause_note(item, group.items)
    if note:
        st.info(note)
    st.caption("Why it is here")
    st.text(str(item.get("reason") or "(no reason given)"))
    if behind:
        st.caption(f"Flags on this span ({len(behind)}), most severe first")
        frame = pd.DataFrame([{k: f.get(k) for k in FLAG_COLUMNS} for f in behind])
        frame["cluster_label"] = frame["cluster_label"].map(
            lambda label: readable_label(label) if label else label
        )
        st.dataframe(frame.rename(columns=FLAG_COLUMNS), hide_index=True, width="stretch")
    explanations = [str(f.get("reason") or "") for f in behind] + [str(item.get("reason") or "")]
    output = (
        _held_content(item) if "held_output" in item else _span_content(api, item, explanations)
    )
    rubric = load_rubric(api, item_id)
    evaluators = verdict_controls(item_id, rubric)
    item_actions(settings, item_id, version, output, evaluators)
    rubric_editor(settings, rubric)


def _held_content(item: Record) -> str:
    """A held output travels with its item (its span ends after your decision)."""
    st.warning("A running workflow is waiting for this decision.")
    check = item.get("held_check")
    failed = check.get("failed") if isinstance(check, dict) else None
    explanations: list[str] = []
    if failed:
        scores = check.get("scores") if isinstance(check, dict) else None
        for name in failed:
            score = scores.get(name) if isinstance(scores, dict) else None
            why = (
                score.get("explanation") or score.get("error") if isinstance(score, dict) else None
            )
            st.text(f"failed {name}: {why or ''}")
            explanations.append(str(why or ""))
    show_content("Input", item.get("held_input"))
    show_content("Output", item.get("held_output"))
    output = item.get("held_output")
    if isinstance(output, str):
        show_highlights(output, explanations)
    return output if isinstance(output, str) else ""


def _navigation(ids: list[str], at: int, progress: QueueProgress) -> None:
    """Progress in the group and over the whole queue, and previous / skip / next (each
    with a key)."""
    st.caption(f"Item {at + 1} of {len(ids)} in this group · {progress.text}. Keys: {SHORTCUTS}.")
    previous, skip, following = st.columns(3)
    previous.button(
        "Previous",
        key=f"{KEY}.previous",
        shortcut="K",
        disabled=at == 0,
        on_click=_show,
        args=(ids[max(at - 1, 0)],),
    )
    skip.button(
        "Skip for now",
        key=f"{KEY}.skip",
        shortcut="S",
        disabled=len(ids) < 2,
        on_click=_skip,
        args=(ids, at),
    )
    following.button(
        "Next",
        key=f"{KEY}.next",
        shortcut="J",
        disabled=at == len(ids) - 1,
        on_click=_show,
        args=(ids[min(at + 1, len(ids) - 1)],),
    )


def _show(item_id: str) -> None:
    st.session_state[f"{KEY}.item"] = item_id


def _skip(ids: list[str], at: int) -> None:
    """Put the item at the end of its group (for this session) and show the next one."""
    skipped = [i for i in st.session_state.get(SKIPPED_KEY, []) if i != ids[at]]
    st.session_state[SKIPPED_KEY] = [*skipped, ids[at]]
    st.session_state[f"{KEY}.item"] = ids[(at + 1) % len(ids)]


def _pick(ids: list[str]) -> None:
    position = st.session_state.get(f"{KEY}.position")
    if isinstance(position, int) and 0 <= position < len(ids):
        st.session_state[f"{KEY}.item"] = ids[position]


def _span_content(api: CollectorAPI, item: Record, explanations: list[str]) -> str:
    try:
        detail = api.trace(str(item.get("trace_id")))
    except ApiError as exc:
        show_api_error(exc)
        return ""
    span = reviewed_span(detail.spans, item.get("span_id"))
    if span is None:
        st.info("The trace of this item has no spans in the store.")
        return ""
    failed = [
        str(score.get("explanation"))
        for score in detail.scores or []
        if score.get("span_id") == span.get("span_id")
        and score.get("passed") is False
        and score.get("explanation")
    ]
    show_context(detail, item, span, explanations + failed)
    st.caption("Span")
    st.text(f"{span.get('name')} ({span.get('kind') or 'span'})")
    show_content("Input", span.get("input"))
    show_content("Output", span.get("output"))
    return output_text(span.get("output"))
