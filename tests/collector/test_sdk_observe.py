"""The SDK: @observe and span() record input, output, errors, usage and nesting, as the
normalized rows the collector would store (TestingExporter), with fixed ids and clock."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import loopwise
from loopwise.collector.sdk.attributes import argument_reader, bound_arguments

EPOCH = dt.datetime(2026, 1, 1)
TICK = dt.timedelta(milliseconds=1)


@pytest.fixture
def exporter() -> loopwise.TestingExporter:
    """The in-memory exporter the test client writes to."""
    return loopwise.TestingExporter()


@pytest.fixture
def client(exporter: loopwise.TestingExporter) -> Iterator[loopwise.Client]:
    """A client with fixed ids and a ticking clock, exporting each span as it ends."""
    traced = loopwise.Client()
    traced.init(
        "sdk-tests",
        exporter=exporter,
        batch=False,
        set_global=False,
        id_generator=loopwise.SequentialIdGenerator(),
        clock=loopwise.TickingClock(),
    )
    yield traced
    traced.shutdown()


def rows_by_name(exporter: loopwise.TestingExporter) -> dict[str, dict[str, Any]]:
    """The exported rows keyed by span name (names are unique within each test)."""
    rows = exporter.rows(project="sdk-tests")
    by_name = {row["name"]: row for row in rows}
    assert len(by_name) == len(rows), "span names must be unique in a test"
    return by_name


def only_row(exporter: loopwise.TestingExporter) -> dict[str, Any]:
    """The single exported row."""
    [row] = exporter.rows(project="sdk-tests")
    return row


def test_sync_function_input_output_and_defaults(client: loopwise.Client, exporter) -> None:
    @client.observe
    def add(a: int, b: int = 2, *rest: int, scale: float = 1.0) -> dict[str, int]:
        return {"sum": a + b + sum(rest)}

    assert add(1, 5, 7, scale=2.0) == {"sum": 13}

    row = only_row(exporter)
    assert row["name"].endswith("add")
    assert row["kind"] == "chain"
    assert row["status"] == "ok"
    assert json.loads(row["input"]) == {"a": 1, "b": 5, "rest": [7], "scale": 2.0}
    assert json.loads(row["output"]) == {"sum": 13}
    assert row["project"] == "sdk-tests"
    assert row["service_name"] == "sdk-tests"
    assert (row["start_time"], row["end_time"], row["duration_ms"]) == (EPOCH, EPOCH + TICK, 1.0)


def test_single_argument_is_recorded_as_itself_and_self_is_dropped(
    client: loopwise.Client, exporter
) -> None:
    class Bot:
        @client.observe(name="Bot.answer", kind="llm")
        def answer(self, question: str) -> str:
            return question.upper()

        @classmethod
        @client.observe(name="Bot.kinds")
        def kinds(cls) -> list[str]:
            return ["a"]

    assert Bot().answer("why?") == "WHY?"
    assert Bot.kinds() == ["a"]

    rows = rows_by_name(exporter)
    assert (rows["Bot.answer"]["input"], rows["Bot.answer"]["output"]) == ("why?", "WHY?")
    assert rows["Bot.answer"]["kind"] == "llm"
    assert json.loads(rows["Bot.answer"]["attributes"])["input.mime_type"] == "text/plain"
    assert rows["Bot.kinds"]["input"] is None
    assert json.loads(rows["Bot.kinds"]["output"]) == ["a"]


async def test_async_function(client: loopwise.Client, exporter) -> None:
    @client.observe(name="fetch")
    async def fetch(url: str, retries: int) -> str:
        await asyncio.sleep(0)
        return f"body of {url}"

    assert await fetch("http://x", retries=1) == "body of http://x"

    row = only_row(exporter)
    assert json.loads(row["input"]) == {"url": "http://x", "retries": 1}
    assert row["output"] == "body of http://x"
    assert row["status"] == "ok"


def test_generator_output_is_the_joined_chunks(client: loopwise.Client, exporter) -> None:
    @client.observe(name="stream")
    def stream(n: int) -> Iterator[str]:
        for i in range(n):
            yield f"t{i} "

    assert list(stream(3)) == ["t0 ", "t1 ", "t2 "]

    row = only_row(exporter)
    assert row["input"] == "3"
    assert row["output"] == "t0 t1 t2 "
    assert row["status"] == "ok"


def test_generator_of_non_strings_and_its_return_value(client: loopwise.Client, exporter) -> None:
    @client.observe(name="numbers")
    def numbers() -> Iterator[int]:
        yield 1
        yield 2

    @client.observe(name="returns")
    def returns() -> Iterator[int]:
        yield 1
        return "done"  # type: ignore[misc]

    assert list(numbers()) == [1, 2]
    assert list(returns()) == [1]

    rows = rows_by_name(exporter)
    assert json.loads(rows["numbers"]["output"]) == [1, 2]
    assert rows["returns"]["output"] == "done"


def test_generator_closed_early_keeps_what_was_yielded(client: loopwise.Client, exporter) -> None:
    @client.observe(name="endless")
    def endless() -> Iterator[str]:
        while True:
            yield "x"

    stream = endless()
    assert [next(stream), next(stream)] == ["x", "x"]
    stream.close()

    row = only_row(exporter)
    assert row["output"] == "xx"
    assert row["status"] == "ok"


async def test_async_generator(client: loopwise.Client, exporter) -> None:
    @client.observe(name="astream")
    async def astream(words: list[str]) -> AsyncIterator[str]:
        for word in words:
            await asyncio.sleep(0)
            yield word

    assert [w async for w in astream(["a", "b", "c"])] == ["a", "b", "c"]

    row = only_row(exporter)
    assert json.loads(row["input"]) == ["a", "b", "c"]
    assert row["output"] == "abc"


def assert_error_row(row: dict[str, Any], message: str) -> None:
    """The row is an error span with the exception's type and message and an exception event."""
    assert row["status"] == "error"
    assert row["status_message"] == message
    [event] = json.loads(row["events"])
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"] == "ZeroDivisionError"
    assert "division by zero" in event["attributes"]["exception.message"]


