"""Second reviews: send a sample of closed items to another reviewer, so some items are
judged twice and the agreement between reviewers (``agreement.py``) can be measured.

An item qualifies when one person closed it with a verdict (approved or corrected; rejected
items carry none), it is not a held output (a workflow already took that decision), and the
second reviewer is not the one who closed it. The sample is spread over the candidates by a
hash of the item id and a seed, so the same request picks the same items and a larger one
picks more of them. Each chosen item is reopened and assigned to the second reviewer; the
first verdict stays in the scores table, and the second one is added when they close it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loopwise.collector.store import Store

from .common import check_actor
from .errors import Conflict, FeedbackError
from .reviews import act

MAX_SECOND_REVIEWS = 1000
SECOND_REVIEW_COMMENT = "second review: judge it afresh; agreement between reviewers is measured"

CANDIDATES_SQL = """
WITH latest AS (
    SELECT item_id, max(version) AS version FROM review_events GROUP BY item_id
),
closers AS (
    SELECT item_id, count(DISTINCT actor) AS reviewers, min(actor) AS reviewer
    FROM review_events WHERE action IN ('approve', 'correct') GROUP BY item_id
)
SELECT i.item_id, l.version
FROM review_items i
JOIN latest l USING (item_id)
JOIN review_events e ON e.item_id = l.item_id AND e.version = l.version
JOIN closers c ON c.item_id = i.item_id
WHERE e.state IN ('approved', 'corrected')
  AND i.source <> 'held'
  AND c.reviewers = 1
  AND c.reviewer <> $reviewer
  AND (CAST($project AS VARCHAR) IS NULL OR i.project = CAST($project AS VARCHAR))
  AND (CAST($evaluator AS VARCHAR) IS NULL OR i.evaluator = CAST($evaluator AS VARCHAR))
ORDER BY hash(i.item_id || $seed), i.item_id
LIMIT $limit
"""


@dataclass(frozen=True)
class SecondReviews:
    """What a second-review request did: the items sent to ``reviewer``, and those skipped
    because someone acted on them between the pick and the reopen."""

    reviewer: str
    item_ids: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the API and the CLI print."""
        return {"reviewer": self.reviewer, "item_ids": self.item_ids, "skipped": self.skipped}


def request_second_reviews(
    store: Store,
    *,
    reviewer: str,
    actor: str,
    count: int,
    project: str | None = None,
    evaluator: str | None = None,
    seed: str = "",
) -> SecondReviews:
    """Reopen up to ``count`` items closed by one other reviewer and assign them to
    ``reviewer``; items that moved on meanwhile are skipped, never overwritten."""
    if not reviewer.strip():
        raise FeedbackError("reviewer is required: who reviews the items a second time?")
    name = check_actor(reviewer)
    who = check_actor(actor)
    if not 1 <= count <= MAX_SECOND_REVIEWS:
        raise FeedbackError(f"count must be 1 to {MAX_SECOND_REVIEWS}")
    params = {
        "reviewer": name,
        "project": project,
        "evaluator": evaluator,
        "seed": seed,
        "limit": count,
    }
    rows = store.query(CANDIDATES_SQL, params).records()
    sent: list[str] = []
    skipped: list[str] = []
    for row in rows:
        item_id, version = str(row["item_id"]), int(row["version"])
        try:
            act(
                store,
                item_id,
                "reopen",
                actor=who,
                expected_version=version,
                comment=SECOND_REVIEW_COMMENT,
            )
            act(store, item_id, "assign", actor=who, expected_version=version + 1, assignee=name)
        except Conflict:
            skipped.append(item_id)
            continue
        sent.append(item_id)
    return SecondReviews(name, sent, skipped)
