"""Shipped migrations are frozen: each one's statements are pinned by a checksum, and a
fresh database built from them has exactly the columns the live code writes."""

from __future__ import annotations

import hashlib
import json

import duckdb

from loopwise.collector.store import (
    LOG_COLUMN_NAMES,
    SCORE_COLUMN_NAMES,
    SPAN_COLUMN_NAMES,
    TRACE_COLUMN_NAMES,
    migrate,
)
from loopwise.collector.store.migration_sql import FROZEN_MIGRATIONS


def checksum(statements: object) -> str:
    return hashlib.sha256(json.dumps(statements, sort_keys=True).encode()).hexdigest()[:16]


# Adding a migration appends a line here; a line that no longer matches is a shipped
# migration that changed.
SHIPPED = [
    ("0001_create_spans", "2e24ce92158b7027"),
    ("0002_raw_attributes_macro", "a0e42453eb6f8adb"),
    ("0003_create_scores", "12f7174f0c5fcefb"),
    ("0004_scores_direction", "c312d7eb93c981f8"),
    ("0010_spans_ingest_warnings", "683f75daad5f1141"),
    ("0011_spans_canonical_messages", "ee95479ea2034380"),
    ("0012_spans_token_details", "d9cca4d4acbcfca7"),
    ("0015_create_traces", "f203099ca64b3ce4"),
    ("0016_traces_usage_spans", "a276662abb787691"),
    ("0020_create_flags", "ad70962ee8b10d5e"),
    ("0021_create_flag_clusters", "a09d4666e47c2244"),
    ("0022_create_eval_watermarks", "08a1fb7f7f20f427"),
    ("0023_create_judge_cache", "ad7ac96c3cc8a0e2"),
    ("0030_create_review_tables", "aca8ed63a8bbccf6"),
    ("0031_create_corrections", "ecc3f507a72a6993"),
    ("0032_create_dataset_tables", "f235965cc98d04fc"),
    ("0033_create_prompt_tables", "cc7653e9d1da01c6"),
    ("0040_create_eval_runs", "ce63efea173e4865"),
    ("0050_create_api_keys", "a2fd5698725d0ba7"),
    ("0051_create_held_outputs", "121267b66d05ac97"),
    ("0052_create_alerts_sent", "5872ebee67a581ac"),
    ("0053_create_project_resources", "0edf5f896a48a0f0"),
    ("0054_create_logs", "64fd63aedbeaa2b3"),
    ("0060_create_audit_log", "fb9e9394e293904a"),
    ("0061_uncount_duplicate_usage", "406419c52070a2e7"),
    ("0062_create_review_rubrics", "9f9d406ed78f19b4"),
]


def test_no_shipped_migration_changed_and_none_was_reordered() -> None:
    assert [(name, checksum(st)) for name, st in FROZEN_MIGRATIONS[: len(SHIPPED)]] == SHIPPED


def test_a_fresh_database_has_the_columns_the_code_writes() -> None:
    con = duckdb.connect()
    applied = migrate(con)
    assert applied == [name for name, _ in FROZEN_MIGRATIONS]
    for table, expected in (
        ("spans", SPAN_COLUMN_NAMES),
        ("traces", TRACE_COLUMN_NAMES),
        ("scores", SCORE_COLUMN_NAMES),
        ("logs", LOG_COLUMN_NAMES),
    ):
        columns = [
            row[0]
            for row in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [table],
            ).fetchall()
        ]
        assert set(expected) <= set(columns), (table, set(expected) - set(columns))
    assert migrate(con) == []  # applied once each
