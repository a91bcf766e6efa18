"""Failure clustering: group a project's flags so a reviewer sees "23 refusals about
refunds" instead of 23 rows.

Flags are grouped by cause first: the rule, the span that failed (its name) and the pattern
of the explanation (identifiers, numbers and quoted text masked, so "ORD-991 appears
nowhere" and "ORD-17 appears nowhere" are one cause). Only then, inside a cause of at least
``MIN_CONTENT_SPLIT`` flags from an evaluator of content, by what the text is about; a
metric rule's flags (a latency or cost anomaly) are never split by the words of their
output, which tell a reviewer nothing. A cluster's label names the rule, the span and the
explanation pattern, then the topic terms when it was split by content.

For the content split, each flag's text is what the trace was asked (the root input) and
what the flagged span answered; TF-IDF (unigrams and bigrams, English stop words removed,
fitted per cause) turns it into a vector. Up to 2,000 flags per cause: agglomerative
clustering with cosine distance and average linkage, cut at ``distance_threshold`` (0.95:
short support texts share few words, and on the demo's flags 0.9 left most refusals alone
while 0.98 merged everything); beyond that, k-means with k = sqrt(n/2), at most 50. The
topic terms are the three with the highest mean TF-IDF weight in the cluster.

Every run appends a clustering (``flag_clusterings``) and its assignments
(``flag_clusters``); the API reads the latest one per project.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from loopwise.collector.store import Store

MAX_FLAGS = 5000
AGGLOMERATIVE_LIMIT = 2000
DEFAULT_DISTANCE = 0.95
TOP_TERMS = 3
MIN_CONTENT_SPLIT = 4
MAX_PATTERN_CHARS = 80

FLAG_TEXT_SQL = """
WITH picked AS (
    SELECT flag_id, project, trace_id, span_id, rule, reason, evaluator, created_at FROM flags
    WHERE project = ? ORDER BY created_at DESC, flag_id LIMIT ?
),
roots AS (
    SELECT trace_id, arg_min(input, start_time) AS root_input FROM spans
    WHERE parent_span_id IS NULL AND trace_id IN (SELECT trace_id FROM picked)
    GROUP BY trace_id
)
SELECT p.flag_id, p.rule, p.reason, s.output, r.root_input, s.name AS span_name, p.evaluator
FROM picked p
LEFT JOIN spans s ON s.trace_id = p.trace_id AND s.span_id = p.span_id
LEFT JOIN roots r ON r.trace_id = p.trace_id
ORDER BY p.flag_id
"""


@dataclass(frozen=True)
class Cluster:
    """One group of similar flags."""

    cluster_id: str
    label: str
    rule: str
    flag_ids: tuple[str, ...]

    @property
    def size(self) -> int:
        """How many flags."""
        return len(self.flag_ids)


@dataclass(frozen=True)
class Clustering:
    """One clustering run over a project's flags."""

    clustering_id: str
    project: str
    clusters: tuple[Cluster, ...]
    created_at: dt.datetime

    @property
    def flag_count(self) -> int:
        """Flags clustered."""
        return sum(c.size for c in self.clusters)


def cluster_texts(
    texts: list[str], *, distance_threshold: float = DEFAULT_DISTANCE
) -> tuple[np.ndarray, list[list[str]]]:
    """Cluster ids per text, and the top terms of each cluster (index = cluster id)."""
    from sklearn.cluster import AgglomerativeClustering, KMeans  # imported on first use: ~1 s
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_distances

    count = len(texts)
    if count == 0:
        return np.zeros(0, dtype=int), []
    # Words in (nearly) every text say nothing about groups (the same refusal sentence in
    # each flag): drop them, unless nothing else is left.
    matrix = None
    for max_df in (0.9, 1.0) if count >= 3 else (1.0,):
        vectorizer = TfidfVectorizer(
            stop_words="english",
            ngram_range=(1, 2),
            sublinear_tf=True,
            min_df=1,
            max_df=max_df,
            max_features=20_000,
            token_pattern=r"(?u)\b[^\W\d_][\w'-]+\b",
        )
        try:
            matrix = vectorizer.fit_transform(texts)
            break
        except ValueError:  # no usable words left
            continue
    if matrix is None:
        return np.zeros(count, dtype=int), [[]]
    terms = np.array(vectorizer.get_feature_names_out())
    has_words = np.asarray(matrix.getnnz(axis=1) > 0)
    labels = np.zeros(count, dtype=int)
    rows = np.flatnonzero(has_words)
    if len(rows) >= 2:
        sub = matrix[rows]
        if len(rows) <= AGGLOMERATIVE_LIMIT:
            # Distances from the sparse matrix (n x n), not a dense copy of n x vocabulary.
            distances = cosine_distances(sub)
            model = AgglomerativeClustering(
                n_clusters=None,
                distance_threshold=distance_threshold,
                metric="precomputed",
                linkage="average",
            )
            assigned = model.fit_predict(distances)
        else:
            k = min(50, max(2, int(math.sqrt(len(rows) / 2))))
            with warnings.catch_warnings():  # duplicates leave fewer distinct clusters than k
                warnings.simplefilter("ignore", ConvergenceWarning)
                assigned = KMeans(n_clusters=k, n_init=3, random_state=0).fit_predict(sub)
        labels[rows] = assigned + 1
    # Renumber by size (largest first), so cluster 0 is the biggest group.
    sizes = np.bincount(labels)
    order = [c for c in np.argsort(-sizes, kind="stable") if sizes[c] > 0]
    renumber = {old: new for new, old in enumerate(order)}
    labels = np.array([renumber[c] for c in labels])
    top_terms: list[list[str]] = []
    for new in range(len(order)):
        members = np.flatnonzero(labels == new)
        weights = np.asarray(matrix[members].mean(axis=0)).ravel()
        top_terms.append(
            _distinct_terms([terms[i] for i in np.argsort(-weights) if weights[i] > 0])
        )
    return labels, top_terms


