"""Scoping a user's SQL to one project by rewriting its parse tree.

A project key's SQL must see only its own project's rows, in every table, however the query is
written (joins, subqueries, CTEs, set operations). Rather than trusting a text filter, every
reference to a stored table in the parsed tree is replaced by a subquery of that table filtered
to the project, under the same alias, and the tree is turned back into SQL by DuckDB itself
(``json_deserialize_sql``). Tables without a ``project`` column (datasets, prompts, eval runs:
shared by the whole instance) are refused to project keys.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

import duckdb

from .readonly import QueryRejected, _walk

_SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog"})


def scope_to_project(
    query: str, project: str, scoped_tables: Iterable[str], stored_tables: Iterable[str]
) -> str:
    """``query`` (one checked read-only SELECT) with each table in ``scoped_tables`` seen only
    through ``project``'s rows; any other table in ``stored_tables`` is refused."""
    scoped = {name.lower() for name in scoped_tables}
    stored = {name.lower() for name in stored_tables}
    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        tree = _serialize(con, query)
        cte_names = _cte_names(tree)
        shadowing = sorted(cte_names & stored)
        if shadowing:
            raise QueryRejected(
                f"a CTE may not reuse the name of a stored table ({', '.join(shadowing)})"
            )
        template = _filtered_template(con)
        targets = []
        for node in _walk(tree):
            if node.get("type") != "BASE_TABLE":
                continue
            table = str(node.get("table_name", "")).lower()
            if str(node.get("schema_name", "")).lower() in _SYSTEM_SCHEMAS or table in cte_names:
                continue
            if table in scoped:
                targets.append(node)
            elif table in stored:
                raise QueryRejected(
                    f"table {table} is shared by every project: a project key cannot read it"
                )
        for node in targets:
            _replace_with_filtered(node, template, project)
        row = con.execute("SELECT json_deserialize_sql(?::JSON)", [json.dumps(tree)]).fetchone()
    except duckdb.Error as exc:
        raise QueryRejected(f"cannot scope this query to a project: {exc}") from None
    finally:
        con.close()
    if not row or not isinstance(row[0], str):
        raise QueryRejected("cannot scope this query to a project")
    return row[0]


def _serialize(con: duckdb.DuckDBPyConnection, query: str) -> dict[str, Any]:
    row = con.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
    tree = json.loads(row[0]) if row else {}
    if not isinstance(tree, dict) or tree.get("error", True):
        raise QueryRejected("cannot scope this query to a project: it does not parse")
    return tree


def _cte_names(tree: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for node in _walk(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map", []):
                if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                    names.add(entry["key"].lower())
    return names


def _filtered_template(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    tree = _serialize(con, "SELECT * FROM (SELECT * FROM main.t WHERE project = 'p') AS t")
    node = tree["statements"][0]["node"]["from_table"]
    assert node["type"] == "SUBQUERY"
    return dict(node)


def _replace_with_filtered(node: dict[str, Any], template: dict[str, Any], project: str) -> None:
    table = str(node["table_name"])
    alias = str(node.get("alias") or "") or table
    replacement = copy.deepcopy(template)
    replacement["alias"] = alias
    replacement["column_name_alias"] = node.get("column_name_alias", [])
    inner = replacement["subquery"]["node"]
    base = inner["from_table"]
    base["table_name"] = table
    base["schema_name"] = "main"
    base["catalog_name"] = ""
    base["qualified_name"] = {"path": ["main", table]}
    constant = inner["where_clause"]["right"]
    if "literal" in constant:  # DuckDB 2.x serializes a constant as literal.text
        constant["literal"]["text"] = project
    else:  # DuckDB 1.4 (the pin) as value.value
        constant["value"]["value"] = project
    node.clear()
    node.update(replacement)
