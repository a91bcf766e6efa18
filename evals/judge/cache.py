"""The judge cache: a verdict per (evaluator, version, model, input), so reruns cost nothing.

Only readable verdicts are cached; an errored call is tried again next time. The store
cache keeps entries in the ``judge_cache`` table (writes buffered and flushed per batch);
the memory cache is for scripts and tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import pyarrow as pa

from loopwise.collector.store import Store


@dataclass(frozen=True)
class CachedVerdict:
    """What a cached call returned."""

    label: str
    score: float | None
    explanation: str
    passed: bool
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None


class JudgeCache(Protocol):
    """Where verdicts are kept between runs."""

    def get(self, key: str) -> CachedVerdict | None:
        """The cached verdict for ``key``, if any."""
        ...

    def put(self, key: str, evaluator: str, version: str, verdict: CachedVerdict) -> None:
        """Remember a verdict."""
        ...

    def flush(self) -> None:
        """Persist buffered entries."""
        ...


def cache_key(evaluator: str, version: str, model: str, messages: list[dict[str, str]]) -> str:
    """The key of a judge call: evaluator, version, model and the exact prompt."""
    material = json.dumps([evaluator, version, model, messages], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


class MemoryJudgeCache:
    """A cache in a dict (one process, gone at exit)."""

    def __init__(self) -> None:
        self._entries: dict[str, CachedVerdict] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedVerdict | None:
        """The cached verdict for ``key``, if any."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, evaluator: str, version: str, verdict: CachedVerdict) -> None:
        """Remember a verdict."""
        with self._lock:
            self._entries[key] = verdict

    def flush(self) -> None:
        """Nothing to persist."""

    def __len__(self) -> int:
        return len(self._entries)


class StoreJudgeCache:
    """A cache in the store's ``judge_cache`` table."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedVerdict | None:
        """The cached verdict for ``key``, if any (pending writes included)."""
        with self._lock:
            pending = self._pending.get(key)
        if pending is not None:
            return CachedVerdict(**json.loads(pending["result"]))
        rows = self.store.query("SELECT result FROM judge_cache WHERE cache_key = ?", [key]).rows
        if not rows:
            return None
        try:
            return CachedVerdict(**json.loads(rows[0][0]))
        except (TypeError, ValueError):
            return None

    def put(self, key: str, evaluator: str, version: str, verdict: CachedVerdict) -> None:
        """Buffer a verdict until ``flush``."""
        entry = {
            "cache_key": key,
            "evaluator": evaluator,
            "evaluator_version": version,
            "model": verdict.model,
            "result": json.dumps(asdict(verdict)),
            "input_tokens": verdict.input_tokens,
            "output_tokens": verdict.output_tokens,
            "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        }
        with self._lock:
            self._pending[key] = entry

    def flush(self) -> None:
        """Write buffered verdicts in one transaction."""
        with self._lock:
            entries, self._pending = list(self._pending.values()), {}
        if entries:
            self.store.append_rows("judge_cache", pa.Table.from_pylist(entries))
