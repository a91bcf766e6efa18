"""Alerts: new failure clusters, failure rates over a threshold, held outputs left waiting.

``AlertMonitor.run_once`` looks at the store, raises each alert once (``alerts_sent`` keeps the
keys: a cluster label per project, a failure rate per window, a held item) and hands it to the
webhook sender. The online worker calls it on its loop; nothing here blocks on the network.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loopwise.collector.store import Store

from .alert_config import AlertRule
from .webhooks import WebhookSender

MAX_EXAMPLES = 3

_CLUSTERS_SQL = """
WITH latest AS (
    SELECT project, arg_max(clustering_id, created_at) AS clustering_id
    FROM flag_clusterings WHERE project IS NOT NULL GROUP BY project
)
SELECT l.project, c.cluster_label, count(*) AS flags,
       list(DISTINCT f.trace_id)[1:3] AS traces
FROM latest l
JOIN flag_clusters c USING (clustering_id)
JOIN flags f ON f.flag_id = c.flag_id
WHERE ($project IS NULL OR l.project = $project)
GROUP BY ALL ORDER BY flags DESC
"""

_FAILURE_RATE_SQL = """
SELECT project, name, count(*) AS scores, count(*) FILTER (WHERE NOT passed) AS failed,
       list(trace_id ORDER BY created_at DESC) FILTER (WHERE NOT passed)[1:3] AS traces
FROM scores
WHERE status = 'ok' AND passed IS NOT NULL AND created_at >= $since
  AND ($project IS NULL OR project = $project) AND ($name IS NULL OR name = $name)
GROUP BY project, name
HAVING count(*) >= $min_scores AND count(*) FILTER (WHERE NOT passed) > $threshold * count(*)
"""

_HELD_SQL = """
WITH latest AS (
    SELECT item_id, arg_max(state, version) AS state FROM review_events GROUP BY item_id
)
SELECT i.item_id, i.project, i.trace_id, i.reason, i.created_at
FROM review_items i JOIN latest USING (item_id)
WHERE latest.state = 'held' AND i.created_at <= $before
  AND ($project IS NULL OR i.project = $project)
