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
    Prompt,
    PromptUnavailable,
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
prompt = _default.prompt
# ``loopwise.feedback(...)`` also works: the loopwise.feedback subpackage is callable and
# forwards to this (see feedback/__init__.py); this name is the one type checkers follow.
user_feedback = _default.feedback


def __getattr__(name: str) -> object:
    # The feedback subpackage loads on first use of ``loopwise.feedback``, so importing the
    # SDK stays light; the module is callable (end-user feedback) and holds the review API.
    if name == "feedback":
        import importlib

        return importlib.import_module("loopwise.feedback")
    raise AttributeError(f"module 'loopwise' has no attribute {name!r}")


def default_client() -> Client:
    """The client the module-level functions (``init``, ``observe``, ``span``…) are bound to."""
    return _default


__all__ = [
    "Client",
    "Prompt",
    "PromptUnavailable",
    "SequentialIdGenerator",
    "SpanHandle",
    "TestingExporter",
    "TickingClock",
    "__version__",
    "current_span",
    "default_client",
    "feedback",
    "flush",
    "init",
    "observe",
    "prompt",
    "shutdown",
    "span",
    "user_feedback",
]
