"""The price table: USD per million tokens per model, read from a versioned JSON file.

The table that ships with loopwise is ``prices.json`` beside this module. A user file (the
``LOOPWISE_PRICES`` path, or ``CollectorConfig.prices_path``) has the same format; its entries
replace shipped ones of the same model and add new ones (``"replace": true`` drops the
shipped entries altogether)::

    {"version": "2026-01-15", "models": {"my-model": {"input": 1.0, "output": 2.0,
     "cached_input": 0.5, "cache_write": 1.25, "provider": "acme"}}}

Model names match exactly (case-insensitive), then with a routing prefix removed
(``openai/gpt-4o``, Bedrock's ``us.anthropic.``), then with a dated snapshot or version
suffix removed (``gpt-4o-2024-08-06``, ``claude-3-5-sonnet-20241022``, ``@20240620``,
``-latest``, ``-001``, ``-v1:0``), retrying the exact match after each step. Nothing else:
a model that does not match gets no cost, never a guessed one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

SHIPPED_FILE = "prices.json"
UNIT = "per 1M tokens"
ENTRY_FIELDS = frozenset({"provider", "input", "output", "cached_input", "cache_write"})
MAX_CACHED_NAMES = 4096

_PREFIXES = (re.compile(r"^(?:[a-z]{2,4}\.)?anthropic\."),)
_SUFFIXES = tuple(
    re.compile(pattern)
    for pattern in (
        r"-v\d+(?::\d+)?$",  # Bedrock: -v1:0
        r"-\d{4}-\d{2}-\d{2}$",  # OpenAI snapshots: -2024-08-06
        r"-\d{8}$",  # Anthropic snapshots: -20241022
        r"@\d{8}$",  # Vertex AI: @20240620
        r"-latest$",
        r"-\d{3}$",  # Gemini: -001
    )
)


class PriceTableError(ValueError):
    """A price file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Prices of one model in USD per million tokens.

    ``cached_input`` is the price of input tokens read from a prompt cache and
    ``cache_write`` of those written to it; either defaults to ``input`` when absent.
    """

    model: str
    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None
    provider: str | None = None

    def cost(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
    ) -> float:
        """USD for one call. ``input_tokens`` counts every input token, cached ones
        included (as OTel GenAI and OpenInference report them); absent counts are zero."""
        cache_read = cache_read_tokens or 0
        cache_write = cache_write_tokens or 0
        uncached = max((input_tokens or 0) - cache_read - cache_write, 0)
        read_price = self.input if self.cached_input is None else self.cached_input
        write_price = self.input if self.cache_write is None else self.cache_write
        total = (
            uncached * self.input
            + cache_read * read_price
            + cache_write * write_price
            + (output_tokens or 0) * self.output
        )
        return total / 1_000_000


class PriceTable:
    """Model prices with a version; ``lookup`` matches model names as the module says."""

    def __init__(self, prices: Mapping[str, ModelPrice], version: str) -> None:
        self.version = version
        self._prices = {name.lower(): price for name, price in prices.items()}
        self._matches: dict[str, ModelPrice | None] = {}

    def __len__(self) -> int:
        return len(self._prices)

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and model.lower() in self._prices

    @classmethod
    def shipped(cls) -> PriceTable:
        """The table that ships with loopwise (read once per process)."""
        return _shipped()

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceTable:
        """The shipped table with the file at ``path`` applied over it (none: shipped only).

        Raises PriceTableError, naming the file and the problem, when the file is unusable.
        """
        shipped = cls.shipped()
        if path is None or str(path) == "":
            return shipped
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PriceTableError(f"cannot read price file {source}: {exc}") from None
        version, prices, replace = parse_price_document(text, str(source))
        merged = dict(prices) if replace else {**shipped._prices, **prices}
        return cls(merged, f"{version}" if replace else f"{shipped.version}+{version}")

    def lookup(self, model: str) -> ModelPrice | None:
        """The price entry for ``model``, or None when no entry matches it."""
        found = self._matches.get(model, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        match = self._match(model.strip().lower())
        if len(self._matches) >= MAX_CACHED_NAMES:
            self._matches.clear()
        self._matches[model] = match
        return match

    def cost(
        self,
        model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
    ) -> float | None:
        """USD for one call of ``model``, or None when the model is unknown or the input
        token count is (a missing output count is taken as zero, as for embeddings)."""
        if not model or input_tokens is None:
            return None
        price = self.lookup(model)
        if price is None:
            return None
        return price.cost(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)

    def _match(self, name: str) -> ModelPrice | None:
        prices = self._prices
        if name in prices:
            return prices[name]
        if "/" in name:  # routing prefixes: openai/gpt-4o, models/gemini-2.0-flash
            name = name.rsplit("/", 1)[1]
            if name in prices:
                return prices[name]
        for prefix in _PREFIXES:
            name = prefix.sub("", name)
        changed = True
        while changed:
            changed = False
            if name in prices:
                return prices[name]
            for suffix in _SUFFIXES:
                shorter = suffix.sub("", name)
                if shorter != name and shorter:
                    name, changed = shorter, True
                    break
        return prices.get(name)


_MISSING = object()


@cache
def _shipped() -> PriceTable:
    text = resources.files(__package__).joinpath(SHIPPED_FILE).read_text(encoding="utf-8")
    version, prices, _ = parse_price_document(text, f"the shipped {SHIPPED_FILE}")
    return PriceTable(prices, version)


def parse_price_document(text: str, source: str) -> tuple[str, dict[str, ModelPrice], bool]:
    """``(version, prices, replace)`` from the text of a price file; PriceTableError when
    it is not one."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PriceTableError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PriceTableError(f"{source}: expected a JSON object with version and models")
    version = document.get("version")
    if not isinstance(version, str) or not version.strip():
        raise PriceTableError(f'{source}: "version" must be a non-empty string (e.g. a date)')
    if document.get("currency", "USD") != "USD":
        raise PriceTableError(f'{source}: "currency" must be "USD"')
    if document.get("unit", UNIT) != UNIT:
        raise PriceTableError(f'{source}: "unit" must be "{UNIT}"')
    replace = document.get("replace", False)
    if not isinstance(replace, bool):
        raise PriceTableError(f'{source}: "replace" must be true or false')
    models = document.get("models")
    if not isinstance(models, dict):
        raise PriceTableError(f'{source}: "models" must be an object of model name → prices')
    prices: dict[str, ModelPrice] = {}
    for name, entry in models.items():
        key = name.strip().lower()
        if not key:
            raise PriceTableError(f"{source}: a model name is empty")
        if key in prices:
            raise PriceTableError(f"{source}: model {name!r} is listed twice")
        prices[key] = _entry(entry, key, source)
    return version.strip(), prices, replace


def _entry(entry: Any, name: str, source: str) -> ModelPrice:
    where = f"{source}: model {name!r}"
    if not isinstance(entry, dict):
        raise PriceTableError(f"{where}: expected an object with input and output prices")
    unknown = set(entry) - ENTRY_FIELDS
    if unknown:
        raise PriceTableError(
            f"{where}: unknown field(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(ENTRY_FIELDS))}"
        )
    provider = entry.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise PriceTableError(f'{where}: "provider" must be a string')
    return ModelPrice(
        model=name,
        input=_price(entry, "input", where, required=True),  # type: ignore[arg-type]
        output=_price(entry, "output", where, required=True),  # type: ignore[arg-type]
        cached_input=_price(entry, "cached_input", where),
        cache_write=_price(entry, "cache_write", where),
        provider=provider,
    )


def _price(
    entry: dict[str, Any], field: str, where: str, *, required: bool = False
) -> float | None:
    value = entry.get(field)
    if value is None:
        if required:
            raise PriceTableError(f'{where}: "{field}" (USD {UNIT}) is required')
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PriceTableError(f'{where}: "{field}" must be a number, got {value!r:.40}')
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise PriceTableError(f'{where}: "{field}" must be a non-negative number')
    return number
