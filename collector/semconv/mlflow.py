"""MLflow tracing attributes (``mlflow.*``). MLflow JSON-encodes every attribute value, so
``mlflow.spanType`` arrives as ``'"LLM"'``. Inputs and outputs are read as messages when
they hold a chat request or completion, else kept as text; ``mlflow.chat.tokenUsage`` gives
tokens, ``mlflow.llm.model`` / ``mlflow.llm.provider`` the model, ``mlflow.llm.cost`` the cost.
"""

from __future__ import annotations

from typing import Any

from .fields import Resolved, json_scalar, read_float, read_int, take_value

SPAN_TYPES = {
    "LLM": "llm",
    "CHAT_MODEL": "llm",
    "CHAIN": "chain",
    "AGENT": "agent",
    "TOOL": "tool",
    "RETRIEVER": "retriever",
    "RERANKER": "retriever",
    "EMBEDDING": "embedding",
    "PARSER": "chain",
    "MEMORY": "chain",
    "UNKNOWN": "other",
}
MARKERS = ("mlflow.spanType", "mlflow.spanInputs", "mlflow.spanOutputs", "mlflow.chat.tokenUsage")


def resolve(attrs: dict[str, Any], out: Resolved) -> None:
    """Fill the fields still unset in ``out`` from MLflow attributes."""
    if attrs.keys().isdisjoint(MARKERS):
        return
    if out.kind is None:
        kind = json_scalar(attrs.get("mlflow.spanType"))
        if isinstance(kind, str):
            out.kind = SPAN_TYPES.get(kind.upper())
    for field, key in (("model", "mlflow.llm.model"), ("provider", "mlflow.llm.provider")):
        value = json_scalar(attrs.get(key))
        if getattr(out, field) is None and isinstance(value, str) and value:
            setattr(out, field, value)
    if "mlflow.chat.tokenUsage" in attrs:
        _usage(json_scalar(attrs["mlflow.chat.tokenUsage"]), out)
    cost = json_scalar(attrs.get("mlflow.llm.cost"))
    if out.cost_usd is None and isinstance(cost, dict) and cost.get("total_cost") is not None:
        out.cost_usd = read_float("mlflow.llm.cost.total_cost", cost["total_cost"], out)
    if out.input is None:
        take_value(attrs, "mlflow.spanInputs", out, output=False)
    if out.output is None:
        take_value(attrs, "mlflow.spanOutputs", out, output=True)


def _usage(usage: Any, out: Resolved) -> None:
    if not isinstance(usage, dict):
        out.warn("mlflow.chat.tokenUsage: not a JSON object")
        return
    for field, name in (
        ("input_tokens", "input_tokens"),
        ("output_tokens", "output_tokens"),
        ("total_tokens", "total_tokens"),
    ):
        if getattr(out, field) is None and usage.get(name) is not None:
            setattr(out, field, read_int(f"mlflow.chat.tokenUsage.{name}", usage[name], out))
