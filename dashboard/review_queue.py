"""The review queue's arrangement: open items grouped by failure cluster, flagged items first.

Pure functions over API records (review items from /api/reviews, flags from /api/flags), so
the grouping and the "next item" order are tested without Streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .api import Record

UNCLUSTERED = "unclustered"
HELD = "held"
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


def group_items(items: Iterable[Record], flags: Iterable[Record]) -> list[QueueGroup]:
    """Open items grouped for review: outputs a running workflow holds first (it is waiting),
    then flag clusters (largest first, then by label), then flagged items in no cluster, then
    each other source. Items keep their order."""
    cluster_of: dict[str, tuple[str, str]] = {}
    for flag in flags:
        cluster_id = flag.get("cluster_id")
        if flag.get("flag_id") and cluster_id:
            label = str(flag.get("cluster_label") or cluster_id)
            cluster_of[str(flag["flag_id"])] = (f"cluster:{cluster_id}", label)
    groups: dict[str, QueueGroup] = {}
    for item in items:
        source = str(item.get("source") or "manual")
        if source == "flag":
            key, label = cluster_of.get(
                str(item.get("source_id")), (UNCLUSTERED, "Flagged, not in a cluster")
            )
        elif source == HELD:
            key, label = HELD, "Held by a running workflow (waiting for you)"
        else:
            key, label = source, dict(SOURCE_GROUPS).get(source, source)
        group = groups.setdefault(key, QueueGroup(key, label, [], source == "flag"))
        group.items.append(item)
    ranked = [g for g in groups.values() if g.flagged and g.key != UNCLUSTERED]
    ranked.sort(key=lambda g: (-len(g.items), g.label, g.key))
    rest = [groups[k] for k in (UNCLUSTERED, *(s for s, _ in SOURCE_GROUPS)) if k in groups]
    held = [groups[HELD]] if HELD in groups else []
    known = {g.key for g in held + ranked + rest}
    return held + ranked + rest + [g for k, g in groups.items() if k not in known]


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
    return sorted(found, key=lambda f: (
        severity_rank(f.get("severity")), f.get("flag_id") != own, str(f.get("rule") or ""),
        str(f.get("flag_id") or ""),
    ))  # fmt: skip


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
    text = f"{name} · {severity or '-'} · {' '.join(reason.split())}"
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
