"""Offline re-scoring: run evaluators over spans already stored, without calling the
workflow again (``loopwise eval score``).

Pages of matching spans are read in rowid order; each page is scored by every binding
whose selector matches, and its scores (and the flags of threshold rules) are stored in
one transaction. Score ids hang on the run id, so every run appends its own rows and a
page repeated within a run adds nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from loopwise.collector.semconv import SPAN_KINDS
from loopwise.collector.store import Store

from .config import Binding, EvalsConfig
from .persist import store_results
from .registry import Registry, default_registry
from .rules import ThresholdRule
from .runner import Runtime, evaluate
from .selectors import Selector
from .source import max_rowid, prepare, query_arrow, read_window, with_context

DEFAULT_PAGE = 2000
SCAN_ROWS = 50_000


class RescoreError(ValueError):
    """The re-scoring request is invalid (unknown evaluator, bad filter)."""


@dataclass(frozen=True)
class SpanFilters:
    """Which stored spans to re-score: span start time range, projects, kinds, names."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    projects: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in SPAN_KINDS]
        if unknown:
            raise RescoreError(
                f"unknown span kind {unknown[0]!r}; expected one of {', '.join(SPAN_KINDS)}"
            )
        if self.since and self.until and self.since > self.until:
            raise RescoreError("since is after until")

    def where(self) -> tuple[str, list[Any]]:
        """The filters as a SQL condition on ``spans``."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.since:
            clauses.append("start_time >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("start_time < ?")
            params.append(self.until)
        for values, column in ((self.projects, "project"), (self.kinds, "kind")):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params += list(values)
        if self.names:
            clauses.append("(" + " OR ".join("name GLOB ?" for _ in self.names) + ")")
            params += list(self.names)
        return (" AND ".join(clauses) or "TRUE"), params

    def to_dict(self) -> dict[str, Any]:
        """The filters as JSON-ready values."""
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "projects": list(self.projects),
            "kinds": list(self.kinds),
            "names": list(self.names),
        }


@dataclass
class EvaluatorTally:
    """Counts for one evaluator over a run."""

    name: str
    version: str
    scored: int = 0
    passed: int = 0
    failed: int = 0
    errored: int = 0
    flagged: int = 0


@dataclass
class PageResult:
    """One page of a re-scoring run."""

    spans: int
    next_after: int
    done: bool
    tallies: dict[str, EvaluatorTally] = field(default_factory=dict)


def choose_bindings(
    config: EvalsConfig, names: Sequence[str] = (), registry: Registry | None = None
) -> list[Binding]:
    """The bindings to run: all of ``config`` when ``names`` is empty; else, per name, the
    config's bindings of that evaluator, or the registered evaluator over every span."""
    if not names:
        return list(config.bindings)
    registry = registry or default_registry()
    chosen: list[Binding] = []
    for name in names:
        matching = [b for b in config.bindings if b.evaluator.name == name]
        if matching:
            chosen += matching
            continue
        try:
            chosen.append(Binding(registry.create(name), Selector(), use=name))
        except (KeyError, ValueError, TypeError) as exc:
            message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            raise RescoreError(message) from None
    return chosen


def count_spans(store: Store, filters: SpanFilters) -> int:
    """How many stored spans match ``filters``."""
    where, params = filters.where()
    return int(store.query(f"SELECT count(*) FROM spans WHERE {where}", params).rows[0][0])


def rescore_page(
    store: Store,
    bindings: Sequence[Binding],
    filters: SpanFilters,
    *,
    after: int = -1,
    limit: int = DEFAULT_PAGE,
    run_id: str,
    rules: Sequence[ThresholdRule] = (),
    runtime: Runtime | None = None,
) -> PageResult:
    """Score the next ``limit`` matching spans after rowid ``after``."""
    runtime = runtime or Runtime(store=store)
    where, params = filters.where()
    cur = store.cursor()
    try:
        page, last, done = _next_page(cur, after, max_rowid(cur), where, params, limit)
        if page.num_rows == 0:
            return PageResult(0, last, True)
        if any(b.evaluator.needs_context for b in bindings):
            page = with_context(cur, page)  # once per page, shared by the bindings
        tallies: dict[str, EvaluatorTally] = {}
        results = []
        for binding in bindings:
            selected = _select(cur, page, binding.selector)
            if selected.num_rows == 0:
                continue
            evaluator = binding.evaluator
            ready, traces = prepare(cur, evaluator.target, evaluator.needs_context, selected)
            results.append((binding, evaluate(evaluator, ready, traces=traces, runtime=runtime)))
    finally:
        cur.close()
    with store.transaction() as tx:
        for binding, result in results:
            scored, flagged = store_results(
                tx,
                result,
                id_prefix=f"{run_id}:{binding.key}",
                rules=rules,
                metadata={"run": run_id, "mode": "offline", "config": binding.key},
            )
            tally = tallies.setdefault(
                binding.evaluator.key,
                EvaluatorTally(binding.evaluator.name, binding.evaluator.version),
            )
            _count(tally, result.table, scored, flagged)
    return PageResult(page.num_rows, last, done, tallies)


