"""``@evaluator``: the forms it accepts, and the mistakes it refuses at declaration."""

from __future__ import annotations

import asyncio

import pandas as pd
import pyarrow as pa
import pytest

from loopwise.evals import (
    BatchScores,
    Evaluator,
    EvaluatorDeclarationError,
    EvaluatorFactory,
    Score,
    ScoreError,
    SpanView,
    TraceView,
    evaluate,
    evaluator,
)


def view(output: str | None = "hello", **fields: object) -> SpanView:
    return SpanView(
        project="p",
        trace_id="t" * 32,
        span_id="s" * 16,
        name="n",
        kind="llm",
        output=output,
        **fields,
    )  # type: ignore[arg-type]


def two_spans(first: str, second: str) -> pa.Table:
    return pa.table(
        {
            "project": ["p", "p"],
            "trace_id": ["a", "b"],
            "span_id": ["1", "2"],
            "name": ["n", "n"],
            "kind": ["llm", "llm"],
            "output": [first, second],
        }
    )


def test_plain_function_is_still_callable() -> None:
    @evaluator(name="not_empty", version="2")
    def not_empty(span: SpanView) -> Score:
        return Score(passed=bool(span.output))

    assert isinstance(not_empty, Evaluator)
    assert (not_empty.name, not_empty.version, not_empty.kind) == ("not_empty", "2", "code")
    assert not_empty.target == "span" and not not_empty.is_async
    assert not_empty(view("x")) == Score(passed=True)


def test_bare_decorator_takes_the_function_name() -> None:
    @evaluator
    def short(span: SpanView) -> Score:
        return Score(value=len(span.output or ""))

    assert isinstance(short, Evaluator) and short.key == "short@1"


def test_async_and_trace_forms() -> None:
    @evaluator(name="answered", version="1", kind="llm")
    async def answered(trace: TraceView) -> Score:
        return Score(passed=trace.output is not None)

    assert isinstance(answered, Evaluator)
    assert answered.target == "trace" and answered.is_async and answered.kind == "llm"
    trace = TraceView.from_rows(
        [
            {
                "project": "p",
                "trace_id": "t",
                "span_id": "a",
                "name": "r",
                "kind": "chain",
                "output": "done",
            }
        ]
    )
    assert asyncio.run(answered(trace)) == Score(passed=True)


def test_batch_forms_arrow_and_pandas() -> None:
    @evaluator(name="len_arrow")
    def len_arrow(spans: pa.Table) -> BatchScores:
        return BatchScores(value=[len(o or "") for o in spans.column("output").to_pylist()])

    @evaluator(name="len_pandas")
    def len_pandas(spans: pd.DataFrame) -> list[Score | None]:
        return [Score(value=len(o)) if isinstance(o, str) else None for o in spans["output"]]

    assert isinstance(len_arrow, Evaluator) and len_arrow.batch_format == "arrow"
    assert isinstance(len_pandas, Evaluator) and len_pandas.batch_format == "pandas"
    table = pa.table(
        {
            "project": ["p", "p"],
            "trace_id": ["a", "b"],
            "span_id": ["1", "2"],
            "name": ["n", "n"],
            "output": ["abc", None],
        }
    )
    assert [r["value"] for r in evaluate(len_arrow, table).records()] == [3.0, 0.0]
    assert [r["value"] for r in evaluate(len_pandas, table).records()] == [3.0]


def test_factory_with_options() -> None:
    @evaluator(name="has_word", version="3")
    def has_word(word: str, case_sensitive: bool = False) -> Evaluator:
        def score(span: SpanView) -> Score:
            text = span.output or ""
            return Score(passed=word in (text if case_sensitive else text.lower()))

        return score  # type: ignore[return-value]

    assert isinstance(has_word, EvaluatorFactory)
    made = has_word(word="refund")
    assert made.key == "has_word@3" and made.params == {"word": "refund"}
    assert made(view("About your REFUND")) == Score(passed=True)
    with pytest.raises(ValueError, match="bad options for evaluator has_word"):
        has_word(wrod="refund")


