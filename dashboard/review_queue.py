"""The review queue's arrangement: open items grouped by failure cluster (or by the step of
their trace that went wrong first), held and flagged items first; within a group, the items of
one trace stay together with the root-cause item leading.

Pure functions over API records (review items from /api/reviews, flags from /api/flags), so
the grouping and the "next item" order are tested without Streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .api import Record
from .cluster_labels import readable_label

UNCLUSTERED = "unclustered"
HELD = "held"
NO_ROOT_CAUSE = "step:none"
BY_CLUSTER = "cluster"
BY_ROOT_CAUSE = "root_cause"
GROUPINGS = {BY_CLUSTER: "Failure cluster", BY_ROOT_CAUSE: "Step that went wrong first"}
"""The two ways to group the queue, with the label a chooser shows."""
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
"""Most severe first; a flag without a known severity comes last."""
SOURCE_GROUPS = (
    ("end_user", "End users' thumbs-down"),
    ("manual", "Picked by a person"),
)


@dataclass(frozen=True)
class QueueGroup:
    """One group of open items: a failure cluster, unclustered flags, or a non-flag source."""

    key: str
    label: str
    items: list[Record]
    flagged: bool

    @property
    def title(self) -> str:
        """The group as one line of plain text: label and count."""
        return f"{self.label} ({len(self.items)})"


def group_items(
    items: Iterable[Record], flags: Iterable[Record], by: str = BY_CLUSTER
) -> list[QueueGroup]:
    """Open items grouped for review: outputs a running workflow holds first (it is waiting),
    then flag clusters (largest first, then by label), then flagged items in no cluster, then
    each other source. ``by=BY_ROOT_CAUSE`` groups every non-held item by the step of its trace
    that went wrong first instead (largest first), so a team sees which step to fix. In each
    group the items of one trace stay together, the root-cause item first."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; expected one of {', '.join(GROUPINGS)}")
    cluster_of: dict[str, tuple[str, str]] = {}
    for flag in flags:
        cluster_id = flag.get("cluster_id")
        if flag.get("flag_id") and cluster_id:
            label = readable_label(flag.get("cluster_label") or cluster_id)
            cluster_of[str(flag["flag_id"])] = (f"cluster:{cluster_id}", label)
    groups: dict[str, QueueGroup] = {}
    for item in items:
        source = str(item.get("source") or "manual")
        ranked_group = source == "flag"
        if source == HELD:
            key, label = HELD, "Held by a running workflow (waiting for you)"
        elif by == BY_ROOT_CAUSE:
            key, label = _root_cause_group(item)
            ranked_group = key != NO_ROOT_CAUSE
        elif source == "flag":
            key, label = cluster_of.get(
                str(item.get("source_id")), (UNCLUSTERED, "Flagged, not in a cluster")
            )
        else:
            key, label = source, dict(SOURCE_GROUPS).get(source, source)
        group = groups.setdefault(key, QueueGroup(key, label, [], ranked_group))
        group.items.append(item)
    ranked = [g for g in groups.values() if g.flagged and g.key != UNCLUSTERED]
    ranked.sort(key=lambda g: (-len(g.items), g.label, g.key))
    tail = (UNCLUSTERED, NO_ROOT_CAUSE, *(s for s, _ in SOURCE_GROUPS))
    rest = [groups[k] for k in tail if k in groups]
    held = [groups[HELD]] if HELD in groups else []
    known = {g.key for g in held + ranked + rest}
    ordered = held + ranked + rest + [g for k, g in groups.items() if k not in known]
    return [QueueGroup(g.key, g.label, by_trace(g.items), g.flagged) for g in ordered]


def _root_cause_group(item: Record) -> tuple[str, str]:
    name = item.get("root_cause_name")
    if not item.get("root_cause_span_id"):
        return NO_ROOT_CAUSE, "No failing step found in the trace"
    return f"step:{name}", f"Went wrong first at step {name or '?'}"