def test_sync_error_is_recorded_and_the_same_exception_reraised(
    client: loopwise.Client, exporter
) -> None:
    raised: list[BaseException] = []

    @client.observe(name="divide")
    def divide(a: int, b: int) -> float:
        try:
            return a / b
        except ZeroDivisionError as exc:
            raised.append(exc)
            raise

    with pytest.raises(ZeroDivisionError) as caught:
        divide(1, 0)

    assert caught.value is raised[0]
    assert caught.type is ZeroDivisionError
    assert_error_row(only_row(exporter), "ZeroDivisionError: division by zero")


async def test_async_error(client: loopwise.Client, exporter) -> None:
    error = ZeroDivisionError("division by zero (async)")

    @client.observe(name="adivide")
    async def adivide() -> None:
        await asyncio.sleep(0)
        raise error

    with pytest.raises(ZeroDivisionError) as caught:
        await adivide()

    assert caught.value is error
    assert_error_row(only_row(exporter), "ZeroDivisionError: division by zero (async)")


def test_generator_error(client: loopwise.Client, exporter) -> None:
    error = ZeroDivisionError("division by zero mid-stream")

    @client.observe(name="broken_stream")
    def broken_stream() -> Iterator[str]:
        yield "partial"
        raise error

    stream = broken_stream()
    assert next(stream) == "partial"
    with pytest.raises(ZeroDivisionError) as caught:
        next(stream)

    assert caught.value is error
    assert_error_row(only_row(exporter), "ZeroDivisionError: division by zero mid-stream")


async def test_async_generator_error(client: loopwise.Client, exporter) -> None:
    error = ZeroDivisionError("division by zero, async stream")

    @client.observe(name="abroken")
    async def abroken() -> AsyncIterator[int]:
        yield 1
        raise error

    with pytest.raises(ZeroDivisionError) as caught:
        async for _ in abroken():
            pass

    assert caught.value is error
    assert_error_row(only_row(exporter), "ZeroDivisionError: division by zero, async stream")


def test_nesting(client: loopwise.Client, exporter) -> None:
    @client.observe(name="child")
    def child() -> str:
        with client.span("grandchild", kind="tool"):
            return "c"

    @client.observe(name="parent")
    def parent() -> str:
        return child()

    assert parent() == "c"

    rows = rows_by_name(exporter)
    assert rows["parent"]["parent_span_id"] is None
    assert rows["child"]["parent_span_id"] == rows["parent"]["span_id"]
    assert rows["grandchild"]["parent_span_id"] == rows["child"]["span_id"]
    assert len({row["trace_id"] for row in rows.values()}) == 1


