"""Outputs a running workflow holds for a person (``loopwise.hold``), and their decisions.

A held item is a review item in the ``held`` state whose output travels with it (the step's
span is usually not stored yet: it ends after the decision). Holding is idempotent on the
workflow's ``hold_id``, so a client retrying after a lost answer gets the same item. The
decision is read from the item's latest event: approved (the held output stands), corrected
(the reviewer's output), rejected, or still held.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from loopwise.collector.store import Store

from .common import insert_records, optional_text, required_text, stable_id, utcnow
from .corrections import list_corrections
from .errors import FeedbackError
from .review_model import EVENT_SCHEMA, ITEM_SCHEMA
from .review_queries import get_item
from .reviews import _event
from .spans import check_span_id, check_trace_id

MAX_HELD_CHARS = 1_000_000
HELD_SCHEMA_COLUMNS = (
    "item_id",
    "project",
    "trace_id",
    "span_id",
    "input",
    "output",
    "check_result",
    "created_at",
)
DECISIONS = {"approved": "approved", "corrected": "corrected", "rejected": "rejected"}


@dataclass(frozen=True)
class Decision:
    """What a person decided about a held item; ``action`` is "held" while undecided."""

    item_id: str
    action: str
    output: str | None
    version: int
    decided_by: str | None
    comment: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "item_id": self.item_id,
            "action": self.action,
            "output": self.output,
            "version": self.version,
            "decided_by": self.decided_by,
            "comment": self.comment,
        }


def held_output(
    store: Store,
    *,
    hold_id: Any,
    project: Any,
    trace_id: Any,
    span_id: Any = None,
    output: Any,
    input: Any = None,
    reason: Any = None,
    check: Any = None,
    actor: Any = None,
) -> dict[str, Any]:
    """Open (or find again, by ``hold_id``) a held review item carrying ``output``."""
    hold_key = required_text(hold_id, "hold_id", 200)
    where = required_text(project, "project", 200)
    trace = check_trace_id(trace_id)
    span = check_span_id(span_id)
    held_output = required_text(output, "output", MAX_HELD_CHARS)
    held_input = optional_text(input, "input", MAX_HELD_CHARS)
    why = optional_text(reason, "reason", 2000)
    if check is not None and not isinstance(check, dict):
        raise FeedbackError("check must be an object (the CheckResult's to_dict())")
    who = optional_text(actor, "actor", 200) or "workflow"
    item_id = stable_id("rev", "held", where, hold_key)
    now = utcnow()
    failed = check.get("failed") if isinstance(check, dict) else None
    evaluator = (
        failed[0] if isinstance(failed, list) and failed and isinstance(failed[0], str) else None
    )
    seed = {
        "item_id": item_id,
        "project": where,
        "trace_id": trace,
        "span_id": span,
        "source": "held",
        "source_id": hold_key,
        "reason": why,
        "severity": "high",
        "evaluator": evaluator,
        "created_by": who,
        "created_at": now,
    }
    held = {
        "item_id": item_id,
        "project": where,
        "trace_id": trace,
        "span_id": span,
        "input": held_input,
        "output": held_output,
        "check_result": json.dumps(check, ensure_ascii=False) if check else None,
        "created_at": now,
    }
    with store.transaction() as cur:
        if not cur.execute("SELECT 1 FROM review_items WHERE item_id = ?", [item_id]).fetchall():
            insert_records(cur, "review_items", [seed], schema=ITEM_SCHEMA)
            cur.execute(
                f"INSERT INTO held_outputs ({', '.join(HELD_SCHEMA_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in HELD_SCHEMA_COLUMNS)})",
                [held[c] for c in HELD_SCHEMA_COLUMNS],
            )
            insert_records(
                cur,
                "review_events",
                [_event(item_id, 1, "open", "held", None, who, why, None)],
                schema=EVENT_SCHEMA,
            )
    return {**get_item(store, item_id).to_dict(), **held_view(store, item_id)}


def held_view(store: Store, item_id: str) -> dict[str, Any]:
    """The held input, output and check of an item (empty for other items)."""
    rows = store.query(
        "SELECT input, output, check_result FROM held_outputs WHERE item_id = ?", [item_id]
    ).rows
    if not rows:
        return {}
    held_input, output, check = rows[0]
    return {
        "held_input": held_input,
        "held_output": output,
        "held_check": json.loads(check) if check else None,
    }


def held_views(store: Store, item_ids: list[str]) -> dict[str, dict[str, Any]]:
    """``held_view`` of many items at once (only the held ones appear)."""
    if not item_ids:
        return {}
    rows = store.query(
        "SELECT item_id, input, output, check_result FROM held_outputs "
        "WHERE list_contains(?, item_id)",
        [item_ids],
    ).rows
    return {
        item_id: {
            "held_input": held_input,
            "held_output": output,
            "held_check": json.loads(check) if check else None,
        }
        for item_id, held_input, output, check in rows
    }


def output_held_by(store: Store, item_id: str) -> str | None:
    """The output held with an item, or None when it is not a held item."""
    rows = store.query("SELECT output FROM held_outputs WHERE item_id = ?", [item_id]).rows
    return str(rows[0][0]) if rows else None


def decision(store: Store, item_id: str) -> Decision:
    """The current decision on a held item (NotFound when there is no such item)."""
    item = get_item(store, item_id)
    held = output_held_by(store, item_id)
    last = store.query(
        "SELECT actor, comment, correction_id FROM review_events WHERE item_id = ? "
        "ORDER BY version DESC LIMIT 1",
        [item_id],
    ).rows[0]
    action = DECISIONS.get(item.state, "held")
    output = held
    if action == "corrected":
        fixes = list_corrections(store, item_id=item_id)
        if fixes:
            output = fixes[-1].corrected_output
    decided = action != "held"
    return Decision(
        item_id=item_id,
        action=action,
        output=output if action != "rejected" else None,
        version=item.version,
        decided_by=str(last[0]) if decided else None,
        comment=last[1] if decided else None,
    )