def _distinct_terms(ranked: list[str], count: int = TOP_TERMS) -> list[str]:
    """The first ``count`` terms that do not repeat a word of a term already chosen."""
    chosen: list[str] = []
    seen: set[str] = set()
    for term in ranked:
        words = set(term.split())
        if words & seen:
            continue
        chosen.append(term)
        seen |= words
        if len(chosen) == count:
            break
    return chosen


def cluster_project(
    store: Store,
    project: str,
    *,
    max_flags: int = MAX_FLAGS,
    distance_threshold: float = DEFAULT_DISTANCE,
) -> Clustering:
    """Cluster the latest ``max_flags`` flags of ``project`` and append the result."""
    rows = store.query(FLAG_TEXT_SQL, [project, max_flags], max_rows=max_flags).rows
    causes: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    content_rules: set[str] = set()
    for flag_id, rule, reason, output, root_input, span_name, evaluator in rows:
        text = f"{(root_input or '')[:1500]}\n{(output or reason or '')[:1000]}"
        causes[(rule, span_name or "", explanation_pattern(reason))].append((flag_id, text))
        if evaluator is not None:
            content_rules.add(rule)
    clustering_id = uuid.uuid4().hex
    clusters: list[Cluster] = []
    counter: dict[str, int] = defaultdict(int)
    ordered = sorted(causes.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0][1:]))
    for (rule, span_name, pattern), items in ordered:
        cause = cause_label(rule, span_name, pattern)
        if rule in content_rules and len(items) >= MIN_CONTENT_SPLIT:
            labels, top_terms = cluster_texts(
                [t for _, t in items], distance_threshold=distance_threshold
            )
        else:
            labels, top_terms = np.zeros(len(items), dtype=int), []
        groups: dict[int, list[str]] = defaultdict(list)
        for (flag_id, _), label in zip(items, labels, strict=True):
            groups[int(label)].append(flag_id)
        split = len(groups) > 1
        for index in sorted(groups):
            terms = top_terms[index] if split and index < len(top_terms) else []
            label_text = f"{cause} · about {', '.join(terms)}" if terms else cause
            number = counter[rule]
            counter[rule] += 1
            clusters.append(
                Cluster(
                    f"{clustering_id[:8]}-{rule}-{number}", label_text, rule, tuple(groups[index])
                )
            )
    created = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    clustering = Clustering(clustering_id, project, tuple(clusters), created)
    _store(store, clustering, distance_threshold)
    return clustering


def explanation_pattern(reason: str | None) -> str:
    """The shape of a flag's explanation, the same for every instance of one cause: quoted
    text, identifiers (``ORD-99871``, hex ids) and numbers masked, repeats collapsed."""
    text = " ".join((reason or "").split())
    text = re.sub(r"\"[^\"]*\"|'[^']*'", '"…"', text)
    text = re.sub(r"\b[A-Za-z]{2,}[-_]\d[\w-]*\b|\b[0-9a-f]{8,}\b", "<id>", text)
    text = re.sub(r"(?<![\w.])\d+(?:[.,]\d+)*(?=(?:x|s|ms|%)?\b)", "<n>", text)
    text = re.sub(r"<id>(?:, <id>)+", "<id>", text)
    return text if len(text) <= MAX_PATTERN_CHARS else text[: MAX_PATTERN_CHARS - 1] + "…"


def cause_label(rule: str, span_name: str, pattern: str) -> str:
    """A cluster's cause as a person reads it: rule, span, explanation pattern."""
    title = rule.removesuffix("_failed")
    where = f" on {span_name}" if span_name else ""
    for said in (f"{title} failed:", f"{rule}:", f"{title}:"):
        if pattern.lower().startswith(said.lower()):
            pattern = pattern[len(said) :].strip()
    return f"{title}{where}: {pattern}" if pattern else f"{title}{where}"


def cluster_all(store: Store, **options: Any) -> list[Clustering]:
    """Cluster every project that has flags."""
    projects = [r[0] for r in store.query("SELECT DISTINCT project FROM flags ORDER BY 1").rows]
    return [cluster_project(store, project, **options) for project in projects]


def _store(store: Store, clustering: Clustering, distance_threshold: float) -> None:
    assignments = [
        {
            "clustering_id": clustering.clustering_id,
            "flag_id": flag_id,
            "cluster_id": cluster.cluster_id,
            "cluster_label": cluster.label,
            "cluster_size": cluster.size,
            "created_at": clustering.created_at,
        }
        for cluster in clustering.clusters
        for flag_id in cluster.flag_ids
    ]
    params = json.dumps({"distance_threshold": distance_threshold, "limit": MAX_FLAGS})
    with store.transaction() as cur:
        cur.execute(
            "INSERT INTO flag_clusterings VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                clustering.clustering_id,
                clustering.project,
                "tfidf+agglomerative",
                params,
                clustering.flag_count,
                len(clustering.clusters),
                clustering.created_at,
            ],
        )
        if assignments:
            cur.register("_assignments", pa.Table.from_pylist(assignments))
            try:
                cur.execute(
                    "INSERT INTO flag_clusters (clustering_id, flag_id, cluster_id, "
                    "cluster_label, cluster_size, created_at) SELECT clustering_id, flag_id, "
                    "cluster_id, cluster_label, cluster_size, created_at FROM _assignments"
                )
            finally:
                cur.unregister("_assignments")
