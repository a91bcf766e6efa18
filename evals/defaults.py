"""The default evaluation set: what runs online when no config file is given.

Cheap code evaluators on model calls, each flagging its failures, plus anomaly rules on
latency, tokens and cost. Together they catch the demo's faults (invalid JSON, invented
order ids, refusals, slow calls, model errors) without a judge model.
"""

from __future__ import annotations

from .config import EvalsConfig, config_from_mapping
from .registry import Registry

MODEL_CALLS = {"kind": ["llm"]}
LEAF_KINDS = {"kind": ["llm", "tool", "retriever", "embedding"]}

DEFAULT_SET: dict[str, list[dict[str, object]]] = {
    "evaluators": [
        {"use": "error_status", "select": LEAF_KINDS, "flag": "high"},
        {
            "use": "valid_json",
            "params": {"only_when_requested": True},
            "select": MODEL_CALLS,
            "flag": "high",
        },
        {"use": "invented_identifiers", "select": MODEL_CALLS, "flag": "high"},
        {"use": "refusal", "select": MODEL_CALLS, "flag": "medium"},
        {"use": "pii_leakage", "select": MODEL_CALLS, "flag": "high"},
        {"use": "language_mismatch", "select": MODEL_CALLS, "flag": "low"},
    ],
    "rules": [
        {
            "type": "anomaly",
            "name": "latency_anomaly",
            "metric": "duration_ms",
            "select": LEAF_KINDS,
            "min_ratio": 2.0,
            "min_delta": 50.0,
            "severity": "medium",
        },
        {
            "type": "anomaly",
            "name": "token_anomaly",
            "metric": "total_tokens",
            "select": MODEL_CALLS,
            "min_ratio": 2.0,
            "severity": "low",
        },
        {
            "type": "anomaly",
            "name": "cost_anomaly",
            "metric": "cost_usd",
            "select": MODEL_CALLS,
            "min_ratio": 2.0,
            "severity": "low",
        },
    ],
}


def default_config(registry: Registry | None = None) -> EvalsConfig:
    """The default set as a config."""
    return config_from_mapping(DEFAULT_SET, registry, source="default")
