"""Scheduled retention: with ``retention_days`` set, the collector deletes traces older than
that many days (and what derives from them, see collector/store/retention.py) at start and
then every ``retention_interval_s``, on a thread of its own."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from ..store import Store
from ..store.retention import DeletionReport, Selection, delete_data

log = logging.getLogger(__name__)


RETENTION_ACTOR = "retention"
"""The audit log's actor for scheduled deletions."""


class RetentionTask:
    """Applies the age limit periodically; ``runs`` and ``last_report`` say what it did."""

    def __init__(self, store: Store, retention_days: float, interval_s: float) -> None:
        self.store = store
        self.age = dt.timedelta(days=retention_days)
        self.interval_s = interval_s
        self.runs = 0
        self.deleted = 0
        self.last_report: DeletionReport | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; the first pass runs straight away."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="loopwise-retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, waiting for a running pass to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)
            self._thread = None

    def run_once(self) -> DeletionReport:
        """One pass: delete what is older than the limit now."""
        report = delete_data(self.store, Selection(older_than=self.age), actor=RETENTION_ACTOR)
        self.runs += 1
        self.deleted += report.total_deleted
        self.last_report = report
        if report.total_deleted:
            log.info("retention deleted %s", report.deleted)
        return report

    def status(self) -> dict[str, object]:
        """What /health shows about retention."""
        return {
            "retention_days": self.age.total_seconds() / 86400,
            "runs": self.runs,
            "deleted_rows": self.deleted,
            "last_error": self.last_error,
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                self.last_error = None
            except Exception as exc:  # a failed pass is retried next time; the collector goes on
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("retention pass failed")
            self._stop.wait(self.interval_s)
