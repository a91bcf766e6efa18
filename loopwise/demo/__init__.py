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

Both model calls read their prompt from the registry (``triage-classify`` and
``triage-reply``, label production; ``register_demo_prompts`` stores them) and fall back to
the built-in templates. ``evaluate_reply_prompt`` replays draft_reply over dataset examples
with another prompt version, to show a correction fixing the fault it was about.
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
    learned_lessons,
)
from .loop import ReplyEval, evaluate_reply_prompt, invented_order_ids, ticket_id_of
from .prompts import (
    CATEGORIES,
    CLASSIFY_PROMPT,
    CLASSIFY_TEMPLATE,
    DEMO_PROMPTS,
    REPLY_PROMPT,
    REPLY_TEMPLATE,
    register_demo_prompts,
)
from .traffic import DemoSummary, TraceOutcome, demo_client, run_traffic, ticket_stream
from .workflow import (
    FALLBACK_CATEGORY,
    HOLDING_REPLY,
    Classification,
    Guard,
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
    "CLASSIFY_PROMPT",
    "CLASSIFY_TEMPLATE",
    "DEFAULT_MODEL",
    "DEMO_PROMPTS",
    "ELIGIBLE_TASKS",
    "FALLBACK_CATEGORY",
    "HOLDING_REPLY",
    "PROVIDER",
    "REPLY_PROMPT",
    "REPLY_TEMPLATE",
    "Classification",
    "DemoSummary",
    "FakeModel",
    "Fault",
    "FaultRates",
    "Guard",
    "KbArticle",
    "ModelError",
    "ModelReply",
    "ReplyEval",
    "Task",
    "Ticket",
    "TraceOutcome",
    "TriageResult",
    "demo_client",
    "evaluate_reply_prompt",
    "invented_order_ids",
    "learned_lessons",
    "load_kb",
    "load_tickets",
    "parse_classification",
    "register_demo_prompts",
    "retrieve_articles",
    "run_ticket",
    "run_traffic",
    "ticket_id_of",
    "ticket_stream",
]