def test_class_form() -> None:
    @evaluator(name="max_len", version="1")
    class MaxLen:
        """Output at most ``limit`` characters."""

        def __init__(self, limit: int = 10) -> None:
            self.limit = limit

        def evaluate(self, span: SpanView) -> Score:
            return Score(passed=len(span.output or "") <= self.limit)

    assert isinstance(MaxLen, EvaluatorFactory) and MaxLen.description.startswith("Output")
    assert MaxLen(limit=3)(view("abcd")) == Score(passed=False)
    assert MaxLen()(view("abcd")) == Score(passed=True)


def test_factory_that_forgot_to_return_fails_at_declaration() -> None:
    with pytest.raises(EvaluatorDeclarationError, match="never returns a value"):

        @evaluator(name="forgetful")
        def forgetful(threshold: float) -> Evaluator:
            def score(span: SpanView) -> Score:
                return Score(passed=True)

    # Without source to read (e.g. built with exec), the call catches it instead.
    namespace: dict[str, object] = {"SpanView": SpanView, "Score": Score, "Evaluator": Evaluator}
    exec(
        "def forgetful(threshold: float) -> Evaluator:\n"
        "    def score(span: SpanView) -> Score:\n"
        "        return Score(passed=True)\n",
        namespace,
    )
    factory = evaluator(name="forgetful")(namespace["forgetful"])  # type: ignore[arg-type]
    assert isinstance(factory, EvaluatorFactory)
    with pytest.raises(EvaluatorDeclarationError, match="returned None: did you forget"):
        factory(threshold=0.5)


def test_factory_returning_something_else() -> None:
    @evaluator(name="odd")
    def odd(threshold: float) -> Evaluator:
        return threshold  # type: ignore[return-value]

    with pytest.raises(EvaluatorDeclarationError, match="returned float, not a scoring function"):
        odd(threshold=0.5)


def test_factory_whose_inner_function_is_wrong() -> None:
    @evaluator(name="inner")
    def inner(limit: int) -> Evaluator:
        def score(text: str) -> Score:
            return Score(passed=True)

        return score  # type: ignore[return-value]

    with pytest.raises(EvaluatorDeclarationError, match="first parameter must be named 'span'"):
        inner(limit=1)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(s: SpanView): ...", "is this an evaluator or a factory"),
        ("def f(s: SpanView) -> Score:\n    return Score(passed=True)", "first parameter must"),
        ("def f(span) -> Score: ...", "parameter 'span' needs a type annotation"),
        ("def f(span: SpanView): ...", "add a return annotation: -> Score"),
        ("def f(span: str) -> Score: ...", "'span' must be annotated SpanView, got str"),
        ("def f(trace: SpanView) -> Score: ...", "'trace' must be annotated TraceView"),
        ("def f(spans: list) -> BatchScores: ...", "'spans' must be annotated pa.Table"),
        ("def f(spans: pa.Table) -> Score: ...", "must return BatchScores"),
        ("def f(span: SpanView) -> bool: ...", "must return Score, but is annotated -> bool"),
        ("def f(span: SpanView, limit: int = 3) -> Score: ...", "unexpected parameter 'limit'"),
        ("def f(*, span: SpanView) -> Score: ...", "'span' must be a positional parameter"),
        ("def f(span: SpanView) -> Score:\n    yield Score(passed=True)", "cannot yield"),
        ("def f(limit) -> Evaluator:\n    return g", "option 'limit' needs a type annotation"),
        ("def f(**options: int) -> Evaluator:\n    return g", "must be named parameters"),
        ("def f(limit: int) -> int:\n    return 1", "must be annotated -> Evaluator"),
        ("async def f(limit: int) -> Evaluator:\n    return g", "must be a plain (sync)"),
    ],
)
def test_wrong_signatures_fail_at_declaration(source: str, message: str) -> None:
    namespace: dict[str, object] = {
        "SpanView": SpanView,
        "Score": Score,
        "Evaluator": Evaluator,
        "TraceView": TraceView,
        "BatchScores": BatchScores,
        "pa": pa,
    }
    exec(source, namespace)
    with pytest.raises(EvaluatorDeclarationError, match=_escape(message)):
        evaluator(name="f")(namespace["f"])  # type: ignore[arg-type]