def by_trace(items: Iterable[Record]) -> list[Record]:
    """``items`` with the items of one trace together (traces in the order they first appear),
    the item on the trace's root-cause span first, the others in their order."""
    traces: dict[str, list[Record]] = {}
    for item in items:
        traces.setdefault(str(item.get("trace_id")), []).append(item)
    return [
        item
        for members in traces.values()
        for item in sorted(members, key=lambda i: not is_root_cause(i))
    ]


def is_root_cause(item: Record) -> bool:
    """Whether the item is about the span of its trace that went wrong first."""
    cause = item.get("root_cause_span_id")
    return bool(cause) and item.get("span_id") == cause


def root_cause_note(item: Record, queue: Iterable[Record]) -> str | None:
    """One line placing the item in its trace: the step that went wrong first (and why) and how
    many open items of ``queue`` share the trace; None when no failing step is known."""
    cause = item.get("root_cause_span_id")
    if not cause:
        return None
    siblings = sum(1 for other in queue if other.get("trace_id") == item.get("trace_id"))
    reasons = ", ".join(str(r) for r in item.get("root_cause_reasons") or [])
    why = f" ({reasons})" if reasons else ""
    where = (
        "This item is the root cause of its trace"
        if is_root_cause(item)
        else f"Its trace went wrong first at step {item.get('root_cause_name') or '?'}"
    )
    more = f"; {siblings} open items in this trace" if siblings > 1 else ""
    return f"{where}{why}{more}."


def current_item(group: QueueGroup, chosen: str | None) -> Record | None:
    """The item to show: the one chosen if it is still open in ``group``, else the first
    (after an action the acted item leaves the queue, so this is the next one)."""
    for item in group.items:
        if item.get("item_id") == chosen:
            return item
    return group.items[0] if group.items else None


def flags_of(item: Record, flags: Iterable[Record]) -> list[Record]:
    """The flags behind an item: its own flag and every other flag on the same span, the
    most severe first (then by rule, and the item's own flag first among equals)."""
    own = item.get("source_id") if item.get("source") == "flag" else None
    span = item.get("span_id")
    found = [
        flag
        for flag in flags
        if flag.get("flag_id") == own
        or (flag.get("trace_id") == item.get("trace_id") and span and flag.get("span_id") == span)
    ]
    return sorted(
        found,
        key=lambda f: (
            severity_rank(f.get("severity")),
            f.get("flag_id") != own,
            str(f.get("rule") or ""),
            str(f.get("flag_id") or ""),
        ),
    )


def severity_rank(severity: object) -> int:
    """0 for high, 1 for medium, 2 for low, 3 for anything else."""
    return SEVERITY_RANK.get(str(severity), len(SEVERITY_RANK))


def item_label(item: Record, flags: Iterable[Record] = ()) -> str:
    """One line naming an item in a chooser (plain text, shortened): by the most severe of
    the flags on its span (``flags``: every open flag), else by its own severity and reason."""
    name = item.get("span_name") or item.get("trace_id") or "?"
    behind = flags_of(item, flags)
    if behind:
        worst = behind[0]
        severity = worst.get("severity")
        reason = f"{worst.get('rule') or '-'}: {worst.get('reason') or ''}"
        if len(behind) > 1:
            reason += f" (+{len(behind) - 1} more)"
    else:
        severity, reason = item.get("severity"), str(item.get("reason") or "")
    marker = "root cause · " if is_root_cause(item) else ""
    if not marker and item.get("root_cause_span_id"):
        marker = f"after {item.get('root_cause_name') or '?'} · "
    text = f"{marker}{name} · {severity or '-'} · {' '.join(reason.split())}"
    return text if len(text) <= 90 else text[:89] + "…"


