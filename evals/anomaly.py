"""Anomaly rules: latency, token and cost outliers per (project, span name).

Method: the robust (modified) z-score of Iglewicz and Hoaglin, ``0.6745 * (x - median) /
MAD`` over the last ``baseline`` spans of the same project and span name, flagged at 3.5
by default and only on the high side (a fast or cheap call is not a problem). When MAD is
zero (most values identical) the mean absolute deviation stands in (``x - median`` over
``1.2533 * meanAD``). Chosen over IsolationForest because it is deterministic, needs no
training, works from ~20 samples, costs one SQL aggregate and gives a reason a reviewer
can check ("742 ms is 11.8 robust z above the median 61 ms of 180 spans").

A group with fewer than ``min_samples`` spans is not judged yet; when it reaches that
size, all its earlier spans are judged in the same pass, so early outliers are not lost.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from .rules import METRIC_UNITS, AnomalyRule

# The baseline is drawn from the most recent spans of the table only, so one pass never
# sorts the whole history of a busy span name.
MAX_HISTORY_ROWS = 250_000

ANOMALY_SQL = """
WITH window_spans AS (
    SELECT rowid AS rid, project, name FROM {spans}
    WHERE rowid > $after AND rowid <= $until AND {metric} IS NOT NULL AND ({where})
      AND {window_part}
),
groups AS (SELECT DISTINCT project, name FROM window_spans),
history AS (
    SELECT s.rowid AS rid, s.project, s.trace_id, s.span_id, s.name, s.{metric} AS x,
           {judged_part} AS judged,
           row_number() OVER (PARTITION BY s.project, s.name ORDER BY s.rowid DESC) AS recent,
           count(*) FILTER (WHERE s.rowid <= $after)
               OVER (PARTITION BY s.project, s.name) AS before_window
    FROM {spans} s JOIN groups g ON s.project = g.project AND s.name = g.name
    WHERE s.rowid <= $until AND s.rowid > $until - $history
      AND s.{metric} IS NOT NULL AND ({where_s})
),
stats AS (
    SELECT project, name, count(*) AS n, median(x) AS med FROM history
    WHERE recent <= $baseline GROUP BY project, name
),
spread AS (
    SELECT h.project, h.name, median(abs(h.x - st.med)) AS mad,
           avg(abs(h.x - st.med)) AS mean_ad
    FROM history h JOIN stats st ON h.project = st.project AND h.name = st.name
    WHERE h.recent <= $baseline GROUP BY h.project, h.name
)
SELECT h.project, h.trace_id, h.span_id, h.name, h.x, st.n, st.med, sp.mad, sp.mean_ad
FROM history h
JOIN stats st ON h.project = st.project AND h.name = st.name
JOIN spread sp ON h.project = sp.project AND h.name = sp.name
WHERE st.n >= $min_samples
  AND h.judged
  AND (h.rid > $after OR h.before_window < $min_samples)
  AND h.x > st.med
"""

_FLAG_COLUMNS = """(flag_id, project, trace_id, span_id, span_name, rule, cause_key, reason,
     severity, evaluator, evaluator_version, score_id, metric, value, status, details,
     created_at)"""
_FLAG_ROWS = """SELECT md5(cause_key) AS flag_id, project, trace_id, span_id, span_name, rule,
       cause_key, reason, severity, NULL, NULL, NULL, metric, value, 'open', details, created_at
