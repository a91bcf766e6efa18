"""The DuckDB store: schema, migrations, batched idempotent appends, reads.

Names load their module on first use (see loopwise.collector.lazy), so importing one
submodule does not load the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .audit import AuditEntry, AuditError, audit_entries, record_audit
    from .duplicates import DuplicateMarker
    from .export import ExportError, export_store
    from .feedback import (
        Feedback,
        FeedbackReceipt,
        UserFeedbackError,
        feedback_value,
        parse_feedback,
        record_feedback,
    )
    from .import_store import import_store, read_manifest
    from .langfuse_scores import (
        LangfuseScoreError,
        LangfuseScoreResult,
        record_langfuse_scores,
    )
    from .log_content import LOG_ARROW_SCHEMA, LOG_COLUMN_NAMES, LOG_COLUMNS, LogContent
    from .migrations import MIGRATIONS, applied_migrations, migrate
    from .overview import OverviewFilter, traffic
    from .overview_scores import facets, score_trends
    from .queries import recent_traces, span_tree, trace_spans
    from .readonly import QueryRejected, check_single_select
    from .retention import DeletionReport, RetentionError, Selection, delete_data, parse_age
    from .root_cause import root_cause_counts, root_causes_of, trace_root_cause
    from .schema import SPAN_ARROW_SCHEMA, SPAN_COLUMN_NAMES, SPAN_COLUMNS
    from .scores import (
        SCORE_ARROW_SCHEMA,
        SCORE_COLUMN_NAMES,
        ScoreDirection,
        ScoreKind,
        ScoreRow,
        ScoreStatus,
        append_scores,
        scores_table,
    )
    from .store import (
        DEFAULT_DB_PATH,
        QueryResult,
        QuerySource,
        QueryTimeout,
        QueryTooLarge,
        Store,
        StoreError,
    )
    from .trace_fragments import trace_fragments
    from .trace_queries import (
        Page,
        TraceFilter,
        count_traces,
        list_sessions,
        list_traces,
        list_users,
        session_traces,
        trace_scores,
        trace_summary,
    )
    from .trace_writer import RecentTraces
    from .traces import (
        TRACE_ARROW_SCHEMA,
        TRACE_COLUMN_NAMES,
        rebuild_listed_traces,
        rebuild_traces,
    )
    from .usage import DUPLICATE_KEY
    from .writer import GroupCommitWriter, WriterOverloaded

_EXPORTS: dict[str, tuple[str, ...]] = {
    ".audit": (
        "AuditEntry",
        "AuditError",
        "audit_entries",
        "record_audit",
    ),
    ".duplicates": ("DuplicateMarker",),
    ".usage": ("DUPLICATE_KEY",),
    ".export": (
        "ExportError",
        "export_store",
    ),
    ".feedback": (
        "Feedback",
        "UserFeedbackError",
        "FeedbackReceipt",
        "feedback_value",
        "parse_feedback",
        "record_feedback",
    ),
    ".import_store": (
        "import_store",
        "read_manifest",
    ),
    ".langfuse_scores": (
        "LangfuseScoreError",
        "LangfuseScoreResult",
        "record_langfuse_scores",
    ),
    ".log_content": (
        "LOG_ARROW_SCHEMA",
        "LOG_COLUMN_NAMES",
        "LOG_COLUMNS",
        "LogContent",
    ),
    ".migrations": (
        "MIGRATIONS",
        "applied_migrations",
        "migrate",
    ),
    ".overview": (
        "OverviewFilter",
        "traffic",
    ),
    ".overview_scores": (
        "facets",
        "score_trends",
    ),
    ".queries": (
        "recent_traces",
        "span_tree",
        "trace_spans",
    ),
    ".readonly": (
        "QueryRejected",
        "check_single_select",
    ),
    ".retention": (
        "DeletionReport",
        "RetentionError",
        "Selection",
        "delete_data",
        "parse_age",
    ),
    ".root_cause": (
        "root_cause_counts",
        "root_causes_of",
        "trace_root_cause",
    ),
    ".schema": (
        "SPAN_ARROW_SCHEMA",
        "SPAN_COLUMN_NAMES",
        "SPAN_COLUMNS",
    ),
    ".scores": (
        "SCORE_ARROW_SCHEMA",
        "SCORE_COLUMN_NAMES",
        "ScoreDirection",
        "ScoreKind",
        "ScoreRow",
        "ScoreStatus",
        "append_scores",
        "scores_table",
    ),
    ".store": (
        "DEFAULT_DB_PATH",
        "QueryResult",
        "QuerySource",
        "QueryTimeout",
        "QueryTooLarge",
        "Store",
        "StoreError",
    ),
    ".trace_fragments": ("trace_fragments",),
    ".trace_queries": (
        "Page",
        "TraceFilter",
        "count_traces",
        "list_sessions",
        "list_traces",
        "list_users",
        "session_traces",
        "trace_scores",
        "trace_summary",
    ),
    ".trace_writer": ("RecentTraces",),
    ".traces": (
        "TRACE_ARROW_SCHEMA",
        "TRACE_COLUMN_NAMES",
        "rebuild_listed_traces",
        "rebuild_traces",
    ),
    ".writer": (
        "GroupCommitWriter",
        "WriterOverloaded",
    ),
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

__all__ = [
    "DEFAULT_DB_PATH",
    "DUPLICATE_KEY",
    "LOG_ARROW_SCHEMA",
    "LOG_COLUMNS",
    "LOG_COLUMN_NAMES",
    "MIGRATIONS",
    "SCORE_ARROW_SCHEMA",
    "SCORE_COLUMN_NAMES",
    "SPAN_ARROW_SCHEMA",
    "SPAN_COLUMNS",
    "SPAN_COLUMN_NAMES",
    "TRACE_ARROW_SCHEMA",
    "TRACE_COLUMN_NAMES",
    "AuditEntry",
    "AuditError",
    "DeletionReport",
    "DuplicateMarker",
    "ExportError",
    "Feedback",
    "FeedbackReceipt",
    "GroupCommitWriter",
    "LangfuseScoreError",
    "LangfuseScoreResult",
    "LogContent",
    "OverviewFilter",
    "Page",
    "QueryRejected",
    "QueryResult",
    "QuerySource",
    "QueryTimeout",
    "QueryTooLarge",
    "RecentTraces",
    "RetentionError",
    "ScoreDirection",
    "ScoreKind",
    "ScoreRow",
    "ScoreStatus",
    "Selection",
    "Store",
    "StoreError",
    "TraceFilter",
    "UserFeedbackError",
    "WriterOverloaded",
    "append_scores",
    "applied_migrations",
    "audit_entries",
    "check_single_select",
    "count_traces",
    "delete_data",
    "export_store",
    "facets",
    "feedback_value",
    "import_store",
    "list_sessions",
    "list_traces",
    "list_users",
    "migrate",
    "parse_age",
    "parse_feedback",
    "read_manifest",
    "rebuild_listed_traces",
    "rebuild_traces",
    "recent_traces",
    "record_audit",
    "record_feedback",
    "record_langfuse_scores",
    "root_cause_counts",
    "root_causes_of",
    "score_trends",
    "scores_table",
    "session_traces",
    "span_tree",
    "trace_fragments",
    "trace_root_cause",
    "trace_scores",
    "trace_spans",
    "trace_summary",
    "traffic",
]
