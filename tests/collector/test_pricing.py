"""The price table: shipped data, model-name matching, cost arithmetic, user overrides and
the errors a bad price file gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loopwise.collector.pricing import ModelPrice, PriceTable, PriceTableError


def write(path: Path, document: Any) -> Path:
    """Write ``document`` as JSON (or text, when it is a string) and return the path."""
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_the_shipped_table_is_versioned_and_sane() -> None:
    table = PriceTable.shipped()
    assert table.version >= "2025-01-01"
    assert len(table) >= 30
    for name in ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "text-embedding-3-small"):
        price = table.lookup(name)
        assert price is not None and price.provider
        assert price.input >= 0 and price.output >= 0
        assert price.cached_input is None or price.cached_input <= price.input


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("gpt-4o", "gpt-4o"),
        ("GPT-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),  # an exact entry beats its family's price
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("claude-3-5-sonnet@20240620", "claude-3-5-sonnet"),
        ("us.anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("models/gemini-2.0-flash", "gemini-2.0-flash"),
    ],
)
def test_models_match_exactly_or_as_a_dated_snapshot(model: str, entry: str) -> None:
    price = PriceTable.shipped().lookup(model)
    assert price is not None and price.model == entry


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o-ultra",  # a longer name is another model, not a variant
        "gpt-4",  # listed, but must not match gpt-4o or gpt-4-turbo
        "gpt-3.5-turbo-0125",  # old four-digit snapshots were priced differently
        "o1-preview",
        "chatgpt-4o-latest",
        "my-azure-deployment",
        "",
        "-20241022",
        "gpt",
    ],
)
def test_other_names_get_no_price_or_their_own(model: str) -> None:
    price = PriceTable.shipped().lookup(model)
    assert price is None or price.model == model.lower()


def test_cost_arithmetic_with_cache_reads_and_writes() -> None:
    price = ModelPrice("m", input=3.0, output=15.0, cached_input=0.3, cache_write=3.75)
    # 1,000 uncached x 3 + 2,000 read x 0.3 + 500 written x 3.75 + 100 out x 15, per 1M
    assert price.cost(3_500, 100, 2_000, 500) == pytest.approx(0.0069750)
    # cache counts larger than the input count (a client counting them apart) never go negative
    assert price.cost(100, 0, 1_000, 0) == pytest.approx(1_000 * 0.3 / 1e6)
    no_cache_prices = ModelPrice("m", input=1.0, output=2.0)
    assert no_cache_prices.cost(1_000, 1_000, 500, 0) == pytest.approx(0.003)


def test_no_cost_without_a_model_match_or_an_input_count() -> None:
    table = PriceTable.shipped()
    assert table.cost("unknown-model", 10, 10) is None
    assert table.cost(None, 10, 10) is None
    assert table.cost("gpt-4o", None, 10) is None
    assert table.cost("text-embedding-3-small", 1_000_000, None) == pytest.approx(0.02)


def test_a_user_file_adds_and_replaces_entries(tmp_path: Path) -> None:
    path = write(
        tmp_path / "prices.json",
        {
            "version": "acme-2026-02",
            "models": {
                "acme-large": {"input": 1, "output": 2, "provider": "acme"},
                "GPT-4o": {"input": 100, "output": 200},
            },
        },
    )
    table = PriceTable.load(path)
    assert table.version == f"{PriceTable.shipped().version}+acme-2026-02"
    assert table.cost("acme-large", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert table.cost("gpt-4o-2024-08-06", 1_000_000, 0) == pytest.approx(100.0)
    assert table.lookup("gpt-4o-mini") == PriceTable.shipped().lookup("gpt-4o-mini")


def test_replace_drops_the_shipped_entries(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.json",
        {"version": "v1", "replace": True, "models": {"only": {"input": 1, "output": 1}}},
    )
    table = PriceTable.load(path)
    assert (table.version, len(table)) == ("v1", 1)
    assert table.lookup("gpt-4o") is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        ([], "expected a JSON object"),
        ({"models": {}}, '"version" must be a non-empty string'),
        ({"version": "v", "models": []}, '"models" must be an object'),
        ({"version": "v", "currency": "EUR", "models": {}}, '"currency" must be "USD"'),
        ({"version": "v", "unit": "per 1K tokens", "models": {}}, '"unit" must be'),
        ({"version": "v", "replace": "yes", "models": {}}, '"replace" must be true or false'),
        ({"version": "v", "models": {"m": {"input": 1}}}, "model 'm': \"output\""),
        ({"version": "v", "models": {"m": {"input": -1, "output": 1}}}, "non-negative"),
        ({"version": "v", "models": {"m": {"input": "1", "output": 1}}}, "must be a number"),
        ({"version": "v", "models": {"m": {"input": 1, "output": 1, "ouput": 1}}}, "ouput"),
        ({"version": "v", "models": {"m": 3}}, "expected an object"),
        ({"version": "v", "models": {"M": {"input": 1, "output": 1}, "m": {}}}, "listed twice"),
        ({"version": "v", "models": {"m": {"input": 1, "output": 1, "provider": 7}}}, "provider"),
    ],
)
def test_a_bad_price_file_gets_a_clear_error(tmp_path: Path, document: Any, message: str) -> None:
    path = write(tmp_path / "bad.json", document)
    with pytest.raises(PriceTableError) as raised:
        PriceTable.load(path)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_a_missing_price_file_gets_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PriceTableError, match="cannot read price file"):
        PriceTable.load(tmp_path / "absent.json")


def test_lookups_are_remembered_but_bounded() -> None:
    table = PriceTable({"m": ModelPrice("m", 1.0, 1.0)}, "v")
    for i in range(10_000):
        assert table.lookup(f"unknown-{i}") is None
    assert table.lookup("M") is not None
    assert len(table._matches) <= 4096
