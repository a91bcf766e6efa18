"""``@observe``: trace a sync, async, generator or async generator function as one span."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncGenerator, Callable, Collection, Generator
from typing import Any, TypeVar

from .attributes import argument_reader
from .live import NO_INPUT, LiveSpan

log = logging.getLogger("loopwise.sdk")

F = TypeVar("F", bound=Callable[..., Any])
MAX_COLLECTED_ITEMS = 10_000

# A started span for a name and the call's input (NO_INPUT: none to record).
SpanFactory = Callable[[str, Any], LiveSpan]


def observe_function(
    fn: F,
    new_span: SpanFactory,
    *,
    name: str | None,
    capture_input: bool,
    capture_output: bool,
    ignore_input: Collection[str] = (),
) -> F:
    """Wrap ``fn`` so each call runs inside its own span, keeping its kind of callable."""
    span_name = name or fn.__qualname__
    read_input = argument_reader(fn, ignore_input) if capture_input else None

    def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> LiveSpan:
        value: Any = NO_INPUT
        if read_input is not None:
            try:
                arguments = read_input(args, kwargs)
                if arguments != {}:
                    value = arguments
            except Exception:
                log.debug("could not capture input of %s", span_name, exc_info=True)
        return new_span(span_name, value)

    def finish(live: LiveSpan, output: Any) -> None:
        if capture_output and not live.handle.output_set:
            live.handle.set_output(output)

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def async_gen_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            live = start(args, kwargs)
            items: list[Any] = []
            agen = fn(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            try:
                while True:
                    with live.current():
                        try:
                            if thrown is not None:
                                item = await agen.athrow(thrown)
                                thrown = None
                            else:
                                item = await agen.asend(sent)
                        except StopAsyncIteration:
                            break
                    _collect(items, item)
                    try:
                        sent = yield item
                    except GeneratorExit:
                        await agen.aclose()
                        raise
                    except BaseException as exc:
                        thrown = exc
                finish(live, _joined(items))
            except BaseException as exc:
                live.fail(exc)
                if isinstance(exc, GeneratorExit):
                    finish(live, _joined(items))
                raise
            finally:
                live.end()

        return async_gen_wrapper  # type: ignore[return-value]

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            live = start(args, kwargs)
            try:
                token = live.attach()
                try:
                    result = await fn(*args, **kwargs)
                finally:
                    live.detach(token)
                finish(live, result)
                return result
            except BaseException as exc:
                live.fail(exc)
                raise
            finally:
                live.end()

        return async_wrapper  # type: ignore[return-value]

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            live = start(args, kwargs)
            items: list[Any] = []
            gen = fn(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            try:
                while True:
                    with live.current():
                        try:
                            if thrown is not None:
                                item = gen.throw(thrown)
                                thrown = None
                            else:
                                item = gen.send(sent)
                        except StopIteration as stop:
                            returned = stop.value
                            break
                    _collect(items, item)
                    try:
                        sent = yield item
                    except GeneratorExit:
                        gen.close()
                        raise
                    except BaseException as exc:
                        thrown = exc
                finish(live, _joined(items) if returned is None else returned)
                return returned
            except BaseException as exc:
                live.fail(exc)
                if isinstance(exc, GeneratorExit):
                    finish(live, _joined(items))
                raise
            finally:
                live.end()

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
        live = start(args, kwargs)
        try:
            token = live.attach()
            try:
                result = fn(*args, **kwargs)
            finally:
                live.detach(token)
            finish(live, result)
            return result
        except BaseException as exc:
            live.fail(exc)
            raise
        finally:
            live.end()

    return sync_wrapper  # type: ignore[return-value]


def _collect(items: list[Any], item: Any) -> None:
    if len(items) < MAX_COLLECTED_ITEMS:
        items.append(item)


def _joined(items: list[Any]) -> Any:
    """Streamed text chunks read best joined; anything else stays a list."""
    if items and all(isinstance(i, str) for i in items):
        return "".join(items)
    return items
