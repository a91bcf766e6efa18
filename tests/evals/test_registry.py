"""The evaluator registry: names, options, import paths and the entry-point group."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwise.evals import (
    ENTRY_POINT_GROUP,
    Evaluator,
    Registry,
    Score,
    SpanView,
    UnknownEvaluator,
    default_registry,
    evaluator,
)


@evaluator(name="always_passes")
def always_passes(span: SpanView) -> Score:
    return Score(passed=True)


def test_builtins_are_registered() -> None:
    names = default_registry().names()
    for expected in (
        "valid_json",
        "json_schema",
        "regex",
        "contains",
        "exact_match",
        "token_f1",
        "rouge_l",
        "tfidf_similarity",
        "length_bounds",
        "latency_threshold",
        "token_threshold",
        "cost_threshold",
        "error_status",
        "refusal",
        "pii_leakage",
        "invented_identifiers",
        "language_mismatch",
        "correctness_judge",
        "faithfulness_judge",
        "relevance_judge",
        "helpfulness_judge",
        "toxicity_judge",
    ):
        assert expected in names


def test_create_with_and_without_options() -> None:
    registry = default_registry()
    made = registry.create("regex", {"pattern": r"ORD-\d+"})
    assert made.key == "regex@1" and made.params == {"pattern": r"ORD-\d+"}
    assert registry.create("refusal").name == "refusal"
    with pytest.raises(ValueError, match="takes no options"):
        registry.create("refusal", {"strict": True})
    with pytest.raises(ValueError, match="bad regular expression"):
        registry.create("regex", {"pattern": "(unclosed"})
    with pytest.raises(ValueError, match="bad options for evaluator regex"):
        registry.create("regex", {"patern": "x"})


def test_unknown_name_lists_the_known_ones() -> None:
    registry = Registry(load_entry_points=False)
    registry.register(always_passes)
    with pytest.raises(UnknownEvaluator, match="no evaluator named 'nope'; known: always_passes"):
        registry.get("nope")


def test_taken_names_need_replace() -> None:
    registry = Registry(load_entry_points=False)
    registry.register(always_passes)
    registry.register(always_passes)  # the same object again is fine

    @evaluator(name="always_passes")
    def impostor(span: SpanView) -> Score:
        return Score(passed=False)

    with pytest.raises(ValueError, match="already registered"):
        registry.register(impostor)
    registry.register(impostor, replace=True)
    assert registry.get("always_passes") is impostor
    with pytest.raises(TypeError, match="takes what @evaluator returns"):
        registry.register(lambda span: None)  # type: ignore[arg-type]


def test_import_paths() -> None:
    registry = Registry(load_entry_points=False)
    found = registry.get("loopwise.evals.builtins:refusal")
    assert isinstance(found, Evaluator) and found.name == "refusal"
    with pytest.raises(UnknownEvaluator, match="cannot import"):
        registry.get("no.such.module:thing")
    with pytest.raises(UnknownEvaluator, match="not an @evaluator"):
        registry.get("loopwise.evals:Score")


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[str]:
    """A package with an entry point in the loopwise.evaluators group, on sys.path."""
    module = tmp_path / "acme_evals.py"
    module.write_text(
        textwrap.dedent(
            """
            from loopwise.evals import Score, SpanView, evaluator

            @evaluator(name="acme_polite", version="7")
            def acme_polite(span: SpanView) -> Score:
                return Score(passed="please" in (span.output or "").lower())

            not_an_evaluator = 42
            """
        )
    )
    info = tmp_path / "acme_evals-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-evals\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nacme_polite = acme_evals:acme_polite\n"
        "broken = acme_evals:not_an_evaluator\nmissing = acme_evals_gone:thing\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield "acme_polite"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("acme_evals", None)


def test_entry_points_are_loaded_and_broken_ones_reported(installed_plugin: str) -> None:
    registry = Registry()
    assert installed_plugin in registry.names()
    polite = registry.create(installed_plugin)
    assert polite.version == "7"
    view = SpanView(project="p", trace_id="t", span_id="s", name="n", kind="llm", output="Please")
    assert polite(view) == Score(passed=True)
    errors = " | ".join(registry.entry_point_errors)
    assert "broken = acme_evals:not_an_evaluator" in errors and "not an @evaluator" in errors
    assert "missing = acme_evals_gone:thing" in errors
