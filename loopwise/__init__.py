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

from collections.abc import Sequence
from typing import Any

__version__ = "0.1.0"  # the one copy: pyproject.toml reads it from here (dynamic version)

from loopwise.collector.sdk import (
    Client,
    Prompt,
    PromptUnavailable,
    SequentialIdGenerator,
    SpanHandle,
    TestingExporter,
    TickingClock,
)
from loopwise.guard import CheckResult, Decision, GuardFailed, Ticket, check, guarded, hold

_default = Client()

init = _default.init
span = _default.span
current_span = _default.current_span
flush = _default.flush
shutdown = _default.shutdown
prompt = _default.prompt
# End-user feedback; ``loopwise.feedback`` is the review-loop package, a different thing.
user_feedback = _default.feedback


def __getattr__(name: str) -> object:
    # The review-loop package loads on first use of ``loopwise.feedback``, so importing the
    # SDK stays light.
    if name == "feedback":
        import importlib

        return importlib.import_module("loopwise.feedback")
    raise AttributeError(f"module 'loopwise' has no attribute {name!r}")


def observe(
    fn: Any = None,
    *,
    name: str | None = None,
    kind: str = "chain",
    capture_input: bool = True,
    capture_output: bool = True,
    ignore_input: Sequence[str] = (),
    guard: Sequence[str] | None = None,
    on_fail: Any = "hold",
    hold_timeout_s: float = 300.0,
) -> Any:
    """Trace every call of a function as a span (see ``Client.observe``). With ``guard``
    (evaluator names) the result is checked inside the span; when it fails, ``on_fail`` holds
    it for a person ("hold", the default: the approved or corrected output is returned),
    raises GuardFailed ("raise"), or calls your function ``(output, check) -> output``."""

    def decorate(func: Any) -> Any:
        inner = guarded(func, guard, on_fail, hold_timeout_s=hold_timeout_s) if guard else func
        return _default.observe(
            name=name,
            kind=kind,
            capture_input=capture_input,
            capture_output=capture_output,
            ignore_input=ignore_input,
        )(inner)

    return decorate(fn) if fn is not None else decorate


def default_client() -> Client:
    """The client the module-level functions (``init``, ``observe``, ``span``…) are bound to."""
    return _default


__all__ = [
    "CheckResult",
    "Client",
    "Decision",
    "GuardFailed",
    "Prompt",
    "PromptUnavailable",
    "SequentialIdGenerator",
    "SpanHandle",
    "TestingExporter",
    "Ticket",
    "TickingClock",
    "__version__",
    "check",
    "current_span",
    "default_client",
    "feedback",
    "flush",
    "hold",
    "init",
    "observe",
    "prompt",
    "shutdown",
    "span",
    "user_feedback",
]
