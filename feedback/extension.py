"""The feedback extension of the collector: the /api/reviews, /api/datasets, /api/prompts and
/api/calibration routes (and Langfuse's /api/public/v2/prompts/{name}), and a background
thread that opens review items for new flags and end-user thumbs-down every
``sync_interval_s``."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from .api import feedback_routes
from .langfuse_prompts import langfuse_prompt_routes
from .review_sources import sync_review_items

if TYPE_CHECKING:
    from loopwise.collector.server.app import Collector

log = logging.getLogger("loopwise.feedback")


class FeedbackExtension:
    """Hosts the feedback loop in the collector process (the store's only writer)."""

    name = "feedback"

    def __init__(self, *, sync_interval_s: float | None = 2.0) -> None:
        self.sync_interval_s = sync_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.syncs = 0

    def routes(self, collector: Collector) -> list[BaseRoute]:
        """The feedback API routes, bound to the collector's store."""
        return feedback_routes(collector.store) + langfuse_prompt_routes(collector.store)

    def start(self, collector: Collector) -> None:
        """Start the review-item sync thread (unless ``sync_interval_s`` is None)."""
        if self.sync_interval_s is None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(collector,), name="loopwise-feedback-sync", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the sync thread and wait for a running sync to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def _run(self, collector: Collector) -> None:
        interval = self.sync_interval_s or 2.0
        while not self._stop.wait(interval):
            try:
                sync_review_items(collector.store)
                self.syncs += 1
            except Exception:  # a bad row must not stop the thread or the collector
                log.exception("review item sync failed")
