"""Demo traffic: run the triage workflow over the shipped tickets, one trace per ticket."""

from __future__ import annotations

import logging
import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import count as counting
from itertools import islice
from pathlib import Path

from loopwise.collector.sdk import DEFAULT_ENDPOINT, Client

from .fake_model import ELIGIBLE_TASKS, FakeModel, Fault, FaultRates, ModelError
from .prompts import register_demo_prompts
from .workflow import Guard, KbArticle, Ticket, load_kb, load_tickets, run_ticket

DEFAULT_PROJECT = "support-bot"
log = logging.getLogger("loopwise.demo")


@dataclass(frozen=True, slots=True)
class TraceOutcome:
    """How one ticket's trace ended; ``reply`` and ``category`` are None for an error."""

    ticket_id: str
    trace_id: str | None
    ok: bool
    category: str | None
    reply: str | None
    faults: tuple[Fault, ...]
    error: str | None = None


@dataclass(slots=True)
class DemoSummary:
    """Counts over a traffic run: traces, error traces, faults by type, model calls by task."""

    traces: int = 0
    errors: int = 0
    faults: Counter[Fault] = field(default_factory=Counter)
    model_calls: Counter[str] = field(default_factory=Counter)

    def fault_rate(self, fault: Fault) -> float:
        """How often ``fault`` was injected per eligible model call (0.0 before any call)."""
        eligible = sum(self.model_calls[task] for task in ELIGIBLE_TASKS[fault])
        return self.faults[fault] / eligible if eligible else 0.0


def ticket_stream(tickets: Sequence[Ticket], seed: int) -> Iterator[Ticket]:
    """Every ticket once per round, rounds without end, each round in a seeded order."""
    if not tickets:
        return
    for round_number in counting():
        order = list(tickets)
        random.Random(f"{seed}:order:{round_number}").shuffle(order)
        yield from order


def run_traffic(
    client: Client,
    *,
    count: int | None = None,
    interval_s: float = 1.0,
    seed: int = 7,
    time_scale: float = 1.0,
    rates: FaultRates | None = None,
    stop: threading.Event | None = None,
    on_trace: Callable[[TraceOutcome], None] | None = None,
    summary: DemoSummary | None = None,
    guard: Guard | None = None,
) -> DemoSummary:
    """Send ``count`` traces (None: until ``stop`` is set) through ``client``.

    Pauses ``interval_s`` between traces; setting ``stop`` ends the pause and the run at
    once. ``seed`` fixes the ticket order and every fault; ``time_scale`` scales the fake
    model's real latency (0: no sleeping). A ModelError ends that trace as an error and the
    run goes on; ``on_trace`` hears about every trace. Pass your own ``summary`` to keep the
    counts when the run is interrupted (e.g. by Ctrl-C); it is updated after every trace.
    With ``guard`` each draft reply is checked and a failing one held for review. Flushes
    ``client`` before returning.
    """
    if count is not None and count < 0:
        raise ValueError(f"count must be >= 0 or None, got {count}")
    if interval_s < 0:
        raise ValueError(f"interval_s must be >= 0, got {interval_s}")
    stop = stop if stop is not None else threading.Event()
    model = FakeModel(seed, rates=rates, time_scale=time_scale)
    kb = load_kb()
    summary = summary if summary is not None else DemoSummary()
    for index, ticket in enumerate(islice(ticket_stream(load_tickets(), seed), count)):
        if index and interval_s > 0:
            stop.wait(interval_s)
        if stop.is_set():
            break
        outcome = _run_one(client, model, ticket, kb, guard)
        summary.traces += 1
        summary.errors += not outcome.ok
        summary.faults.update(outcome.faults)
        summary.model_calls = model.calls.copy()
        if on_trace is not None:
            on_trace(outcome)
    client.flush()
    return summary


def _run_one(
    client: Client,
    model: FakeModel,
    ticket: Ticket,
    kb: Sequence[KbArticle],
    guard: Guard | None = None,
) -> TraceOutcome:
    faults_before = model.faults.copy()
    try:
        result = run_ticket(client, model, ticket, kb, guard)
    except ModelError as error:
        injected = model.faults - faults_before
        return TraceOutcome(
            ticket_id=ticket["id"],
            trace_id=error.trace_id,
            ok=False,
            category=None,
            reply=None,
            faults=tuple(sorted(injected.elements())),
            error=f"{type(error).__name__}: {error}",
        )
    return TraceOutcome(
        ticket_id=ticket["id"],
        trace_id=result.trace_id,
        ok=True,
        category=result.classification.category,
        reply=result.reply,
        faults=result.faults,
    )


def demo_client(
    project: str = DEFAULT_PROJECT,
    endpoint: str | None = None,
    db: str | Path | None = None,
    *,
    api_key: str | None = None,
    register_prompts: bool = True,
) -> Client:
    """A new Client (not the global one) for the demo: local mode into the DuckDB file
    ``db`` when given, else OTLP to ``endpoint`` (default: $LOOPWISE_ENDPOINT or the local
    collector) with ``api_key`` (default: $LOOPWISE_API_KEY). The caller owns the client
    and should ``shutdown()`` it when done.

    With ``register_prompts``, the demo's prompts are stored in the registry there unless
    present (best effort: without a registry the workflow uses its built-in templates)."""
    client = Client()
    client.init(
        project,
        endpoint=endpoint,
        mode="local" if db is not None else "otlp",
        db=db,
        api_key=api_key,
        set_global=False,
    )
    if register_prompts:
        _register_prompts(endpoint, db, api_key)
    return client


def _register_prompts(endpoint: str | None, db: str | Path | None, api_key: str | None) -> None:
    from loopwise.collector.api_errors import ApiError
    from loopwise.collector.store import StoreError
    from loopwise.feedback import Backend, HttpBackend, LocalBackend

    try:
        backend: Backend
        if db is not None:
            backend = LocalBackend(Path(db))
        else:
            url = endpoint or os.environ.get("LOOPWISE_ENDPOINT") or DEFAULT_ENDPOINT
            key = api_key or os.environ.get("LOOPWISE_API_KEY")
            backend = HttpBackend(url, key, timeout_s=5.0)
        with backend:
            register_demo_prompts(backend)
    except (ApiError, StoreError, OSError) as exc:
        log.info("demo prompts not registered (%s); using the built-in templates", exc)
