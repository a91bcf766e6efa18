"""Online scoring: a background thread in the collector process that evaluates new spans.

Each step takes, for every binding, the next window of spans after its watermark (at most
``batch_size`` matching spans within ``scan_rows`` rowids), scores them, and stores the
scores, the flags its rules open and the new watermark in one transaction. Then each
anomaly rule does the same over its own watermark, and now and then the flags are
re-clustered. Between batches the thread sleeps briefly, longer while the collector's
writer has rows waiting, so ingestion keeps the store to itself when it is busy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loopwise.collector.store import Store

from .alerts import AlertMonitor
from .anomaly import find_anomalies, store_anomalies
from .clustering import cluster_all
from .config import Binding, EvalsConfig
from .persist import store_results
from .rules import AnomalyRule
from .runner import Runtime, evaluate
from .source import max_rowid, prepare, read_window
from .watermarks import advance, config_key, last_rowid, read_watermarks

log = logging.getLogger(__name__)

YIELD_S = 0.005
BUSY_BACKOFF_S = 0.05
ERROR_BACKOFF_S = 2.0
THREAD_NICENESS = 10


@dataclass
class WorkerState:
    """What the worker has done, for GET /api/evals/status."""

    running: bool = False
    cycles: int = 0
    last_cycle_at: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    last_clustered_at: float = 0.0
    flags_at_last_clustering: int = -1


class OnlineWorker:
    """Scores new spans with ``config`` in a background thread (see the module docstring).

    ``is_busy`` tells the worker the store is under ingest pressure (the collector passes
    "the writer has rows waiting"). ``run_once`` does one step synchronously.
    """

    def __init__(
        self,
        store: Store,
        config: EvalsConfig,
        *,
        runtime: Runtime | None = None,
        is_busy: Callable[[], bool] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.runtime = runtime or Runtime(store=store)
        self.is_busy = is_busy or (lambda: False)
        self.state = WorkerState()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.alerts = (
            AlertMonitor(store, config.alerts, dashboard_url=config.dashboard_url)
            if config.alerts
            else None
        )
        self._last_alerted_at = 0.0

    def start(self) -> None:
        """Start the background thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="loopwise-evals", daemon=True)
        self.state.running = True
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current batch and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.alerts is not None:
            self.alerts.close()
        self.state.running = False

    def wake(self) -> None:
        """Skip the idle wait (new spans arrived, or a test wants progress now)."""
        self._wake.set()

    def _run(self) -> None:
        _lower_thread_priority()
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception as exc:  # a broken step must not kill the worker
                message = f"{type(exc).__name__}: {exc}"
                if message != self.state.last_error:
                    log.exception("online evaluation step failed")
                else:
                    log.warning("online evaluation step failed again: %s", message)
                self._note_error(message)
                self._stop.wait(ERROR_BACKOFF_S)
                continue
            if worked:
                self._stop.wait(BUSY_BACKOFF_S if self.is_busy() else YIELD_S)
            else:
                self._wake.wait(self.config.poll_interval_s)
                self._wake.clear()

    def run_once(self) -> int:
        """One step over every binding and rule; returns how many spans were processed."""
        with self._lock:
            cur = self.store.cursor()
            try:
                until = max_rowid(cur)
                done = 0
                for binding in self.config.bindings:
                    if self._stop.is_set():
                        break
                    done += self._step_binding(cur, binding, until)
                    if self.is_busy():
                        time.sleep(BUSY_BACKOFF_S)
                for rule in self.config.anomaly_rules:
                    if self._stop.is_set():
                        break
                    done += self._step_anomaly(cur, rule, until)
            finally:
                cur.close()
            self._maybe_cluster()
            self._maybe_alert()
            self.state.cycles += 1
            self.state.last_cycle_at = _now()
            return done

    def _step_binding(self, cur: Any, binding: Binding, newest: int) -> int:
        key = binding.key
        start = newest if binding.start == "latest" else -1
        after = last_rowid(cur, key, start)
        if after >= newest:
            if binding.start == "latest" and after == start:
                self._advance_only(binding, key, newest)
            return 0
        until = min(newest, after + self.config.scan_rows)
        until = self._settled(cur, binding, after, until)
        if until <= after:
            return 0
        where, params = binding.selector.where()
        spans = read_window(cur, after, until, where, params, limit=self.config.batch_size)
        if spans.num_rows == self.config.batch_size:
            until = int(spans.column("_rowid")[-1].as_py())
        ingested = spans.column("ingested_at")[-1].as_py() if spans.num_rows else None
        evaluator = binding.evaluator
        ready, traces = prepare(cur, evaluator.target, evaluator.needs_context, spans)
        try:
            result = evaluate(evaluator, ready, traces=traces, runtime=self.runtime)
        except Exception as exc:  # evaluate() already turns evaluator failures into scores
            self._record_failure(binding, key, f"{type(exc).__name__}: {exc}")
            raise
        errors = [e for e in result.table.column("error").to_pylist() if e]
        rules = self.config.threshold_rules
        with self.store.transaction() as tx:
            scored, flagged = store_results(
                tx,
                result,
                id_prefix=key,
                rules=rules,
                metadata={"config": key, "mode": "online"},
            )
            advance(
                tx,
                key,
                kind="evaluator",
                name=evaluator.name,
                version=evaluator.version,
                definition=binding.definition,
                until=until,
                ingested_at=ingested,
                processed=spans.num_rows,
                scored=scored,
                flagged=flagged,
                error=(f"{len(errors)} errored score(s); last: {errors[-1]}" if errors else None),
            )
        return max(int(spans.num_rows), 1)

    def _settled(self, cur: Any, binding: Binding, after: int, until: int) -> int:
        if binding.settle_s <= 0:
            return until
        cutoff = _now() - dt.timedelta(seconds=binding.settle_s)
        row = cur.execute(
            "SELECT min(rowid) FROM spans WHERE rowid > ? AND rowid <= ? AND ingested_at > ?",
            [after, until, cutoff],
        ).fetchall()[0]
        return until if not row or row[0] is None else int(row[0]) - 1

    def _advance_only(self, binding: Binding, key: str, until: int) -> None:
        with self.store.transaction() as tx:
            advance(
                tx,
                key,
                kind="evaluator",
                name=binding.evaluator.name,
                version=binding.evaluator.version,
                definition=binding.definition,
                until=until,
            )

    def _step_anomaly(self, cur: Any, rule: AnomalyRule, newest: int) -> int:
        definition = rule.to_dict()
        key = config_key("rule", definition)
        after = last_rowid(cur, key)
        if after >= newest:
            return 0
        until = min(newest, after + self.config.scan_rows)
        anomalies = find_anomalies(cur, rule, after, until)
        with self.store.transaction() as tx:
            flagged = store_anomalies(tx, rule, anomalies)
            advance(
                tx,
                key,
                kind="rule",
                name=rule.name,
                version=None,
                definition=definition,
                until=until,
                processed=until - after,
                flagged=flagged,
            )
        return until - after

    def _maybe_alert(self) -> None:
        if self.alerts is None:
            return
        if time.monotonic() - self._last_alerted_at < self.config.alert_interval_s:
            return
        self._last_alerted_at = time.monotonic()
        self.alerts.run_once()

    def _maybe_cluster(self) -> None:
        interval = self.config.cluster_interval_s
        if time.monotonic() - self.state.last_clustered_at < interval:
            return
        row = self.store.query("SELECT count(*) FROM flags").rows
        count = int(row[0][0]) if row else 0
        if count == self.state.flags_at_last_clustering:
            return
        self.state.last_clustered_at = time.monotonic()
        self.state.flags_at_last_clustering = count
        if count:
            cluster_all(self.store)

    def _record_failure(self, binding: Binding, key: str, message: str) -> None:
        with contextlib.suppress(Exception), self.store.transaction() as tx:
            after = last_rowid(tx, key)
            advance(
                tx,
                key,
                kind="evaluator",
                name=binding.evaluator.name,
                version=binding.evaluator.version,
                definition=binding.definition,
                until=after,
                error=message,
            )

    def _note_error(self, message: str) -> None:
        self.state.last_error = message[:1000]
        self.state.last_error_at = _now()

    def status(self) -> dict[str, Any]:
        """Per binding and rule: watermark, backlog, counters, last error; plus the worker."""
        cur = self.store.cursor()
        try:
            newest = max_rowid(cur)
            marks = read_watermarks(cur)
            evaluators = []
            for binding in self.config.bindings:
                mark = marks.get(binding.key)
                after = mark.last_rowid if mark else -1
                where, params = binding.selector.where()
                backlog = cur.execute(
                    f"SELECT count(*) FROM spans WHERE rowid > ? AND ({where})", [after, *params]
                ).fetchall()[0]
                evaluators.append(
                    {
                        "key": binding.key,
                        "evaluator": binding.evaluator.name,
                        "version": binding.evaluator.version,
                        "kind": binding.evaluator.kind,
                        "select": binding.selector.to_dict(),
                        "params": dict(binding.evaluator.params),
                        "watermark": after,
                        "backlog": int(backlog[0]) if backlog else 0,
                        **_counters(mark),
                    }
                )
            rules = []
            for rule in self.config.anomaly_rules:
                key = config_key("rule", rule.to_dict())
                mark = marks.get(key)
                after = mark.last_rowid if mark else -1
                rules.append(
                    {
                        "key": key,
                        "rule": rule.name,
                        "metric": rule.metric,
                        "watermark": after,
                        "backlog": max(0, newest - after),
                        **_counters(mark),
                    }
                )
        finally:
            cur.close()
        state = self.state
        return {
            "running": state.running,
            "cycles": state.cycles,
            "last_cycle_at": state.last_cycle_at,
            "last_error": state.last_error,
            "last_error_at": state.last_error_at,
            "config": self.config.source,
            "spans_stored": newest + 1,
            "evaluators": evaluators,
            "rules": rules,
            "threshold_rules": [r.to_dict() for r in self.config.threshold_rules],
            "backlog": sum(e["backlog"] for e in evaluators) + sum(r["backlog"] for r in rules),
        }


def _counters(mark: Any) -> dict[str, Any]:
    if mark is None:
        return {
            "processed": 0,
            "scored": 0,
            "flagged": 0,
            "last_error": None,
            "last_error_at": None,
            "updated_at": None,
        }
    return {
        "processed": mark.processed,
        "scored": mark.scored,
        "flagged": mark.flagged,
        "last_error": mark.last_error,
        "last_error_at": mark.last_error_at,
        "updated_at": mark.updated_at,
    }


def _lower_thread_priority() -> None:
    """Best effort: on Linux a thread has its own nice value; raise this one's."""
    with contextlib.suppress(Exception):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), THREAD_NICENESS)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
