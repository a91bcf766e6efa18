"""The DuckDB store: schema, migrations, batched idempotent appends, reads."""

from .migrations import MIGRATIONS, applied_migrations, migrate
from .queries import recent_traces, span_tree, trace_spans
from .readonly import QueryRejected, check_single_select
from .schema import SPAN_ARROW_SCHEMA, SPAN_COLUMN_NAMES, SPAN_COLUMNS
from .scores import (
    SCORE_ARROW_SCHEMA,
    SCORE_COLUMN_NAMES,
    ScoreKind,
    ScoreRow,
    ScoreStatus,
    append_scores,
    scores_table,
)
from .store import DEFAULT_DB_PATH, QueryResult, QueryTimeout, Store, StoreError
from .writer import GroupCommitWriter, WriterOverloaded

__all__ = [
    "DEFAULT_DB_PATH",
    "MIGRATIONS",
    "SCORE_ARROW_SCHEMA",
    "SCORE_COLUMN_NAMES",
    "SPAN_ARROW_SCHEMA",
    "SPAN_COLUMNS",
    "SPAN_COLUMN_NAMES",
    "GroupCommitWriter",
    "QueryRejected",
    "QueryResult",
    "QueryTimeout",
    "ScoreKind",
    "ScoreRow",
    "ScoreStatus",
    "Store",
    "StoreError",
    "WriterOverloaded",
    "append_scores",
    "applied_migrations",
    "check_single_select",
    "migrate",
    "recent_traces",
    "scores_table",
    "span_tree",
    "trace_spans",
]
