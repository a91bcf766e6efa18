"""The DuckDB store: schema, migrations, batched idempotent appends, reads."""

from .migrations import MIGRATIONS, applied_migrations, migrate
from .queries import recent_traces, span_tree, trace_spans
from .readonly import QueryRejected, check_single_select
from .schema import SPAN_ARROW_SCHEMA, SPAN_COLUMN_NAMES, SPAN_COLUMNS
from .store import DEFAULT_DB_PATH, QueryResult, QueryTimeout, Store, StoreError
from .writer import GroupCommitWriter, WriterOverloaded

__all__ = [
    "DEFAULT_DB_PATH",
    "MIGRATIONS",
    "SPAN_ARROW_SCHEMA",
    "SPAN_COLUMNS",
    "SPAN_COLUMN_NAMES",
    "GroupCommitWriter",
    "QueryRejected",
    "QueryResult",
    "QueryTimeout",
    "Store",
    "StoreError",
    "WriterOverloaded",
    "applied_migrations",
    "check_single_select",
    "migrate",
    "recent_traces",
    "span_tree",
    "trace_spans",
]