FROM _anomalies"""
INSERT_FLAG_SQL = f"INSERT OR IGNORE INTO flags {_FLAG_COLUMNS} {_FLAG_ROWS}"
# A lake's flags table has no key: skip flags already stored, and repeats in the batch (a
# span two collectors stored at once).
INSERT_UNKEYED_FLAG_SQL = f"""INSERT INTO flags {_FLAG_COLUMNS}
SELECT * FROM ({_FLAG_ROWS} QUALIFY row_number() OVER (PARTITION BY cause_key) = 1) AS n
WHERE n.flag_id NOT IN (
    SELECT flag_id FROM flags WHERE trace_id IN (SELECT trace_id FROM _anomalies)
)"""


@dataclass(frozen=True)
class Anomaly:
    """One outlier span and the numbers behind the verdict."""

    project: str
    trace_id: str
    span_id: str
    span_name: str
    value: float
    median: float
    robust_z: float
    samples: int


def robust_z(x: float, median: float, mad: float, mean_ad: float) -> float:
    """The modified z-score of ``x`` (MAD, or mean absolute deviation when MAD is 0)."""
    if mad > 0:
        return 0.6745 * (x - median) / mad
    if mean_ad > 0:
        return (x - median) / (1.2533 * mean_ad)
    return float("inf") if x > median else 0.0


def find_anomalies(
    cur: duckdb.DuckDBPyConnection,
    rule: AnomalyRule,
    after: int,
    until: int,
    *,
    spans: str = "spans",
    partition: Callable[[str], str] | None = None,
) -> list[Anomaly]:
    """Outliers among the spans in ``(after, until]`` of ``spans`` by rowid (and in groups
    that just became large enough to judge).

    With ``partition`` (a column name to a SQL condition) only the spans meeting it are
    judged, against a baseline of every span of their group: a lake worker judges its own
    partition's spans by the whole lake's medians."""
    where, params = rule.selector.where()
    where_s, params_s = rule.selector.where("s")
    sql = ANOMALY_SQL.format(
        spans=spans,
        metric=rule.metric,
        where=_numbered(where),
        where_s=_numbered(where_s),
        window_part=partition("trace_id") if partition else "true",
        judged_part=partition("s.trace_id") if partition else "true",
    )
    named = {
        "after": after,
        "until": until,
        "baseline": rule.baseline,
        "min_samples": rule.min_samples,
        "history": MAX_HISTORY_ROWS,
    }
    bound = {**named, **{f"p{i}": v for i, v in enumerate(params)}}
    bound.update({f"p{i}": v for i, v in enumerate(params_s)})
    rows = cur.execute(sql, bound).fetchall()
    found = []
    for project, trace_id, span_id, name, x, n, med, mad, mean_ad in rows:
        z = robust_z(float(x), float(med), float(mad or 0), float(mean_ad or 0))
        if z < rule.threshold:
            continue
        if med > 0 and x < rule.min_ratio * med:
            continue
        if x - med < rule.min_delta:
            continue
        found.append(Anomaly(project, trace_id, span_id, name, float(x), float(med), z, int(n)))
    return found


def _numbered(where: str) -> str:
    """Turn the selector's positional ``?`` into named ``$p0, $p1 ...`` parameters."""
    parts = where.split("?")
    out = parts[0]
    for index, part in enumerate(parts[1:]):
        out += f"$p{index}" + part
    return out


def store_anomalies(
    cur: duckdb.DuckDBPyConnection,
    rule: AnomalyRule,
    anomalies: list[Anomaly],
    created_at: dt.datetime | None = None,
    *,
    keyed: bool = True,
) -> int:
    """Open a flag per anomaly (deduplicated by cause key); return how many were new.
    ``keyed`` False: the flags table has no key (a lake's), so repeats are skipped here."""
    if not anomalies:
        return 0
    created = created_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    unit = METRIC_UNITS.get(rule.metric, "")
    label = rule.metric.replace("_ms", "").replace("_usd", "").replace("_", " ")
    rows = []
    for a in anomalies:
        z_text = "far" if a.robust_z == float("inf") else f"{a.robust_z:.1f} robust z"
        rows.append(
            {
                "project": a.project,
                "trace_id": a.trace_id,
                "span_id": a.span_id,
                "span_name": a.span_name,
                "rule": rule.name,
                "cause_key": f"{rule.name}|{a.trace_id}|{a.span_id}",
                "reason": (
                    f"{label} {a.value:,.6g}{unit} is {z_text} above the median "
                    f"{a.median:,.6g}{unit} of {a.samples} recent {a.span_name!r} spans"
                )[:2000],
                "severity": rule.severity,
                "metric": rule.metric,
                "value": a.value,
                "details": json.dumps(
                    {
                        "median": a.median,
                        "robust_z": None if a.robust_z == float("inf") else a.robust_z,
                        "samples": a.samples,
                        "rule": rule.to_dict(),
                    }
                ),
                "created_at": created,
            }
        )
    cur.register("_anomalies", pa.Table.from_pylist(rows))
    try:
        row = cur.execute(INSERT_FLAG_SQL if keyed else INSERT_UNKEYED_FLAG_SQL).fetchall()[0]
    finally:
        cur.unregister("_anomalies")
    return int(row[0]) if row else 0
