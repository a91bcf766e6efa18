"""Failure clustering: similar flags group together, labelled by their top terms, and each
re-clustering is appended."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from loopwise.collector.server import CollectorServer
from loopwise.collector.store import Store
from loopwise.evals import (
    SpanFilters,
    choose_bindings,
    cluster_project,
    cluster_texts,
    config_from_mapping,
    flag_clusters,
    list_flags,
    rescore,
)

REFUND = [
    "I returned the blender two weeks ago, where is my refund?",
    "Refund for my returned jacket has not arrived on my card",
    "When do I get my refund for the returned mug set?",
    "My refund for the returned lamp is still missing",
]
PASSWORD = [
    "I cannot log in, the password reset email never arrives",
    "Password reset link expired and my account is locked",
    "Locked out of my account after a password reset",
]


def test_cluster_texts_groups_by_topic() -> None:
    labels, terms = cluster_texts(REFUND + PASSWORD)
    assert len(set(labels[:4])) == 1 and len(set(labels[4:])) == 1
    assert labels[0] != labels[4] and labels[0] == 0  # the biggest cluster comes first
    assert "refund" in terms[0] and any("password" in term for term in terms[1])
    assert cluster_texts([])[0].tolist() == []
    assert cluster_texts(["", "!!!"])[0].tolist() == [0, 0]


def refusal_store(path: Path, spans: Any) -> Store:
    store = Store(path)
    rows = []
    for question in REFUND + PASSWORD:
        trace = spans.trace_id()
        root = spans.span_id()
        rows.append(spans.row(trace_id=trace, span_id=root, kind="chain", input=question))
        rows.append(
            spans.row(
                trace_id=trace,
                parent_span_id=root,
                input=f"Reply to: {question}",
                output="I'm sorry, but I can't help with that request.",
            )
        )
    store.append_spans(spans.table(rows))
    config = config_from_mapping({"evaluators": [{"use": "refusal", "flag": "medium"}]})
    rescore(store, choose_bindings(config), SpanFilters(), rules=config.threshold_rules)
    return store


def test_flags_are_clustered_and_reclustering_appends(tmp_path: Path, spans: Any) -> None:
    with refusal_store(tmp_path / "c.duckdb", spans) as store:
        first = cluster_project(store, "evals-test")
        sizes = sorted((c.size for c in first.clusters), reverse=True)
        assert sizes == [4, 3]
        biggest = first.clusters[0]
        # Cause first (rule, span, explanation pattern), then the topic inside it.
        assert biggest.label.startswith("refusal on ") and " · about " in biggest.label
        assert "refund" in biggest.label.split(" · about ")[1]
        summary = flag_clusters(store, project="evals-test")
        assert [c["count"] for c in summary["clusters"]] == [4, 3]
        assert summary["unclustered"] == 0 and summary["clusters"][0]["severity"] == "medium"
        in_cluster = list_flags(store, cluster=biggest.cluster_id)
        assert in_cluster.total == 4 and all(
            f["cluster_label"] == biggest.label for f in in_cluster.rows
        )

        second = cluster_project(store, "evals-test")
        assert second.clustering_id != first.clustering_id
        assert store.query("SELECT count(*) FROM flag_clusterings").rows == [(2,)]
        assert store.query("SELECT count(*) FROM flag_clusters").rows == [(14,)]
        latest = Counter(f["cluster_id"][:8] for f in list_flags(store).rows)
        assert latest == {second.clustering_id[:8]: 7}


def test_cluster_api(
    evals_collector: Callable[..., CollectorServer], tmp_path: Path, spans: Any
) -> None:
    refusal_store(tmp_path / "api.duckdb", spans).close()
    server = evals_collector(db_name="api.duckdb", online=False)
    before = httpx.get(server.url + "/api/flags/clusters").json()
    assert before["clusters"] == [] and before["unclustered"] == 7
    made = httpx.post(server.url + "/api/flags/clusters", json={"project": "evals-test"}).json()
    assert [c["count"] for c in made["clusters"]] == [4, 3]
    cluster = made["clusters"][0]["cluster_id"]
    listed = httpx.get(server.url + "/api/flags", params={"cluster": cluster}).json()
    assert listed["total"] == 4
    assert httpx.post(server.url + "/api/flags/clusters", content=b"[1]").status_code == 400


def test_flags_group_by_cause_before_content(tmp_path: Path, spans: Any) -> None:
    import datetime as dt

    import pyarrow as pa

    store = Store(tmp_path / "causes.duckdb")
    rows, flags = [], []
    now = dt.datetime(2026, 1, 1)

    def flag(rule: str, span: str, reason: str, evaluator: str | None, output: str) -> None:
        row = spans.row(name=span, output=output)
        rows.append(row)
        flags.append(
            {
                "flag_id": f"f{len(flags)}",
                "project": "evals-test",
                "trace_id": row["trace_id"],
                "span_id": row["span_id"],
                "rule": rule,
                "cause_key": f"c{len(flags)}",
                "reason": reason,
                "severity": "high",
                "evaluator": evaluator,
                "value": 1.0,
                "status": "open",
                "created_at": now,
            }
        )

    for n, topic in enumerate(REFUND + PASSWORD):  # seven different texts, one cause
        flag(
            "invented_identifiers",
            "draft_reply",
            f"ORD-{9000 + n} appears nowhere in the input or retrieved context",
            "invented_identifiers",
            f"Your order ORD-{9000 + n} ships. {topic}",
        )
    flag(
        "invented_identifiers",
        "summarize",
        "ORD-1 appears nowhere in the input",
        "invented_identifiers",
        "ORD-1",
    )
    for n, topic in enumerate(REFUND + PASSWORD):  # slow answers about anything
        flag(
            "duration_ms_anomaly",
            "draft_reply",
            f"duration_ms {4000 + n} is 5.{n}x the p95",
            None,
            topic,
        )
    store.append_spans(spans.table(rows))
    store.append_rows("flags", pa.Table.from_pylist(flags))
    with store:
        clustering = cluster_project(store, "evals-test")
    labels = {c.label: c.size for c in clustering.clusters}
    # A metric rule is never split by the words of its output: one cause, one cluster.
    assert labels["duration_ms_anomaly on draft_reply: duration_ms <n> is <n>x the p95"] == 7
    # The same invented-id cause on another span is another cluster.
    assert labels["invented_identifiers on summarize: <id> appears nowhere in the input"] == 1
    # Seven invented ids with seven different numbers are one cause, split by topic after.
    draft = {k: v for k, v in labels.items() if k.startswith("invented_identifiers on draft_reply")}
    assert sum(draft.values()) == 7 and len(draft) == 2
    assert all(" · about " in k for k in draft)