def reviewed_span(spans: Iterable[Record], span_id: str | None) -> Record | None:
    """The span an item is about: ``span_id`` when given, else the trace's root span."""
    spans = list(spans)
    for span in spans:
        if span_id and span.get("span_id") == span_id:
            return span
    roots = [s for s in spans if not s.get("parent_span_id")]
    candidates = roots or spans
    return candidates[0] if candidates else None


@dataclass(frozen=True)
class QueueSnapshot:
    """The grouping a reviewer works on: which group each item was in when the queue was
    loaded, in order. Groups are not recomputed under the reviewer: an item keeps its group
    until they regroup, acted items leave it, and items that arrived since wait in a group of
    their own."""

    grouping: str
    groups: tuple[tuple[str, str, bool, tuple[str, ...]], ...]
    """Each group as (key, label, flagged, item ids in order)."""

    @property
    def item_ids(self) -> frozenset[str]:
        """Every item the snapshot placed."""
        return frozenset(i for *_, ids in self.groups for i in ids)


NEW_SINCE = "new"


def take_snapshot(groups: Iterable[QueueGroup], grouping: str = BY_CLUSTER) -> QueueSnapshot:
    """The snapshot of ``groups`` (as ``group_items`` made them)."""
    return QueueSnapshot(
        grouping,
        tuple(
            (g.key, g.label, g.flagged, tuple(str(i.get("item_id")) for i in g.items))
            for g in groups
        ),
    )


def apply_snapshot(snapshot: QueueSnapshot, items: Iterable[Record]) -> list[QueueGroup]:
    """The open ``items`` arranged as ``snapshot`` says: each in its snapshot group and place
    (empty groups dropped). Items the snapshot does not know come in a group of their own at
    the end, except held outputs, which join the held group first (a workflow waits)."""
    by_id = {str(i.get("item_id")): i for i in items}
    known = snapshot.item_ids
    new = [i for item_id, i in by_id.items() if item_id not in known]
    new_held = [i for i in new if i.get("source") == HELD]
    groups = [
        QueueGroup(key, label, [by_id[i] for i in ids if i in by_id], flagged)
        for key, label, flagged, ids in snapshot.groups
    ]
    if new_held:
        held = next((g for g in groups if g.key == HELD), None)
        if held is None:
            held = QueueGroup(HELD, "Held by a running workflow (waiting for you)", [], False)
            groups.insert(0, held)
        held.items.extend(new_held)
    rest = [i for i in new if i.get("source") != HELD]
    if rest:
        label = "New since the queue was loaded (regroup to sort them in)"
        groups.append(QueueGroup(NEW_SINCE, label, rest, False))
    return [g for g in groups if g.items]


@dataclass(frozen=True)
class QueueProgress:
    """How far the reviewer is through the queue they loaded: of the ``total`` items its
    snapshot placed, ``decided`` are no longer open (acted on here or by anyone else)."""

    decided: int
    total: int

    @property
    def text(self) -> str:
        """The progress as the page says it: ``5 of 41 decided in this queue``."""
        return f"{self.decided} of {self.total} decided in this queue"


def queue_progress(snapshot: QueueSnapshot, items: Iterable[Record]) -> QueueProgress:
    """Progress over the whole snapshotted queue, given the items open now. Items that
    arrived since the snapshot are not part of it (they wait in a group of their own)."""
    open_now = {str(i.get("item_id")) for i in items}
    placed = snapshot.item_ids
    return QueueProgress(len(placed - open_now), len(placed))


def skipped_last(group: QueueGroup, skipped: Iterable[str]) -> QueueGroup:
    """``group`` with the items the reviewer skipped moved to its end, in the order skipped."""
    order = {item_id: n for n, item_id in enumerate(skipped)}
    kept = [i for i in group.items if str(i.get("item_id")) not in order]
    later = sorted(
        (i for i in group.items if str(i.get("item_id")) in order),
        key=lambda i: order[str(i.get("item_id"))],
    )
    return QueueGroup(group.key, group.label, kept + later, group.flagged)
