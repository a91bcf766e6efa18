"""loopwise: evaluate, monitor and improve AI workflows in production.

Instrument a workflow::

    import loopwise
    loopwise.init(project="support-bot")

    @loopwise.observe(kind="llm")
    def answer(question: str) -> str: ...

    with loopwise.span("retrieve", kind="retriever") as s:
        s.set_input(question)
        s.set_output(docs)
"""

from __future__ import annotations

__version__ = "0.1.0"

from loopwise.collector.sdk import (
    Client,
    SequentialIdGenerator,
    SpanHandle,
    TestingExporter,
    TickingClock,
)

_default = Client()

init = _default.init
observe = _default.observe
span = _default.span
current_span = _default.current_span
flush = _default.flush
shutdown = _default.shutdown


def default_client() -> Client:
    """The client the module-level functions (``init``, ``observe``, ``span``…) are bound to."""
    return _default


__all__ = [
    "Client",
    "SequentialIdGenerator",
    "SpanHandle",
    "TestingExporter",
    "TickingClock",
    "__version__",
    "current_span",
    "default_client",
    "flush",
    "init",
    "observe",
    "shutdown",
    "span",
]
