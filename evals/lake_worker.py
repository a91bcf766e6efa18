"""Online scoring on a lake, as its own process: ``loopwise worker --store ducklake:...``.

The collectors only ingest; any number of workers score. Each worker holds leases on some
partitions of the trace ids (lake_leases.py) and, for every evaluator binding and held
partition, steps a watermark through ``spans_raw`` by rowid. DuckLake gives rows their ids
when their transaction commits, in commit order, and keeps them through file merges, so a
window ``(after, until]`` of rowids never misses a span committed later.

One window is one lake transaction: the scores, the flags threshold rules open from them,
the flags of the anomaly rules (each with its own watermark; a partition's spans judged
against the whole lake's recent spans of their name), and the watermark rows moved from
``after`` to ``until``. The watermark update is the fence:
if another worker (one whose lease this worker took over while it stalled) moved the same
row, DuckLake refuses one of the two commits and its scores go with it. Scores and flags are
also skipped when their ids are already stored (a lake migrated from a file store keeps its
scores), and a span stored twice by two collectors is scored once, at its first copy.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from loopwise.collector.store.backend import LakeBackend, connect_lake
from loopwise.collector.store.lake_store import (
    ensure_lake_schema,
    is_conflict,
    retrying,
    rollback_quietly,
)
from loopwise.collector.store.lake_tables import ensure_lake_tables
from loopwise.collector.store.retention import utc_now

from .anomaly import Anomaly, find_anomalies, store_anomalies
from .config import Binding, EvalsConfig
from .lake_leases import DEFAULT_PARTITIONS, LEASE_S, Leases, new_worker_id, partition_sql
from .persist import store_results
from .rules import AnomalyRule
from .runner import EvaluationResult, Runtime, evaluate
from .source import SPAN_FIELDS, prepare, query_arrow
from .watermarks import config_key

log = logging.getLogger(__name__)

MARKS_DDL = (
    "CREATE TABLE IF NOT EXISTS worker_marks (watermark_key VARCHAR, evaluator VARCHAR, "
    "partition INTEGER, last_rowid BIGINT, last_ingested_at TIMESTAMP, processed BIGINT, "
    "scored BIGINT, flagged BIGINT, updated_at TIMESTAMP)"
)


_WINDOW = "_lake_window"


@dataclass
class _Window:
    """One binding's scored window on one partition, not yet stored."""

    binding: Binding
    after: int
    until: int
    rows: int
    ingested_at: dt.datetime | None
    result: EvaluationResult
    scored: int = 0
    flagged: int = 0


@dataclass
class _RuleWindow:
    """One anomaly rule's window on one partition: the outliers found, not yet stored."""

    rule: AnomalyRule
    key: str
    after: int
    until: int
    rows: int
    anomalies: list[Anomaly]
    flagged: int = 0


@dataclass
class LakeWorkerStats:
    """What one worker did since it started."""

    windows: int = 0
    spans: int = 0
    scores: int = 0
    flags: int = 0
    lost_commits: int = 0
    partitions: list[int] = field(default_factory=list)


