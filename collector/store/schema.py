"""The normalized ``spans`` table: one definition for DuckDB DDL and the Arrow batches."""

from __future__ import annotations

import pyarrow as pa

# (column, DuckDB type, Arrow type). Order is the table's column order.
# metadata, attributes, resource and events hold JSON text in VARCHAR columns: DuckDB's JSON
# functions and ->> work on them, and the JSON type would re-validate text we just
# serialized (about 13% of the append rate).
SPAN_COLUMNS: tuple[tuple[str, str, pa.DataType], ...] = (
    ("project", "VARCHAR NOT NULL", pa.string()),
    ("trace_id", "VARCHAR NOT NULL", pa.string()),
    ("span_id", "VARCHAR NOT NULL", pa.string()),
    ("parent_span_id", "VARCHAR", pa.string()),
    ("name", "VARCHAR NOT NULL", pa.string()),
    ("kind", "VARCHAR NOT NULL", pa.string()),
    ("status", "VARCHAR NOT NULL", pa.string()),
    ("status_message", "VARCHAR", pa.string()),
    ("start_time", "TIMESTAMP NOT NULL", pa.timestamp("us")),
    ("end_time", "TIMESTAMP NOT NULL", pa.timestamp("us")),
    ("duration_ms", "DOUBLE NOT NULL", pa.float64()),
    ("service_name", "VARCHAR", pa.string()),
    ("model", "VARCHAR", pa.string()),
    ("provider", "VARCHAR", pa.string()),
    ("input", "VARCHAR", pa.string()),
    ("output", "VARCHAR", pa.string()),
    ("input_tokens", "BIGINT", pa.int64()),
    ("output_tokens", "BIGINT", pa.int64()),
    ("total_tokens", "BIGINT", pa.int64()),
    ("cost_usd", "DOUBLE", pa.float64()),
    ("session_id", "VARCHAR", pa.string()),
    ("user_id", "VARCHAR", pa.string()),
    ("tags", "VARCHAR[]", pa.list_(pa.string())),
    ("metadata", "VARCHAR", pa.string()),  # JSON text
    ("attributes", "VARCHAR", pa.string()),  # JSON text
    ("resource", "VARCHAR", pa.string()),  # JSON text
    ("events", "VARCHAR", pa.string()),  # JSON text
    ("ingested_at", "TIMESTAMP NOT NULL", pa.timestamp("us")),
    # Added by later migrations (ALTER TABLE ... ADD COLUMN), so always last and in this order:
    # 0010_spans_ingest_warnings
    ("ingest_warnings", "VARCHAR[]", pa.list_(pa.string())),
    # 0011_spans_canonical_messages: [{"role", "content", "tool_calls"?, "tool_call_id"?}]
    ("input_messages", "VARCHAR", pa.string()),  # JSON text
    ("output_messages", "VARCHAR", pa.string()),  # JSON text
    # 0012_spans_token_details (subsets of input_tokens / output_tokens)
    ("cache_read_tokens", "BIGINT", pa.int64()),
    ("cache_write_tokens", "BIGINT", pa.int64()),
    ("reasoning_tokens", "BIGINT", pa.int64()),
)
# How many of SPAN_COLUMNS the first migration (0001_create_spans) created; the rest are
# added by the migrations named above. SPANS_DDL must keep creating exactly the shipped table.
CREATED_SPAN_COLUMNS = 28

SPAN_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in SPAN_COLUMNS)

SPAN_ARROW_SCHEMA = pa.schema([(name, arrow) for name, _, arrow in SPAN_COLUMNS])

SPANS_DDL = (
    "CREATE TABLE spans (\n    "
    + ",\n    ".join(f"{name} {sql}" for name, sql, _ in SPAN_COLUMNS[:CREATED_SPAN_COLUMNS])
    + ",\n    PRIMARY KEY (trace_id, span_id)\n)"
)
