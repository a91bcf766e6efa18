"""Failure-cluster labels in words: the labels ``evals/clustering.py`` builds from real
explanations (an anomaly rule's, ``invented_identifiers``', ``valid_json``'s), with their
masks said in words wherever the dashboard shows them (the queue's group chooser, flag
tables)."""

from __future__ import annotations

import pytest

from loopwise.dashboard.cluster_labels import readable_label
from loopwise.dashboard.overview_render import flags_frame
from loopwise.dashboard.review_queue import group_items
from loopwise.evals.clustering import cause_label, explanation_pattern

CASES = [
    (
        "latency_anomaly",
        "answer",
        "duration 1,234ms is 5.2 robust z above the median 120ms of 40 recent 'answer' spans",
        "latency_anomaly on answer: duration far above the median",
    ),
    (
        "cost_anomaly",
        "chat",
        "cost 0.02 is far above the median 0.001 of 30 recent 'chat' spans",
        "cost_anomaly on chat: cost far above the median",
    ),
    (
        "invented_identifiers_failed",
        "answer",
        "invented_identifiers failed: ORD-99990, ORD-12 appears nowhere in the input",
        "invented_identifiers on answer: an id appears nowhere in the input",
    ),
    (
        "valid_json_failed",
        "answer",
        "valid_json failed: not JSON: Expecting value at char 41",
        "valid_json on answer: not JSON: Expecting value at one position",
    ),
]


@pytest.mark.parametrize(("rule", "span", "reason", "words"), CASES)
def test_a_clustering_label_reads_as_words(rule: str, span: str, reason: str, words: str) -> None:
    masked = cause_label(rule, span, explanation_pattern(reason))
    assert "<n>" in masked or "<id>" in masked  # what the store keeps
    assert readable_label(masked) == words


def test_a_ratio_over_a_percentile_and_plain_labels() -> None:
    assert readable_label("slow: duration_ms <n> is <n>x the p95") == (
        "slow: duration several times the p95"
    )
    assert readable_label('refusal on chat: the model refused: "…"') == (
        "refusal on chat: the model refused: a quoted text"
    )
    assert readable_label("alpha · about order, parcel") == "alpha · about order, parcel"
    assert readable_label(None) == ""


def test_the_queue_and_flag_tables_show_the_words() -> None:
    label = cause_label("latency_anomaly", "answer", explanation_pattern(CASES[0][2]))
    flags = [{"flag_id": "f1", "cluster_id": "c1", "cluster_label": label, "trace_id": "t"}]
    items = [{"item_id": "i1", "source": "flag", "source_id": "f1"}]
    [group] = group_items(items, flags)
    assert group.title == "latency_anomaly on answer: duration far above the median (1)"
    assert list(flags_frame(flags)["cluster"]) == [
        "latency_anomaly on answer: duration far above the median"
    ]