class LakeWorker:
    """Scores new lake spans with ``config`` (see the module docstring)."""

    def __init__(
        self,
        backend: LakeBackend,
        config: EvalsConfig,
        *,
        owner: str | None = None,
        partitions: int = DEFAULT_PARTITIONS,
        lease_s: float = LEASE_S,
    ) -> None:
        self.config = config
        self.con = connect_lake(backend)
        # Each binding's share of a window is selected here, in memory: on the lake
        # connection every name is first looked up in the lake's catalog.
        self._local = duckdb.connect(":memory:")
        ensure_lake_schema(self.con)
        ensure_lake_tables(self.con, ("scores", "flags"))
        retrying(self.con, [(MARKS_DDL, [])])
        self.leases = Leases(
            self.con, owner or new_worker_id(), partitions=partitions, lease_s=lease_s
        )
        self.leases.setup()
        self.rule_keys = {
            rule.name: config_key("rule", rule.to_dict()) for rule in config.anomaly_rules
        }
        self.runtime = Runtime()
        self.stats = LakeWorkerStats()
        self._stop = threading.Event()
        self._refreshed_at = -math.inf

    @property
    def owner(self) -> str:
        """This worker's name in the lease tables."""
        return self.leases.owner

    def close(self) -> None:
        """Give back the leases and close the lake connection."""
        try:
            self.leases.release()
        finally:
            self.con.close()
            self._local.close()

    def stop(self) -> None:
        """Finish the current window and return from ``run``."""
        self._stop.set()

    def run(self) -> None:
        """Score until ``stop``, idling when nothing is new."""
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except duckdb.Error:
                log.exception("scoring step failed; retrying")
                worked = 0
                self._stop.wait(2.0)
            if not worked:
                self._stop.wait(self.config.poll_interval_s)

    def refresh(self) -> list[int]:
        """Heartbeat and rebalance the leases; return the partitions held."""
        self.stats.partitions = self.leases.refresh()
        self._refreshed_at = time.monotonic()
        return self.stats.partitions

    def run_once(self) -> int:
        """One window for every binding on every held partition; return spans scored.
        Leases are renewed on the way whenever a third of their time has passed."""
        newest = _scalar(self.con, "SELECT coalesce(max(rowid), -1) FROM spans_raw")
        done = 0
        self._refresh_when_due()
        for partition in list(self.stats.partitions):
            if self._stop.is_set():
                break
            if not self._refresh_when_due() or partition in self.stats.partitions:
                done += self.score_partition(partition, newest)
        return done

    def _refresh_when_due(self) -> bool:
        """Refresh when a third of the lease time has passed, or every poll interval while
        this worker holds less than its share; False when nothing was due."""
        elapsed = time.monotonic() - self._refreshed_at
        short = len(self.stats.partitions) < self.leases.share
        if elapsed < self.leases.lease_s / 3 and not (
            short and elapsed >= self.config.poll_interval_s
        ):
            return False
        self.refresh()
        return True

    def score_partition(self, partition: int, newest: int) -> int:
        """Score the next window of every binding on ``partition`` and store them all in one
        transaction; return the spans scored (0 when another worker stored first)."""
        marks = self._marks(partition, newest)
        pending = [b for b in self.config.bindings if marks[b.key] < newest]
        rules = [r for r in self.config.anomaly_rules if marks[self.rule_keys[r.name]] < newest]
        if not pending and not rules:
            return 0
        start = min(
            [marks[b.key] for b in pending] + [marks[self.rule_keys[r.name]] for r in rules]
        )
        until = min(newest, start + self.config.scan_rows)
        self._local.register(_WINDOW, self._read(partition, start, until))
        try:
            evaluated = [self._evaluate(b, marks[b.key], until) for b in pending]
            judged = [
                self._judge(r, marks[self.rule_keys[r.name]], until, partition) for r in rules
            ]
        finally:
            self._local.unregister(_WINDOW)
        windows = [window for window in evaluated if window is not None]
        rule_windows = [window for window in judged if window is not None]
        if not windows and not rule_windows:
            return 0
        con = self.con
        try:
            con.execute("BEGIN TRANSACTION")
            if not self.leases.holds(con, partition):
                con.execute("ROLLBACK")
                return 0
            stored = [self._store(window, partition) for window in windows]
            stored += [self._store_rule(window, partition) for window in rule_windows]
            if not all(stored):  # another worker moved a mark
                con.execute("ROLLBACK")
                self.stats.lost_commits += 1
                return 0
            con.execute("COMMIT")
        except duckdb.Error as exc:
            rollback_quietly(con)
            if not is_conflict(exc):
                raise
            self.stats.lost_commits += 1
            return 0
        rows = max([w.rows for w in windows] + [w.rows for w in rule_windows])
        self.stats.windows += len(windows) + len(rule_windows)
        self.stats.spans += rows
        self.stats.scores += sum(window.scored for window in windows)
        self.stats.flags += sum(w.flagged for w in windows) + sum(w.flagged for w in rule_windows)
        return max(rows, 1)

    def _evaluate(self, binding: Binding, after: int, until: int) -> _Window | None:
        """Score the binding's spans of the partition's window after its own watermark."""
        if after >= until:
            return None
        if binding.settle_s > 0:  # stop before the first span still settling
            cutoff = utc_now() - dt.timedelta(seconds=binding.settle_s)
            row = self._local.execute(
                f"SELECT min(_rowid) FROM {_WINDOW} WHERE _rowid > ? AND ingested_at > ?",
                [after, cutoff],
            ).fetchone()
            if row and row[0] is not None:
                until = int(row[0]) - 1
            if until <= after:
                return None
        where, params = binding.selector.where()
        spans = query_arrow(
            self._local,
            f"SELECT * FROM {_WINDOW} WHERE _rowid > ? AND _rowid <= ? AND ({where}) "
            f"ORDER BY _rowid LIMIT {int(self.config.batch_size)}",
            [after, until, *params],
        )
        if spans.num_rows == self.config.batch_size:
            until = int(spans.column("_rowid")[-1].as_py())
        evaluator = binding.evaluator
        ready, traces = prepare(self.con, evaluator.target, evaluator.needs_context, spans)
        return _Window(
            binding=binding,
            after=after,
            until=until,
            rows=int(spans.num_rows),
            ingested_at=spans.column("ingested_at")[-1].as_py() if spans.num_rows else None,
            result=evaluate(evaluator, ready, traces=traces, runtime=self.runtime),
        )

    def _store(self, window: _Window, partition: int) -> bool:
        """Store one window's scores and flags and move its watermark, inside the caller's
        transaction; False when the watermark is no longer where the window started."""
        key = window.binding.key
        window.scored, window.flagged = store_results(
            self.con,
            window.result,
            id_prefix=key,
            rules=self.config.threshold_rules,
            metadata={"config": key, "mode": "online", "worker": self.owner},
            keyed=False,
        )
        return self._move_mark(
            key,
            partition,
            window.after,
            window.until,
            rows=window.rows,
            ingested_at=window.ingested_at,
            scored=window.scored,
            flagged=window.flagged,
        )

    def _judge(
        self, rule: AnomalyRule, after: int, until: int, partition: int
    ) -> _RuleWindow | None:
        """The outliers among the partition's spans in ``(after, until]``, each judged
        against the recent spans of its project and name in the whole lake; None when the
        rule's watermark is already at or past ``until`` (another step lags behind it)."""
        if after >= until:
            return None
        anomalies = find_anomalies(
            self.con,
            rule,
            after,
            until,
            spans="spans_raw",
            partition=lambda column: (
                f"{partition_sql(column, self.leases.partitions)} = {int(partition)}"
            ),
        )
        counted = self._local.execute(
            f"SELECT count(*) FROM {_WINDOW} WHERE _rowid > ? AND _rowid <= ?", [after, until]
        ).fetchone()
        rows = int(counted[0]) if counted else 0
        return _RuleWindow(rule, self.rule_keys[rule.name], after, until, rows, anomalies)

    def _store_rule(self, window: _RuleWindow, partition: int) -> bool:
        """Open the window's anomaly flags and move the rule's watermark, inside the
        caller's transaction; False when the watermark is no longer where it started."""
        window.flagged = store_anomalies(self.con, window.rule, window.anomalies, keyed=False)
        return self._move_mark(
            window.key,
            partition,
            window.after,
            window.until,
            rows=window.rows,
            flagged=window.flagged,
        )

    def _move_mark(
        self,
        key: str,
        partition: int,
        after: int,
        until: int,
        *,
        rows: int,
        ingested_at: dt.datetime | None = None,
        scored: int = 0,
        flagged: int = 0,
    ) -> bool:
        """Move ``key``'s watermark on ``partition`` from ``after`` to ``until``; False when
        it is no longer at ``after`` (the fence: another worker moved it)."""
        moved = self.con.execute(
            "UPDATE worker_marks SET last_rowid = ?, "
            "last_ingested_at = coalesce(?, last_ingested_at), processed = processed + ?, "
            "scored = scored + ?, flagged = flagged + ?, updated_at = ? "
            "WHERE watermark_key = ? AND partition = ? AND last_rowid = ?",
            [until, ingested_at, rows, scored, flagged, utc_now(), key, partition, after],
        ).fetchone()
        return bool(moved and moved[0])

    def _marks(self, partition: int, newest: int) -> dict[str, int]:
        """Each binding's watermark on ``partition``; missing ones are made at -1 (or at the
        newest span for ``start = "latest"``) first."""
        rows = self.con.execute(
            "SELECT watermark_key, max(last_rowid) FROM worker_marks WHERE partition = ? "
            "GROUP BY watermark_key",
            [partition],
        ).fetchall()
        marks = {str(key): int(mark) for key, mark in rows}
        steps = [(b.key, b.evaluator.name, b.start == "latest") for b in self.config.bindings]
        steps += [(self.rule_keys[r.name], r.name, False) for r in self.config.anomaly_rules]
        missing = [step for step in steps if step[0] not in marks]
        if not missing:
            return marks
        insert = (
            "INSERT INTO worker_marks SELECT ?, ?, ?, ?, NULL, 0, 0, 0, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM worker_marks "
            "WHERE watermark_key = ? AND partition = ?)"
        )
        now = utc_now()
        retrying(
            self.con,
            [
                (insert, [key, name, partition, newest if latest else -1, now, key, partition])
                for key, name, latest in missing
            ],
        )
        return self._marks(partition, newest)

    def _read(self, partition: int, after: int, until: int) -> pa.Table:
        """The spans of ``partition`` with ``after < rowid <= until``, first copies only, in
        rowid order: read once per partition and step for every binding."""
        part = partition_sql("trace_id", self.leases.partitions)
        sql = f"""
            SELECT * FROM (
                SELECT rowid AS _rowid, {SPAN_FIELDS} FROM spans_raw
                WHERE rowid > ? AND rowid <= ? AND {part} = ?
            ) AS s
            WHERE NOT EXISTS (
                SELECT 1 FROM spans_raw AS e
                WHERE e.trace_id = s.trace_id AND e.span_id = s.span_id AND e.rowid < s._rowid
            )
            ORDER BY _rowid
        """
        return query_arrow(self.con, sql, [after, until, partition])


def worker_lag(con: duckdb.DuckDBPyConnection, partitions: int) -> dt.timedelta:
    """How far scoring is behind: the age of the oldest span some binding's watermark has
    not passed yet (zero when every stored span is scored)."""
    part = partition_sql("s.trace_id", partitions)
    row = con.execute(
        f"SELECT min(s.ingested_at) FROM spans_raw AS s JOIN worker_marks AS m "
        f"ON {part} = m.partition AND s.rowid > m.last_rowid"
    ).fetchone()
    oldest = row[0] if row else None
    if not isinstance(oldest, dt.datetime):
        return dt.timedelta(0)
    return max(utc_now() - oldest, dt.timedelta(0))


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else -1
