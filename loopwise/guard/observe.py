"""``@loopwise.observe(guard=[...], on_fail=...)``: check a function's result inside its span
and, when the check fails, hold it for a person, raise, or hand it to your own function."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .check import CheckResult, check
from .hold import DEFAULT_WAIT_S, Decision, hold

F = TypeVar("F", bound=Callable[..., Any])
OnFail = Callable[[Any, CheckResult], Any]


class GuardFailed(Exception):
    """A guarded call's output failed its check and was not released: ``check`` says why,
    ``decision`` is the reviewer's (rejected) or the timeout when it was held."""

    def __init__(self, check: CheckResult, decision: Decision | None = None) -> None:
        reasons = "; ".join(check.reasons()) or "check failed"
        outcome = f" ({decision.action})" if decision else ""
        super().__init__(f"output failed its check{outcome}: {reasons}")
        self.check = check
        self.decision = decision


def guarded(
    func: F,
    guard: Sequence[str],
    on_fail: str | OnFail,
    *,
    hold_timeout_s: float = DEFAULT_WAIT_S,
) -> F:
    """``func`` with its result checked by ``guard`` evaluators; on failure ``on_fail`` is
    "hold" (return the approved or corrected output; raise GuardFailed when rejected or
    undecided), "raise" (GuardFailed), or a function ``(output, check) -> output``."""
    if on_fail not in ("hold", "raise") and not callable(on_fail):
        raise ValueError('on_fail must be "hold", "raise" or a function (output, check)')
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError("guard= works on functions that return their output, not generators")
    evaluators = list(guard)

    def first_argument(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        values = [*args, *kwargs.values()]
        return values[0] if len(values) == 1 else {"args": list(args), **kwargs}

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            output = await func(*args, **kwargs)
            given = first_argument(args, kwargs)
            result = check(output, evaluators=evaluators, input=given)
            if result.passed:
                return output
            if callable(on_fail):
                return on_fail(output, result)
            if on_fail == "raise":
                raise GuardFailed(result)
            decision = await hold(output=output, input=given, check=result).wait_async(
                hold_timeout_s
            )
            if decision.released:
                return decision.output
            raise GuardFailed(result, decision)

        return guarded_async  # type: ignore[return-value]

    @functools.wraps(func)
    def guarded_sync(*args: Any, **kwargs: Any) -> Any:
        output = func(*args, **kwargs)
        given = first_argument(args, kwargs)
        result = check(output, evaluators=evaluators, input=given)
        if result.passed:
            return output
        if callable(on_fail):
            return on_fail(output, result)
        if on_fail == "raise":
            raise GuardFailed(result)
        decision = hold(output=output, input=given, check=result).wait(hold_timeout_s)
        if decision.released:
            return decision.output
        raise GuardFailed(result, decision)

    return guarded_sync  # type: ignore[return-value]
