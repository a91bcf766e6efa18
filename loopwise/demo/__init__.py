"""The demo: a support-triage workflow on a seeded fake model, with realistic faults.

``loopwise demo`` and ``loopwise up --demo`` run it. Use it from Python too::

    from loopwise.demo import demo_client, run_traffic

    client = demo_client(db="demo.duckdb")       # or endpoint="http://127.0.0.1:4318"
    summary = run_traffic(client, count=50, interval_s=0.2, seed=7)
    client.shutdown()

Each ticket from ``datasets/support_tickets`` becomes one trace (triage_ticket → classify,
retrieve, draft_reply). The fake model injects, at ``FaultRates``: invalid JSON from
classify, invented order ids and refusals in replies, slow calls, and upstream errors.
The same seed always produces the same traces.
"""

from .fake_model import (
    DEFAULT_MODEL,
    ELIGIBLE_TASKS,
    PROVIDER,
    FakeModel,
    Fault,
    FaultRates,
    ModelError,
    ModelReply,
    Task,
)
from .traffic import DemoSummary, TraceOutcome, demo_client, run_traffic, ticket_stream
from .workflow import (
    CATEGORIES,
    FALLBACK_CATEGORY,
    Classification,
    KbArticle,
    Ticket,
    TriageResult,
    load_kb,
    load_tickets,
    parse_classification,
    retrieve_articles,
    run_ticket,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_MODEL",
    "ELIGIBLE_TASKS",
    "FALLBACK_CATEGORY",
    "PROVIDER",
    "Classification",
    "DemoSummary",
    "FakeModel",
    "Fault",
    "FaultRates",
    "KbArticle",
    "ModelError",
    "ModelReply",
    "Task",
    "Ticket",
    "TraceOutcome",
    "TriageResult",
    "demo_client",
    "load_kb",
    "load_tickets",
    "parse_classification",
    "retrieve_articles",
    "run_ticket",
    "run_traffic",
    "ticket_stream",
]
