"""Checks that a user's SQL is exactly one read-only query, using DuckDB's own parser.

The check is the first of two guards. DuckDB labels ``WITH d AS (DELETE ... RETURNING 1)
SELECT ...`` a SELECT statement, so a statement-type test alone lets writes through; this module
walks the parsed tree instead (``json_serialize_sql``) and rejects any query node that is not a
read, and any function outside the allowed set (``checkpoint()``, ``duckdb_databases()`` with
the file path, ``current_setting()``, file readers, ``query()``...). The second guard is
physical: user SQL always runs inside a ``READ ONLY`` transaction (see user_sql.py), where DuckDB
itself refuses every write, so even a form this walk does not know cannot change data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb

READ_QUERY_NODES = frozenset(
    {"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"}
)

# Table functions a user query may read from: generators, JSON helpers and the catalog views
# that describe tables and columns. Everything else (file readers, query(), checkpoint(),
# duckdb_databases(), duckdb_settings(), logging and profiling switches) is refused by default,
# so a function added by a later DuckDB release is refused until someone allows it here.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "json_each",
        "json_tree",
        "repeat",
        "duckdb_tables",
        "duckdb_columns",
        "duckdb_views",
        "duckdb_schemas",
        "duckdb_types",
        "duckdb_functions",
        "duckdb_keywords",
        "duckdb_constraints",
        "duckdb_indexes",
        "pragma_table_info",
        "pragma_show",
    }
)

# Scalar functions that read settings or session state, or write (sequences, logs).
DENIED_SCALAR_FUNCTIONS = frozenset(
    {
        "current_setting",
        "getvariable",
        "getenv",
        "nextval",
        "currval",
        "write_log",
        "checkpoint",
        "force_checkpoint",
    }
)


# Built-in views that show the database file's path, the settings or the session's log, and
# the table of API key hashes.
DENIED_RELATIONS = frozenset(
    {
        "duckdb_databases",
        "pragma_database_list",
        "duckdb_logs",
        "pg_settings",
        "pg_prepared_statements",
        "api_keys",
    }
)


class QueryRejected(ValueError):
    """The SQL is not a single read-only query (or does not parse)."""


def check_single_select(sql: str) -> str:
    """Return the one read-only query in ``sql``; raise QueryRejected for anything else."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise _unparsable(exc) from None
    if len(statements) != 1:
        raise QueryRejected(f"expected exactly one SELECT statement, got {len(statements)}")
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:  # type: ignore[attr-defined]
        raise QueryRejected(f"only SELECT is allowed, got {statement.type.name}")
    check_read_only_tree(statement.query)
    return statement.query


def check_read_only_tree(query: str) -> None:
    """Reject ``query`` unless its parsed tree holds only reads and allowed functions."""
    tree = _parse_tree(query)
    for node in _walk(tree):
        node_type = node.get("type")
        is_query_node = isinstance(node_type, str) and node_type.endswith("_NODE")
        if is_query_node and node_type not in READ_QUERY_NODES:
            verb = str(node_type).removesuffix("_QUERY_NODE").removesuffix("_NODE")
            raise QueryRejected(f"only reads are allowed: the query contains {verb}")
        if node_type == "TABLE_FUNCTION":
            name = _function_name(node.get("function"))
            if name is not None and name not in ALLOWED_TABLE_FUNCTIONS:
                raise QueryRejected(f"table function {name}() is not allowed in user SQL")
        if node_type == "BASE_TABLE":
            table = node.get("table_name")
            if isinstance(table, str) and table.lower() in DENIED_RELATIONS:
                raise QueryRejected(f"{table.lower()} is not allowed in user SQL")
        if node.get("class") == "FUNCTION":
            name = _function_name(node)
            if name in DENIED_SCALAR_FUNCTIONS:
                raise QueryRejected(f"function {name}() is not allowed in user SQL")


def _unparsable(exc: duckdb.Error) -> QueryRejected:
    # DuckDB 1.4 has no data-modifying CTEs: its parser refuses DELETE/UPDATE/INSERT in a
    # WITH clause, which is a write the user asked for, not a typo.
    if "A CTE needs a SELECT" in str(exc):
        return QueryRejected("only reads are allowed: a WITH clause holds a write")
    return QueryRejected(f"SQL does not parse: {_first_line(exc)}")


def _parse_tree(query: str) -> dict[str, Any]:
    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        row = con.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
    except duckdb.Error as exc:
        raise _unparsable(exc) from None
    finally:
        con.close()
    tree = json.loads(row[0]) if row and isinstance(row[0], str) else {}
    if not isinstance(tree, dict) or tree.get("error", True):
        message = tree.get("error_message") if isinstance(tree, dict) else None
        raise QueryRejected(f"this query form is not supported in user SQL: {message or 'unknown'}")
    return tree


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _function_name(node: Any) -> str | None:
    if not isinstance(node, dict):
        return None
    name = node.get("function_name")
    return name.lower() if isinstance(name, str) else None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
