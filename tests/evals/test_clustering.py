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
            spans.row(trace_id=trace, parent_span_id=root, input=f"Reply to: {question}",
                      output="I'm sorry, but I can't help with that request.")
        )  # fmt: skip
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
        assert biggest.label.startswith("refusal: ") and "refund" in biggest.label
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
