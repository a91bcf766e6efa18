"""Rules: threshold rules on scores and robust-z anomaly rules on span metrics, with flags
deduplicated by cause."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loopwise.collector.store import Store
from loopwise.evals import (
    AnomalyRule,
    EvalsConfig,
    OnlineWorker,
    Registry,
    RuleError,
    Score,
    Selector,
    SpanFilters,
    SpanView,
    ThresholdRule,
    choose_bindings,
    config_from_mapping,
    evaluator,
    rescore,
    rule_from_mapping,
)
from loopwise.evals.anomaly import robust_z


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "rules.duckdb") as opened:
        yield opened


def drain(worker: OnlineWorker) -> None:
    for _ in range(100):
        if worker.run_once() == 0:
            return
    raise AssertionError("the worker never ran out of work")


def flags(store: Store) -> list[dict[str, Any]]:
    return store.query("SELECT * FROM flags ORDER BY span_id").records()


def timed(spans: Any, name: str, durations: list[float], **fields: Any) -> list[dict[str, Any]]:
    start = dt.datetime(2026, 1, 1)
    return [
        spans.row(
            name=name,
            kind="tool",
            duration_ms=d,
            start_time=start + dt.timedelta(seconds=i),
            **fields,
        )
        for i, d in enumerate(durations)
    ]


def latency_rule(**options: Any) -> EvalsConfig:
    rule = AnomalyRule(name="latency_anomaly", min_samples=20, min_delta=50.0, **options)
    return EvalsConfig(rules=(rule,), scan_rows=7)  # small windows: many steps


def test_latency_outliers_are_flagged_including_early_ones(store: Store, spans: Any) -> None:
    normal = [40 + (i * 7) % 25 for i in range(40)]  # 40-64 ms
    durations = [*normal[:3], 620.0, *normal[3:30], 880.0, *normal[30:]]
    rows = timed(spans, "lookup_order", durations)
    store.append_spans(spans.table(rows))
    worker = OnlineWorker(store, latency_rule())
    drain(worker)
    found = flags(store)
    slow = sorted(r["span_id"] for r in rows if r["duration_ms"] > 500)
    assert [f["span_id"] for f in found] == slow  # the 4th span too, judged once 20 existed
    flag = next(f for f in found if f["value"] == 880.0)
    assert flag["rule"] == "latency_anomaly" and flag["metric"] == "duration_ms"
    assert flag["severity"] == "medium" and flag["span_name"] == "lookup_order"
    assert "duration 880 ms is" in flag["reason"] and "above the median" in flag["reason"]
    assert "recent 'lookup_order' spans" in flag["reason"]
    drain(worker)
    assert len(flags(store)) == 2


def test_tight_distributions_do_not_flag_noise(store: Store, spans: Any) -> None:
    # Sub-millisecond spans with jitter: a z-score alone would flag these.
    durations = [0.10 + 0.001 * (i % 5) for i in range(30)] + [0.4, 0.9]
    store.append_spans(spans.table(timed(spans, "cache_get", durations)))
    drain(OnlineWorker(store, latency_rule()))
    assert flags(store) == []


def test_small_groups_wait_for_enough_samples(store: Store, spans: Any) -> None:
    store.append_spans(spans.table(timed(spans, "rare", [50.0] * 10 + [900.0])))
    worker = OnlineWorker(store, latency_rule())
    drain(worker)
    assert flags(store) == []
    store.append_spans(spans.table(timed(spans, "rare", [55.0] * 10)))
    drain(worker)
    assert [f["value"] for f in flags(store)] == [900.0]


def test_groups_are_per_project_and_name(store: Store, spans: Any) -> None:
    fast = timed(spans, "step", [10.0 + i % 3 for i in range(30)], project="a")
    slow = timed(spans, "step", [800.0 + i % 3 for i in range(30)], project="b")
    store.append_spans(spans.table(fast + slow))
    drain(OnlineWorker(store, latency_rule()))
    assert flags(store) == []


def test_tokens_and_selectors(store: Store, spans: Any) -> None:
    rows = [spans.row(name="answer", kind="llm", total_tokens=300 + i % 20) for i in range(30)]
    rows.append(spans.row(name="answer", kind="llm", total_tokens=4000))
    rows.append(spans.row(name="answer", kind="chain", total_tokens=9000))
    store.append_spans(spans.table(rows))
    rule = AnomalyRule(
        name="token_anomaly", metric="total_tokens", selector=Selector(kinds=("llm",))
    )
    drain(OnlineWorker(store, EvalsConfig(rules=(rule,))))
    [flag] = flags(store)
    assert flag["value"] == 4000.0 and flag["reason"].startswith("total tokens 4,000 is")


def test_robust_z() -> None:
    assert robust_z(10.0, 5.0, 1.0, 1.0) == pytest.approx(0.6745 * 5)
    assert robust_z(10.0, 5.0, 0.0, 2.0) == pytest.approx(5 / (1.2533 * 2))
    assert robust_z(10.0, 5.0, 0.0, 0.0) == float("inf")
    assert robust_z(5.0, 5.0, 0.0, 0.0) == 0.0


@evaluator(name="politeness")
def politeness(span: SpanView) -> Score:
    text = span.output or ""
    value = 1.0 if "please" in text else 0.5 if "thanks" in text else 0.0
    return Score(value=value, label="polite" if value else "curt", passed=value > 0.4)


def test_threshold_rules_and_dedupe_across_runs(store: Store, spans: Any) -> None:
    store.append_spans(spans.outputs("please wait", "thanks", "no", "no way"))
    registry = Registry(load_entry_points=False)
    registry.register(politeness)
    config = config_from_mapping(
        {
            "evaluators": [{"use": "politeness", "flag": "low"}],
            "rules": [
                {"evaluator": "politeness", "when": "below", "value": 0.75, "severity": "medium"},
                {"name": "curt", "evaluator": "politeness", "when": "label", "labels": ["curt"]},
                {"evaluator": "politeness", "when": "above", "value": 0.9, "severity": "low"},
            ],
        },
        registry,
    )
    bindings = choose_bindings(config, registry=registry)
    for _ in range(2):  # a second run adds scores, never a second flag for the same cause
        rescore(store, bindings, SpanFilters(), rules=config.threshold_rules)
    counts = dict(store.query("SELECT rule, count(*) FROM flags GROUP BY 1").rows)
    assert counts == {
        "politeness_failed": 2,
        "politeness_below": 3,
        "curt": 2,
        "politeness_above": 1,
    }
    assert store.query("SELECT count(*) FROM scores").rows == [(8,)]
    reasons = {r[0] for r in store.query("SELECT reason FROM flags WHERE rule = 'curt'").rows}
    assert reasons == {"politeness label in curt: curt"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"evaluator": "x", "when": "sometimes"}, "when must be failed, below, above or label"),
        ({"evaluator": "x", "when": "label"}, "needs labels"),
        ({"evaluator": "x", "severity": "urgent"}, "severity must be low, medium or high"),
        ({"type": "anomaly", "threshold": -1}, "threshold must be a number >= 0"),
        ({"type": "anomaly", "min_samples": 50, "baseline": 10}, "baseline must be at least"),
        ({"type": "anomaly", "select": {"kind": "bogus"}}, "unknown span kind"),
        ({"type": "weird"}, "rule type must be"),
        ({"evaluator": "x", "colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_bad_rules(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        rule_from_mapping(raw)


def test_threshold_rule_conditions() -> None:
    rule = ThresholdRule(name="r", evaluator="e", when="below", value=0.5)
    assert rule.condition_sql() == ("status = 'ok' AND value < ?", [0.5])
    assert rule.describe() == "e value below 0.5"