def _next_page(
    cur: Any, after: int, newest: int, where: str, params: list[Any], limit: int
) -> tuple[Any, int, bool]:
    """Up to ``limit`` matching spans after ``after``, read in bounded rowid windows (an
    unbounded ``ORDER BY rowid LIMIT`` makes DuckDB sort every later row, every page).
    Returns the page, where the next page starts, and whether the table is exhausted."""
    step = max(limit * 4, SCAN_ROWS)
    parts = []
    got = 0
    position = after
    while position < newest and got < limit:
        until = min(newest, position + step)
        part = read_window(cur, position, until, where, params, limit=limit - got)
        parts.append(part)
        got += part.num_rows
        position = int(part.column("_rowid")[-1].as_py()) if got >= limit else until
    if not parts:
        return read_window(cur, after, after), max(after, newest), True
    return pa.concat_tables(parts), position, position >= newest


def _select(cur: Any, page: Any, selector: Selector) -> Any:
    """The page's rows the selector matches: DuckDB evaluates the condition on the rowids
    only, and Arrow filters the page (no copy of the text columns through DuckDB)."""
    where, params = selector.where()
    if where == "TRUE":
        return page
    columns = ["_rowid", "project", "kind", "name", "service_name", "tags", "trace_id", "span_id"]
    cur.register("_rescore_page", page.select([c for c in columns if c in page.column_names]))
    try:
        chosen = query_arrow(cur, f"SELECT _rowid FROM _rescore_page WHERE {where}", params)
    finally:
        cur.unregister("_rescore_page")
    return page.filter(pc.is_in(page.column("_rowid"), value_set=chosen.column("_rowid")))


def _count(tally: EvaluatorTally, table: Any, scored: int, flagged: int) -> None:
    status = table.column("status").to_pylist()
    passed = table.column("passed").to_pylist()
    tally.scored += scored
    tally.flagged += flagged
    tally.errored += sum(s == "errored" for s in status)
    tally.passed += sum(p is True for p in passed)
    tally.failed += sum(p is False for p in passed)


def rescore(
    store: Store,
    bindings: Sequence[Binding],
    filters: SpanFilters,
    *,
    rules: Sequence[ThresholdRule] = (),
    page_size: int = DEFAULT_PAGE,
    run_id: str | None = None,
    progress: Callable[[int], None] | None = None,
    runtime: Runtime | None = None,
) -> dict[str, EvaluatorTally]:
    """Re-score every span matching ``filters``; ``progress`` hears spans done per page."""
    if not bindings:
        raise RescoreError("no evaluators to run")
    run = run_id or new_run_id()
    after = -1
    totals: dict[str, EvaluatorTally] = {}
    while True:
        page = rescore_page(
            store,
            bindings,
            filters,
            after=after,
            limit=page_size,
            run_id=run,
            rules=rules,
            runtime=runtime,
        )
        merge_tallies(totals, page.tallies)
        if progress is not None and page.spans:
            progress(page.spans)
        if page.done:
            return totals
        after = page.next_after


def merge_tallies(into: dict[str, EvaluatorTally], more: dict[str, EvaluatorTally]) -> None:
    """Add ``more``'s counts to ``into``."""
    for key, tally in more.items():
        mine = into.setdefault(key, EvaluatorTally(tally.name, tally.version))
        for name in ("scored", "passed", "failed", "errored", "flagged"):
            setattr(mine, name, getattr(mine, name) + getattr(tally, name))


def new_run_id() -> str:
    """A fresh run id."""
    return "run-" + uuid.uuid4().hex[:16]
