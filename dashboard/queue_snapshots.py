"""Queue snapshots that outlive a browser reload.

A reviewer's queue (``QueueSnapshot``: the grouping, each group's items in order) is kept by
the dashboard process under a short id, and the id goes into the page's URL (``?queue=``).
A reload, or the same URL in another tab, opens a new Streamlit session: it reads the id from
the URL and finds the same snapshot, so the groups, their order and the progress count stay
those the reviewer loaded instead of being recomputed. A snapshot is kept with the scope it
was taken for (grouping and project); an id from another scope, an unknown id (the dashboard
was restarted) or a malformed one starts a new queue.

The snapshots live in the dashboard process (``st.cache_resource``), the newest
``MAX_SNAPSHOTS`` of them; they hold item ids and group labels only.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import streamlit as st

from .review_queue import QueueSnapshot

QUERY_PARAM = "queue"
"""The URL query parameter holding the snapshot id."""
MAX_SNAPSHOTS = 256


@dataclass(frozen=True)
class KeptSnapshot:
    """A snapshot with the scope it was taken for."""

    grouping: str
    project: str
    snapshot: QueueSnapshot


class SnapshotStore:
    """Snapshots by id, newest last; thread-safe (every session of the process shares it)."""

    def __init__(self, capacity: int = MAX_SNAPSHOTS) -> None:
        """An empty store keeping at most ``capacity`` snapshots (the oldest dropped)."""
        self._capacity = capacity
        self._kept: OrderedDict[str, KeptSnapshot] = OrderedDict()
        self._lock = threading.Lock()

    def save(self, kept: KeptSnapshot) -> str:
        """Keep ``kept``; returns its new id."""
        snapshot_id = uuid.uuid4().hex[:12]
        with self._lock:
            self._kept[snapshot_id] = kept
            while len(self._kept) > self._capacity:
                self._kept.popitem(last=False)
        return snapshot_id

    def load(self, snapshot_id: str | None) -> KeptSnapshot | None:
        """The snapshot kept under ``snapshot_id``, or None."""
        if not snapshot_id:
            return None
        with self._lock:
            kept = self._kept.get(snapshot_id)
            if kept is not None:
                self._kept.move_to_end(snapshot_id)
            return kept


@st.cache_resource
def snapshot_store() -> SnapshotStore:
    """The dashboard process's one snapshot store."""
    return SnapshotStore()


def snapshot_in_url(grouping: str, project: str) -> QueueSnapshot | None:
    """The snapshot the page's URL names, if it was taken for this grouping and project."""
    kept = snapshot_store().load(st.query_params.get(QUERY_PARAM))
    if kept is None or (kept.grouping, kept.project) != (grouping, project):
        return None
    return kept.snapshot


def put_snapshot_in_url(grouping: str, project: str, snapshot: QueueSnapshot) -> str:
    """Keep ``snapshot`` and name it in the page's URL; returns its id."""
    snapshot_id = snapshot_store().save(KeptSnapshot(grouping, project, snapshot))
    st.query_params[QUERY_PARAM] = snapshot_id
    return snapshot_id


def forget_url_snapshot() -> None:
    """Drop the snapshot id from the URL (the next run takes a new one)."""
    st.query_params.pop(QUERY_PARAM, None)
