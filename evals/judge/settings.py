"""Judge settings: any OpenAI-compatible endpoint, from arguments or the environment.

``LOOPWISE_JUDGE_BASE_URL`` (e.g. https://api.openai.com/v1), ``LOOPWISE_JUDGE_API_KEY``,
``LOOPWISE_JUDGE_MODEL``; optional ``LOOPWISE_JUDGE_CONCURRENCY``,
``LOOPWISE_JUDGE_TIMEOUT_S``, ``LOOPWISE_JUDGE_MAX_RETRIES`` and prices in USD per million
tokens ``LOOPWISE_JUDGE_PRICE_INPUT`` / ``LOOPWISE_JUDGE_PRICE_OUTPUT`` (otherwise a small
table of known models, else no cost).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

ENV = {
    "base_url": "LOOPWISE_JUDGE_BASE_URL",
    "api_key": "LOOPWISE_JUDGE_API_KEY",
    "model": "LOOPWISE_JUDGE_MODEL",
    "concurrency": "LOOPWISE_JUDGE_CONCURRENCY",
    "timeout_s": "LOOPWISE_JUDGE_TIMEOUT_S",
    "max_retries": "LOOPWISE_JUDGE_MAX_RETRIES",
    "price_input_per_m": "LOOPWISE_JUDGE_PRICE_INPUT",
    "price_output_per_m": "LOOPWISE_JUDGE_PRICE_OUTPUT",
}
# USD per million (input, output) tokens; longest matching prefix wins.
KNOWN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
}


class JudgeConfigError(ValueError):
    """The judge is not configured well enough to call; the message says what to set."""


@dataclass(frozen=True)
class JudgeSettings:
    """Where and how the judge calls its model."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 30.0
    max_retries: int = 4
    concurrency: int = 8
    temperature: float = 0.0
    max_tokens: int = 600
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 60.0
    price_input_per_m: float | None = None
    price_output_per_m: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.base_url, str) or not self.base_url.startswith(
            ("http://", "https://")
        ):
            raise JudgeConfigError(
                f"judge base URL must start with http:// or https://, got {self.base_url!r} "
                "(set LOOPWISE_JUDGE_BASE_URL)"
            )
        if not isinstance(self.model, str) or not self.model:
            raise JudgeConfigError("name the judge model (set LOOPWISE_JUDGE_MODEL)")
        if self.timeout_s <= 0 or self.concurrency < 1 or self.max_retries < 0:
            raise JudgeConfigError("timeout_s > 0, concurrency >= 1 and max_retries >= 0")

    @classmethod
    def from_env(cls, **overrides: Any) -> JudgeSettings:
        """Settings from LOOPWISE_JUDGE_* variables, then ``overrides`` (None = unset)."""
        values: dict[str, Any] = {}
        types = {f.name: f.type for f in fields(cls)}
        for name, variable in ENV.items():
            raw = os.environ.get(variable)
            if raw:
                values[name] = _convert(name, str(types[name]), raw, variable)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values.get("base_url"):
            raise JudgeConfigError(
                "no judge endpoint: set LOOPWISE_JUDGE_BASE_URL (an OpenAI-compatible /v1 URL)"
            )
        if not values.get("model"):
            raise JudgeConfigError("no judge model: set LOOPWISE_JUDGE_MODEL")
        unknown = sorted(set(values) - set(types))
        if unknown:
            raise JudgeConfigError(f"unknown judge setting {unknown[0]!r}")
        return cls(**values)

    def with_options(self, **options: Any) -> JudgeSettings:
        """A copy with some settings changed (None leaves a setting as is)."""
        return replace(self, **{k: v for k, v in options.items() if v is not None})

    def prices(self) -> tuple[float, float] | None:
        """USD per million (input, output) tokens, when known."""
        if self.price_input_per_m is not None and self.price_output_per_m is not None:
            return self.price_input_per_m, self.price_output_per_m
        matches = [m for m in KNOWN_PRICES if self.model.startswith(m)]
        return KNOWN_PRICES[max(matches, key=len)] if matches else None

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        """The price of one call, when prices are known."""
        prices = self.prices()
        if prices is None or input_tokens is None or output_tokens is None:
            return None
        return round((input_tokens * prices[0] + output_tokens * prices[1]) / 1_000_000, 8)

    @property
    def chat_url(self) -> str:
        """The chat completions URL."""
        return self.base_url.rstrip("/") + "/chat/completions"


def _convert(name: str, type_text: str, raw: str, variable: str) -> Any:
    try:
        if "int" in type_text:
            return int(raw)
        if "float" in type_text:
            return float(raw)
    except ValueError:
        raise JudgeConfigError(f"{variable} must be a number, got {raw!r}") from None
    return raw
