"""Failure-cluster labels in words.

A cluster's label (``evals/clustering.py``) names its rule, span and the explanation's
pattern with identifiers, numbers and quoted text masked so that every instance of one cause
reads the same: ``latency_anomaly on answer: duration <n>ms is <n> robust z above the median
<n>ms of <n> recent "…" spans``. That grouping key is right, but the masks are not for a
reviewer. ``readable_label`` says the same in words: ``latency_anomaly on answer: duration
far above the median of recent spans``. Pure functions; the stored label is unchanged.
"""

from __future__ import annotations

import re

ANOMALY = re.compile(
    r"(?P<metric>[a-z][a-z ]*?) <n>(?:\s?(?:ms|s|%))? is (?:<n> robust z|far) above the median"
    r"(?: <n>(?:\s?(?:ms|s|%))?)?(?: of <n> recent (?:\"…\" )?spans)?"
)
"""An anomaly rule's explanation (``evals/anomaly.py``), masked."""
TIMES_PERCENTILE = re.compile(
    r"(?P<metric>[a-z][a-z_ ]*?)(?:_ms|_usd|_s)? <n>(?:\s?(?:ms|s|%))? is <n>x the (?P<p>p\d+)"
)
"""A ratio over a percentile (``duration_ms <n> is <n>x the p95``)."""
METRIC_WORDS = {"duration": "duration", "latency": "latency", "cost": "cost"}
WORDS = (
    (re.compile(r"<id>(?:s\b)?"), "an id"),
    (re.compile(r"\bat char <n>"), "at one position"),
    (re.compile(r"\"…\""), "a quoted text"),
    (re.compile(r"<n>\s?x\b"), "several times"),
    (re.compile(r"<n>\s?ms\b"), "some milliseconds"),
    (re.compile(r"<n>\s?s\b"), "some seconds"),
    (re.compile(r"<n>\s?%"), "some percent"),
    (re.compile(r"<n>"), "a number"),
)
"""What is left of each mask, in words."""


def readable_label(label: object) -> str:
    """``label`` (a cluster label, or any masked explanation pattern) with its masks said in
    words; the rule and span names before the first ``: `` are kept as they are."""
    text = str(label or "")
    head, sep, tail = text.partition(": ")
    if sep and re.fullmatch(r"[\w.:-]+(?: on .+)?", head):
        return f"{head}: {_words(tail)}"
    return _words(text)


def _words(pattern: str) -> str:
    pattern = TIMES_PERCENTILE.sub(
        lambda m: f"{_metric(m['metric'])} several times the {m['p']}", pattern
    )
    pattern = ANOMALY.sub(lambda m: f"{_metric(m['metric'])} far above the median", pattern)
    for mask, words in WORDS:
        pattern = mask.sub(words, pattern)
    return pattern


def _metric(name: str) -> str:
    words = name.strip().replace("_", " ")
    return METRIC_WORDS.get(words, words)