def _escape(text: str) -> str:
    import re

    return re.escape(text)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "has space"}, "evaluator name 'has space'"),
        ({"name": "x", "version": 2}, "version must be a short string"),
        ({"name": "x", "kind": "human"}, "kind must be 'code' or 'llm'"),
    ],
)
def test_bad_identity(options: dict[str, object], message: str) -> None:
    def f(span: SpanView) -> Score:
        return Score(passed=True)

    with pytest.raises(EvaluatorDeclarationError, match=_escape(message)):
        evaluator(**options)(f)  # type: ignore[arg-type]


def test_class_without_a_scoring_method() -> None:
    with pytest.raises(EvaluatorDeclarationError, match="needs a method evaluate"):

        @evaluator(name="empty")
        class Empty:
            pass

    with pytest.raises(EvaluatorDeclarationError, match="option 'limit' needs a type annotation"):

        @evaluator(name="untyped")
        class Untyped:
            def __init__(self, limit) -> None:  # type: ignore[no-untyped-def]
                self.limit = limit

            def evaluate(self, span: SpanView) -> Score:
                return Score(passed=True)


def test_string_name_positionally_is_refused() -> None:
    with pytest.raises(EvaluatorDeclarationError, match="with keywords"):
        evaluator("name")  # type: ignore[call-overload]


def test_score_checks_itself() -> None:
    with pytest.raises(ScoreError, match="needs a value, a label or passed"):
        Score()
    with pytest.raises(ScoreError, match="finite"):
        Score(value=float("nan"))
    with pytest.raises(ScoreError, match="must be a number"):
        Score(value="0.5")  # type: ignore[arg-type]
    with pytest.raises(ScoreError, match="cannot pass or fail"):
        Score(status="errored", error="x", passed=True)
    with pytest.raises(ScoreError, match="needs an error message"):
        Score(status="errored")
    assert Score.errored("judge timed out").passed is None


def test_misbehaving_evaluators_give_errored_scores_not_crashes() -> None:
    @evaluator(name="boom")
    def boom(span: SpanView) -> Score:
        raise RuntimeError("kaput")

    @evaluator(name="wrong_type")
    def wrong_type(span: SpanView) -> Score:
        return True  # type: ignore[return-value]

    @evaluator(name="batch_boom")
    def batch_boom(spans: pa.Table) -> BatchScores:
        return BatchScores(value=[1.0])  # wrong length

    table = two_spans("x", "y")
    for declared, message in (
        (boom, "evaluator raised RuntimeError: kaput"),
        (wrong_type, "evaluator returned bool, expected Score"),
        (batch_boom, "BatchScores.value has 1 entries for a batch of 2 rows"),
    ):
        assert isinstance(declared, Evaluator)
        records = evaluate(declared, table).records()
        assert len(records) == 2
        assert all(r["status"] == "errored" and r["passed"] is None for r in records)
        assert message in records[0]["error"]


def test_optional_return_skips_items() -> None:
    @evaluator(name="only_long")
    def only_long(span: SpanView) -> Score | None:
        return Score(value=1.0) if len(span.output or "") > 3 else None

    table = two_spans("long text", "x")
    assert isinstance(only_long, Evaluator)
    assert [r["span_id"] for r in evaluate(only_long, table).records()] == ["1"]


def test_direction_is_declared_checked_and_kept_by_factories() -> None:
    @evaluator(name="slow_calls", direction="lower")
    def slowness(max_ms: float) -> Evaluator:
        def score(span: SpanView) -> Score:
            return Score(value=span.duration_ms, passed=(span.duration_ms or 0) <= max_ms)

        return score  # type: ignore[return-value]

    assert slowness.direction == "lower"
    assert slowness(max_ms=10).direction == "lower"

    @evaluator
    def plain(span: SpanView) -> Score:
        return Score(passed=True)

    assert plain.direction == "higher"
    with pytest.raises(EvaluatorDeclarationError, match="direction must be one of"):

        @evaluator(name="wrong", direction="up")  # type: ignore[call-overload]
        def wrong(span: SpanView) -> Score:
            return Score(passed=True)
