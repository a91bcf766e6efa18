"""The online evaluation config parsed by its pydantic models: the domain objects a valid
file gives (bindings, their watermark keys, rules, settings, alert webhooks), and one-line
errors naming the entry for an unknown key or a wrong value."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from loopwise.evals import (
    AnomalyRule,
    ConfigError,
    Selector,
    ThresholdRule,
    config_from_mapping,
    default_registry,
    load_config,
)
from loopwise.evals.alert_config import AlertConfigError, AlertRule, alert_rules
from loopwise.evals.config import binding_from_mapping

GOOD = """
[settings]
batch_size = 500.0          # a whole float is a count
poll_interval_s = 2         # an integer is a number of seconds
scan_rows = 10
dashboard_url = "https://loopwise.internal:8501"

[[evaluators]]
use = "refusal"
name = "polite"
select = { kind = "llm", sample_rate = 0.5 }
flag = "high"
start = "latest"
settle_s = 2

[[evaluators]]
use = "regex"
params = { pattern = "ORD-\\\\d+" }

[[rules]]
type = "anomaly"
metric = "duration_ms"

[[alerts]]
url = "https://hooks.example.com/a"
events = ["failure_rate"]
threshold = 1
min_scores = 5
secret_env = "LOOPWISE_TEST_ALERT_SECRET"
"""


def test_a_valid_file_gives_the_same_domain_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPWISE_TEST_ALERT_SECRET", "s3cret")
    file = tmp_path / "evals.toml"
    file.write_text(GOOD)
    config = load_config(file)
    assert (config.batch_size, config.scan_rows, config.poll_interval_s) == (500, 10, 2.0)
    assert isinstance(config.batch_size, int) and isinstance(config.poll_interval_s, float)
    assert (config.cluster_interval_s, config.alert_interval_s) == (60.0, 30.0)  # defaults
    assert config.dashboard_url == "https://loopwise.internal:8501"
    polite, regex = config.bindings
    assert (polite.use, polite.evaluator.name, polite.start, polite.settle_s) == (
        "refusal",
        "polite",
        "latest",
        2.0,
    )
    assert polite.selector == Selector(kinds=("llm",), sample_rate=0.5)
    assert (regex.start, regex.settle_s, regex.selector) == ("beginning", 0.0, Selector())
    assert dict(regex.evaluator.params) == {"pattern": "ORD-\\d+"}
    # The watermark keys are the ones the hand-written parser gave: no binding is re-scored.
    assert [b.key for b in config.bindings] == [
        "evaluator:72e83071ae6f318839de697b",
        "evaluator:9ab073f7aeeaf0fab8338d59",
    ]
    flag, anomaly = config.rules
    assert flag == ThresholdRule(name="polite_failed", evaluator="polite", severity="high")
    assert isinstance(anomaly, AnomalyRule) and anomaly.metric == "duration_ms"
    assert config.alerts == (
        AlertRule(
            url="https://hooks.example.com/a",
            events=("failure_rate",),
            threshold=1.0,
            min_scores=5,
            secret="s3cret",
        ),
    )


@pytest.mark.parametrize("empty", [None, {}, [], False, 0, ""])
def test_empty_tables_and_lists_read_as_left_out(empty: Any) -> None:
    config = config_from_mapping(
        {
            "settings": empty,
            "evaluators": [{"use": "refusal", "params": empty, "name": empty}],
            "rules": empty,
        }
    )
    [binding] = config.bindings
    assert (binding.evaluator.name, config.rules, config.batch_size) == ("refusal", (), 2000)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"evaluator": []},
            "unknown key 'evaluator'; allowed: settings, evaluators, rules, alerts",
        ),
        ({"settings": {"batch": 5}}, "settings: unknown key 'batch'; allowed: batch_size, "),
        (
            {"evaluators": [{"use": "refusal"}, {"use": "refusal", "colour": "red"}]},
            "evaluators[1]: unknown key 'colour'; allowed: use, params, select, flag, name, "
            "start, settle_s",
        ),
        # named before the missing 'use' it causes
        ({"evaluators": [{"usee": "refusal"}]}, "evaluators[0]: unknown key 'usee'; allowed:"),
        ({"alerts": [{"url": "http://x", "colour": "red"}]}, "alerts[0]: unknown key 'colour'"),
    ],
)
def test_an_unknown_key_is_refused_by_name(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        config_from_mapping(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"settings": {"batch_size": 0}}, "settings.batch_size: must be a positive number, got 0"),
        ({"settings": {"scan_rows": 2.5}}, "settings.scan_rows: must be an integer, got 2.5"),
        ({"settings": {"batch_size": True}}, "settings.batch_size: must be an integer, got True"),
        ({"settings": {"poll_interval_s": "1"}}, "settings.poll_interval_s: must be a number"),
        ({"settings": {"include_defaults": 1}}, "settings.include_defaults: must be true or false"),
        ({"settings": "fast"}, "settings: must be a table/object, got 'fast'"),
        ({"evaluators": {"use": "refusal"}}, "evaluators: must be a list, got {'use': 'refusal'}"),
        (
            {"evaluators": [{"use": "refusal"}, {"use": "refusal"}, {"use": "x", "select": 3}]},
            "evaluators[2].select: must be a table/object, got 3",
        ),
        ({"evaluators": [{"params": {}}]}, "evaluators[0].use: is required"),
        ({"evaluators": [{"use": ""}]}, "evaluators[0].use: must not be empty"),
        ({"evaluators": [{"use": "refusal", "name": 5}]}, "evaluators[0].name: must be a string"),
        (
            {"evaluators": [{"use": "refusal", "start": "now"}]},
            "evaluators[0].start: must be 'beginning' or 'latest', got 'now'",
        ),
        (
            {"evaluators": [{"use": "refusal", "settle_s": -1}]},
            "evaluators[0].settle_s: must be at least 0, got -1",
        ),
        ({"rules": [3]}, "rules[0]: must be a table/object, got 3"),
        ({"alerts": [{"url": "ftp://x"}]}, "alerts[0].url: must be an http(s) URL, got 'ftp://x'"),
        (
            {"alerts": [{"url": "http://x", "threshold": 2}]},
            "alerts[0].threshold: must be between 0 and 1, got 2",
        ),
        (
            {"alerts": [{"url": "http://x", "events": ["new_cluster", "boom"]}]},
            "alerts[0].events[1]: must be 'new_cluster', 'failure_rate' or 'held_waiting'",
        ),
        ({"alerts": [{"url": "http://x", "events": []}]}, "alerts[0].events: must not be empty"),
        (
            {"alerts": [{"url": "http://x", "window_minutes": 0}]},
            "alerts[0].window_minutes: must be a positive number, got 0",
        ),
        ({"alerts": {"url": "http://x"}}, "alerts: must be a list"),
        # semantic checks after parsing keep their words
        ({"evaluators": [{"use": "nope"}]}, "evaluators[0] (nope): no evaluator named 'nope'"),
        (
            {"evaluators": [{"use": "refusal", "flag": "critical"}]},
            "evaluators[0] (refusal): severity must be low, medium or high, got 'critical'",
        ),
        (
            {"alerts": [{"url": "http://x", "secret_env": "LOOPWISE_NOT_SET_ANYWHERE"}]},
            "alerts[0].secret_env: environment variable LOOPWISE_NOT_SET_ANYWHERE is not set",
        ),
    ],
)
def test_a_wrong_value_is_refused_naming_its_entry(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}") as raised:
        config_from_mapping(raw)
    assert "\n" not in str(raised.value) and "pydantic" not in str(raised.value)


def test_alerts_and_single_bindings_parse_on_their_own() -> None:
    assert alert_rules(None) == ()
    assert alert_rules([{"url": "http://x", "min_scores": 3.0}]) == (
        AlertRule(url="http://x", min_scores=3),
    )
    with pytest.raises(AlertConfigError, match=r"^alerts\[0\]\.held_minutes: must be a number"):
        alert_rules([{"url": "http://x", "held_minutes": "10"}])
    binding, rule = binding_from_mapping({"use": "refusal"}, default_registry())
    assert (binding.use, rule) == ("refusal", None)
    with pytest.raises(ConfigError, match=r"^evaluator\.settle_s: must be a number, got '1'"):
        binding_from_mapping({"use": "refusal", "settle_s": "1"}, default_registry())
    with pytest.raises(ConfigError, match=r"^the evaluation config must be a table"):
        config_from_mapping([])  # type: ignore[arg-type]