def test_generator_body_runs_inside_its_span(client: loopwise.Client, exporter) -> None:
    @client.observe(name="step")
    def step(i: int) -> int:
        return i

    @client.observe(name="producer")
    def producer() -> Iterator[int]:
        yield step(1)
        yield step(2)

    assert list(producer()) == [1, 2]

    rows = exporter.rows(project="sdk-tests")
    producer_row = next(r for r in rows if r["name"] == "producer")
    steps = [r for r in rows if r["name"] == "step"]
    assert len(steps) == 2
    assert {r["parent_span_id"] for r in steps} == {producer_row["span_id"]}


async def test_concurrent_tasks_keep_separate_parents(client: loopwise.Client, exporter) -> None:
    @client.observe(name="leaf")
    async def leaf(tag: str) -> str:
        await asyncio.sleep(0)
        return tag

    @client.observe
    async def branch(tag: str) -> str:
        first = await leaf(f"{tag}-1")
        await asyncio.sleep(0)
        second = await leaf(f"{tag}-2")
        return first + second

    assert await asyncio.gather(branch("a"), branch("b")) == ["a-1a-2", "b-1b-2"]

    rows = exporter.rows(project="sdk-tests")
    branches = {r["input"]: r for r in rows if r["name"].endswith("branch")}
    leaves = [r for r in rows if r["name"] == "leaf"]
    assert set(branches) == {"a", "b"}
    assert len(leaves) == 4
    for leaf_row in leaves:
        owner = branches[leaf_row["input"].split("-")[0]]
        assert leaf_row["parent_span_id"] == owner["span_id"]
        assert leaf_row["trace_id"] == owner["trace_id"]
    assert branches["a"]["trace_id"] != branches["b"]["trace_id"]


def test_span_context_manager_with_every_setter(client: loopwise.Client, exporter) -> None:
    with client.span("call-model", kind="llm", **{"app.route": "/ask"}) as span:
        span.set_input([{"role": "user", "content": "hi"}])
        span.set_output("hello")
        span.set_usage(
            input_tokens=11, output_tokens=4, model="gpt-x", provider="openai", cost_usd=0.002
        )
        span.set_session("session-7")
        span.set_user("user-3")
        span.set_tags(["beta", "eu"])
        span.set_metadata(experiment="A", attempt=2)
        span.set_attribute("app.extra", 5)

    row = only_row(exporter)
    assert row["kind"] == "llm"
    assert json.loads(row["input"]) == [{"role": "user", "content": "hi"}]
    assert row["output"] == "hello"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (11, 4, 15)
    assert (row["model"], row["provider"], row["cost_usd"]) == ("gpt-x", "openai", 0.002)
    assert (row["session_id"], row["user_id"]) == ("session-7", "user-3")
    assert row["tags"] == ["beta", "eu"]
    assert json.loads(row["metadata"]) == {"experiment": "A", "attempt": 2}
    attributes = json.loads(row["attributes"])
    assert (attributes["app.route"], attributes["app.extra"]) == ("/ask", 5)


async def test_span_async_context_manager(client: loopwise.Client, exporter) -> None:
    async with client.span("aretrieve", kind="retriever") as span:
        span.set_input("query")
        await asyncio.sleep(0)
        span.set_output(["doc-1", "doc-2"])

    row = only_row(exporter)
    assert row["kind"] == "retriever"
    assert (row["input"], json.loads(row["output"])) == ("query", ["doc-1", "doc-2"])
    assert row["status"] == "ok"


def test_span_error_propagates_unchanged(client: loopwise.Client, exporter) -> None:
    error = ZeroDivisionError("division by zero in a block")
    with pytest.raises(ZeroDivisionError) as caught, client.span("block"):
        raise error

    assert caught.value is error
    assert_error_row(only_row(exporter), "ZeroDivisionError: division by zero in a block")


def test_observe_keeps_an_explicit_output(client: loopwise.Client, exporter) -> None:
    @client.observe(name="explicit")
    def explicit() -> str:
        client.current_span().set_output("chosen")
        return "returned"

    assert explicit() == "returned"
    assert only_row(exporter)["output"] == "chosen"


