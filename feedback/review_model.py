"""Review items: what they are, their states and actions, and their table schemas.

An item is opened once (from a flag, an end user's thumbs-down or a person's pick) and then
only gains events. States::

    open ──approve──► approved     the output is right as it is (a flag on it was a false alarm)
         ──correct──► corrected    the output was wrong; a correction holds the right one
         ──reject───► rejected     dismissed without a verdict (not reviewable, duplicate, spam)
    approved | corrected | rejected ──reopen──► open

A *held* item (``loopwise.hold`` in a running workflow) starts in ``held``: the workflow is
waiting for the decision, so it comes first in the queue. approve, correct and reject release
it exactly as they close an open item, and the waiting workflow gets the decision.

``assign`` (open items) and ``comment`` (any state) keep the state. Every event carries the
item's new version (1 for the opening event); an action sent with a stale
``expected_version`` is refused with a conflict, so two reviewers never overwrite each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pyarrow as pa

State = Literal["held", "open", "approved", "corrected", "rejected"]
Action = Literal["open", "assign", "comment", "approve", "correct", "reject", "reopen"]
Source = Literal["flag", "manual", "end_user", "held"]

STATES: tuple[State, ...] = ("held", "open", "approved", "corrected", "rejected")
AWAITING: tuple[State, ...] = ("held", "open")
ACTIONS: tuple[Action, ...] = ("assign", "comment", "approve", "correct", "reject", "reopen")
SOURCES: tuple[Source, ...] = ("flag", "manual", "end_user", "held")
CLOSING: dict[str, State] = {"approve": "approved", "correct": "corrected", "reject": "rejected"}

ITEM_SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("project", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("source", pa.string()),
        ("source_id", pa.string()),
        ("reason", pa.string()),
        ("severity", pa.string()),
        ("evaluator", pa.string()),
        ("created_by", pa.string()),
        ("created_at", pa.timestamp("us")),
    ]
)
EVENT_SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("version", pa.int32()),
        ("event_id", pa.string()),
        ("action", pa.string()),
        ("state", pa.string()),
        ("assignee", pa.string()),
        ("actor", pa.string()),
        ("comment", pa.string()),
        ("correction_id", pa.string()),
        ("created_at", pa.timestamp("us")),
    ]
)


def next_state(current: str, action: str) -> str | None:
    """The state after ``action`` from ``current``; None when the action is not allowed."""
    if action == "comment":
        return current
    if action == "assign":
        return current if current in AWAITING else None
    if action in CLOSING:
        return CLOSING[action] if current in AWAITING else None
    if action == "reopen":
        return "open" if current not in AWAITING else None
    return None


@dataclass(frozen=True)
class ReviewItem:
    """A review item with its current (derived) state."""

    item_id: str
    project: str
    trace_id: str
    span_id: str | None
    source: str
    source_id: str | None
    reason: str | None
    severity: str | None
    evaluator: str | None
    created_by: str
    created_at: dt.datetime
    state: str
    assignee: str | None
    version: int
    updated_at: dt.datetime
    span_name: str | None = None
    root_cause_span_id: str | None = None
    """The span of the item's trace that went wrong first (see collector/store/root_cause)."""
    root_cause_name: str | None = None
    root_cause_reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        view = asdict(self)
        view["root_cause_reasons"] = list(self.root_cause_reasons)
        return view


@dataclass(frozen=True)
class ReviewEvent:
    """One entry of an item's history."""

    item_id: str
    version: int
    event_id: str
    action: str
    state: str
    assignee: str | None
    actor: str
    comment: str | None
    correction_id: str | None
    created_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return asdict(self)