ORDER BY i.created_at
"""


@dataclass(frozen=True)
class Alert:
    """One alert to raise: its dedupe key and the payload the webhook receives."""

    rule: AlertRule
    key: str
    event: str
    project: str | None
    payload: dict[str, Any]


class AlertMonitor:
    """Finds alerts for ``rules`` in ``store`` and sends each once."""

    def __init__(
        self,
        store: Store,
        rules: Sequence[AlertRule],
        *,
        dashboard_url: str = "http://127.0.0.1:8501",
        sender: WebhookSender | None = None,
    ) -> None:
        self.store = store
        self.rules = tuple(rules)
        self.dashboard_url = dashboard_url.rstrip("/")
        self.sender = sender or WebhookSender()

    def run_once(self, now: dt.datetime | None = None) -> list[Alert]:
        """Raise every alert not raised before; return them."""
        moment = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        found = [a for rule in self.rules for a in self.find(rule, moment)]
        fresh = self._record_new(found, moment)
        for alert in fresh:
            self.sender.send(alert.rule, alert.payload)
        return fresh

    def find(self, rule: AlertRule, now: dt.datetime) -> list[Alert]:
        """The alerts ``rule`` asks for at ``now`` (raised before or not)."""
        alerts: list[Alert] = []
        if "new_cluster" in rule.events and self._has("flag_clusterings"):
            alerts += self._clusters(rule)
        if "failure_rate" in rule.events:
            alerts += self._failure_rates(rule, now)
        if "held_waiting" in rule.events and self._has("held_outputs"):
            alerts += self._held(rule, now)
        return alerts

    def close(self) -> None:
        """Deliver queued alerts and stop the sender."""
        self.sender.close()

    def _clusters(self, rule: AlertRule) -> list[Alert]:
        rows = self.store.query(_CLUSTERS_SQL, {"project": rule.project}).records()
        alerts = []
        for row in rows:
            label, project, flags = row["cluster_label"], row["project"], int(row["flags"])
            links = self._trace_links(row["traces"])
            text = (
                f"New failure cluster in {project}: “{label}” ({flags} flags). "
                f"Examples: {' '.join(links)} · Review queue: {self.dashboard_url}/reviews"
            )
            payload = {
                "text": text,
                "event": "new_cluster",
                "project": project,
                "cluster": label,
                "flags": flags,
                "examples": links,
                "dashboard_url": self.dashboard_url,
            }
            key = f"new_cluster:{rule.key}:{project}:{label}"
            alerts.append(Alert(rule, key, "new_cluster", project, payload))
        return alerts

    def _failure_rates(self, rule: AlertRule, now: dt.datetime) -> list[Alert]:
        window = dt.timedelta(minutes=rule.window_minutes)
        params = {
            "since": now - window,
            "project": rule.project,
            "name": rule.evaluator,
            "min_scores": rule.min_scores,
            "threshold": rule.threshold,
        }
        bucket = int(now.timestamp() // window.total_seconds())
        alerts = []
        for row in self.store.query(_FAILURE_RATE_SQL, params).records():
            project, name = row["project"], row["name"]
            scores, failed = int(row["scores"]), int(row["failed"])
            rate = failed / scores
            links = self._trace_links(row["traces"])
            text = (
                f"{name} fails {rate:.0%} of {scores} scores in {project} over the last "
                f"{rule.window_minutes:g} min (threshold {rule.threshold:.0%}). "
                f"Examples: {' '.join(links)} · {self.dashboard_url}/evaluators"
            )
            payload = {
                "text": text,
                "event": "failure_rate",
                "project": project,
                "evaluator": name,
                "scores": scores,
                "failed": failed,
                "failure_rate": round(rate, 4),
                "threshold": rule.threshold,
                "examples": links,
                "dashboard_url": self.dashboard_url,
            }
            key = f"failure_rate:{rule.key}:{project}:{name}:{bucket}"
            alerts.append(Alert(rule, key, "failure_rate", project, payload))
        return alerts

    def _held(self, rule: AlertRule, now: dt.datetime) -> list[Alert]:
        before = now - dt.timedelta(minutes=rule.held_minutes)
        rows = self.store.query(_HELD_SQL, {"before": before, "project": rule.project}).records()
        alerts = []
        for row in rows:
            waited = (now - row["created_at"]).total_seconds() / 60
            link = f"{self.dashboard_url}/traces?trace={row['trace_id']}"
            text = (
                f"A held output in {row['project']} has waited {waited:.0f} min for a reviewer "
                f"({row['reason'] or 'no reason'}). Trace: {link} · "
                f"Queue: {self.dashboard_url}/reviews"
            )
            payload = {
                "text": text,
                "event": "held_waiting",
                "project": row["project"],
                "item_id": row["item_id"],
                "waited_minutes": round(waited, 1),
                "examples": [link],
                "dashboard_url": self.dashboard_url,
            }
            key = f"held_waiting:{rule.key}:{row['item_id']}"
            alerts.append(Alert(rule, key, "held_waiting", row["project"], payload))
        return alerts

    def _trace_links(self, traces: Any) -> list[str]:
        ids = [str(t) for t in (traces or [])][:MAX_EXAMPLES]
        return [f"{self.dashboard_url}/traces?trace={trace_id}" for trace_id in ids]

    def _has(self, table: str) -> bool:
        rows = self.store.query(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
        ).rows
        return bool(rows[0][0])

    def _record_new(self, alerts: list[Alert], now: dt.datetime) -> list[Alert]:
        if not alerts:
            return []
        with self.store.transaction() as cur:
            keys = [a.key for a in alerts]
            known = {
                row[0]
                for row in cur.execute(
                    "SELECT alert_key FROM alerts_sent WHERE list_contains(?, alert_key)", [keys]
                ).fetchall()
            }
            fresh = [a for a in alerts if a.key not in known]
            for alert in fresh:
                cur.execute(
                    "INSERT OR IGNORE INTO alerts_sent VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        alert.key,
                        alert.rule.key,
                        alert.event,
                        alert.project,
                        json.dumps(alert.payload, ensure_ascii=False),
                        now,
                    ],
                )
        return fresh