def test_capture_flags(client: loopwise.Client, exporter) -> None:
    @client.observe(name="secret", capture_input=False, capture_output=False)
    def secret(password: str) -> str:
        return password[::-1]

    assert secret("hunter2") == "2retnuh"
    row = only_row(exporter)
    assert (row["input"], row["output"]) == (None, None)


def test_only_arguments_that_are_data_are_recorded(client: loopwise.Client, exporter) -> None:
    @dataclasses.dataclass
    class Ticket:
        subject: str

    @client.observe(name="triage")
    def triage(ticket: Ticket, rng: random.Random, tags: list[str], api_key: str) -> str:
        return ticket.subject

    @client.observe(name="draft", ignore_input=["api_key"])
    def draft(question: str, api_key: str) -> str:
        return question.upper()

    @client.observe(name="sample")
    def sample(rng: random.Random) -> float:
        return rng.random()

    triage(Ticket("refund"), random.Random(7), ["vip"], "sk-1")
    draft("where is my parcel?", api_key="sk-2")
    sample(random.Random(7))
    rows = rows_by_name(exporter)
    # The generator's repr is not an input: nothing a dataset or an evaluator could use.
    assert json.loads(rows["triage"]["input"]) == {
        "ticket": {"subject": "refund"},
        "tags": ["vip"],
        "api_key": "sk-1",
    }
    assert json.loads(rows["draft"]["input"]) == {"question": "where is my parcel?"}
    assert rows["sample"]["input"] is None
    assert all("Random" not in str(row["input"]) for row in rows.values())


def positional(a: int, b: int = 2) -> None:
    """Parameters that take positional arguments."""


def starred(a: int, *rest: int, k: int = 1, **more: int) -> None:
    """Every kind of parameter."""


def positional_only(a: int, /, b: int) -> None:
    """A positional-only parameter."""


def keyword_only(*, k: int) -> None:
    """A keyword-only parameter."""


class Holder:
    """A method, and a callable instance that cannot be hashed."""

    __hash__ = None  # type: ignore[assignment]

    def method(self, question: str) -> None:
        """Takes ``self`` first."""

    def __call__(self, x: int) -> None:
        """Called as a function."""


CALLS: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = [
    (positional, (), {}),
    (positional, (1,), {}),
    (positional, (1, 5), {}),
    (positional, (1, 5, 9), {}),  # too many: recorded by position
    (positional, (1,), {"b": 3}),
    (positional, (), {"nope": 3}),
    (starred, (1,), {}),
    (starred, (1, 2, 3), {"k": 4, "x": 5}),
    (positional_only, (1, 2), {}),
    (positional_only, (1,), {"b": 2}),
    (keyword_only, (), {"k": 1}),
    (keyword_only, (1,), {}),
    (Holder.method, (Holder(), "why?"), {}),
    (Holder(), (7,), {}),
    (max, (1, 2), {}),  # no signature to read
    (positional, (random.Random(1), [1, 2]), {}),  # an argument that is not data
]


@pytest.mark.parametrize(("func", "args", "kwargs"), CALLS)
@pytest.mark.parametrize("ignore", [(), ("b", "k")])
def test_arguments_read_without_binding_are_the_bound_ones(
    func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], ignore: tuple[str, ...]
) -> None:
    read = argument_reader(func, ignore)

    assert read(args, kwargs) == bound_arguments(func, args, kwargs, ignore)


def test_capture_content_off_records_neither_input_nor_output(exporter) -> None:
    quiet = loopwise.Client()
    quiet.init("sdk-tests", exporter=exporter, batch=False, set_global=False, capture_content=False)

    @quiet.observe(name="secret")
    def secret(password: str) -> str:
        return password[::-1]

    try:
        assert secret("hunter2") == "2retnuh"
    finally:
        quiet.shutdown()
    row = only_row(exporter)
    assert (row["input"], row["output"], row["status"]) == (None, None, "ok")


def test_an_input_that_fails_to_serialize_is_left_out(client: loopwise.Client, exporter) -> None:
    @dataclasses.dataclass
    class Wrapper:
        inside: object

    @client.observe(name="wrapped")
    def wrapped(value: Wrapper) -> str:
        return "fine"

    assert wrapped(Wrapper(Unprintable())) == "fine"
    row = only_row(exporter)
    assert (row["input"], row["output"], row["status"]) == (None, "fine", "ok")


def test_unknown_kind_is_refused_at_declaration(client: loopwise.Client) -> None:
    with pytest.raises(ValueError, match="unknown span kind"):
        client.observe(kind="banana")
    with pytest.raises(ValueError, match="unknown span kind"):
        client.span("x", kind="banana")


def run_scenario() -> list[dict[str, Any]]:
    """A fixed workload (nesting, usage, an error) traced by a fresh deterministic client."""
    exporter = loopwise.TestingExporter()
    client = loopwise.Client()
    client.init(
        "repro",
        exporter=exporter,
        batch=False,
        set_global=False,
        id_generator=loopwise.SequentialIdGenerator(),
        clock=loopwise.TickingClock(),
    )

    @client.observe(name="divide")
    def divide(a: int, b: int) -> float:
        return a / b

    @client.observe(name="pipeline", kind="agent")
    def pipeline(question: str) -> float:
        with client.span("model", kind="llm") as span:
            span.set_usage(input_tokens=3, output_tokens=2, model="m", provider="p")
            span.set_output("42")
        return divide(1, 0)

    try:
        with pytest.raises(ZeroDivisionError):
            pipeline("q")
        return exporter.rows(project="repro")
    finally:
        client.shutdown()


def test_rows_are_exactly_reproducible() -> None:
    first, second = run_scenario(), run_scenario()

    assert first == second
    by_name = {row["name"]: row for row in first}
    assert by_name["pipeline"]["trace_id"] == "00000000000000000000000000000001"
    assert by_name["pipeline"]["span_id"] == "0000000000000001"
    assert by_name["model"]["span_id"] == "0000000000000002"
    assert by_name["model"]["parent_span_id"] == "0000000000000001"
    assert by_name["divide"]["parent_span_id"] == "0000000000000001"
    assert by_name["pipeline"]["start_time"] == EPOCH
    assert by_name["model"]["start_time"] == EPOCH + TICK
    assert by_name["model"]["duration_ms"] == 1.0
    assert by_name["pipeline"]["status"] == by_name["divide"]["status"] == "error"


def test_plain_opentelemetry_spans_nest_under_observe(client: loopwise.Client, exporter) -> None:
    other = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(other))
    tracer = provider.get_tracer("third-party-instrumentation")

    @client.observe(name="outer")
    def outer() -> str:
        with tracer.start_as_current_span("http-call"):
            return "ok"

    try:
        assert outer() == "ok"
    finally:
        provider.shutdown()

    outer_row = only_row(exporter)
    [http_call] = other.get_finished_spans()
    assert http_call.parent is not None
    assert format(http_call.context.trace_id, "032x") == outer_row["trace_id"]
    assert format(http_call.parent.span_id, "016x") == outer_row["span_id"]


class Unprintable:
    """An object whose repr and str both raise."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")

    __str__ = __repr__


def test_unserializable_values_never_break_the_call(client: loopwise.Client, exporter) -> None:
    @client.observe(name="takes_anything")
    def takes_anything(value: object) -> object:
        return value

    @client.observe(name="two_args")
    def two_args(value: object, n: int) -> int:
        return n

    thing = Unprintable()
    assert takes_anything(thing) is thing
    assert two_args(thing, 5) == 5
    with client.span("manual") as span:
        span.set_input(thing)
        span.set_output(thing)
        span.set_metadata(thing=thing)
        span.set_tags([thing])  # type: ignore[list-item]
        span.set_usage(input_tokens="lots")  # type: ignore[arg-type]

    rows = rows_by_name(exporter)
    assert set(rows) == {"takes_anything", "two_args", "manual"}
    assert all(row["status"] == "ok" for row in rows.values())
    assert rows["takes_anything"]["input"] is None
    assert (rows["two_args"]["input"], rows["two_args"]["output"]) == ('{"n": 5}', "5")
    assert rows["manual"]["input_tokens"] is None


def test_spans_without_init_go_nowhere_and_do_not_fail() -> None:
    fresh = loopwise.Client()

    @fresh.observe
    def work(x: int) -> int:
        return x + 1

    with fresh.span("idle") as span:
        span.set_output("nothing")
    assert work(1) == 2
    assert fresh.flush()
