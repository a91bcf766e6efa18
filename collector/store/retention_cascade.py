"""The rows a deletion takes with it, table by table (see retention.py and docs/retention.md).

Runs inside the deletion's transaction after the spans are gone. Two temp tables say what
went: ``_lw_spans`` (trace_id, span_id of the deleted spans), ``_lw_gone`` (traces with no
span left). A derived row goes when it is about a deleted span, or about a trace that is
gone, or when it came from a deleted row (a flag from a deleted score, a review item from a
deleted flag or thumbs-down, a correction of a deleted item, ...). Rows whose trace never
arrived (feedback sent before its spans, or about spans deleted earlier) go when their own
columns match the selection: their project, their ``created_at`` against the cutoff.

Every table named here is created by the collector's migrations, so this module needs
nothing from the packages above the collector.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import duckdb

ABOUT_DELETED = """(
    ({a}.span_id IS NOT NULL
        AND ({a}.trace_id, {a}.span_id) IN (SELECT trace_id, span_id FROM _lw_spans))
    OR {a}.trace_id IN (SELECT trace_id FROM _lw_gone)
)"""
ORPHAN = "{a}.trace_id NOT IN (SELECT trace_id FROM traces)"
# Placeholder a redacted eval-run example shows instead of the deleted text.
REDACTED = "[deleted]"


class CascadeError(ValueError):
    """A derived row that cannot be cleaned as the deletion requires (nothing is deleted)."""


def changed_rows(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    """Run a DELETE/UPDATE/INSERT and return how many rows it changed."""
    found = cur.execute(sql, params or []).fetchall()
    return int(found[0][0]) if found else 0


@dataclass
class Cascade:
    """The deletion's cursor and selection, with the SQL conditions built from them."""

    cur: duckdb.DuckDBPyConnection
    project: str | None
    cutoff: dt.datetime | None
    user_id: str | None

    def own(self, alias: str, *, user_sql: str | None = None) -> tuple[str, list[Any]]:
        """The selection applied to a row's own columns (project, created_at and, where
        the row names an end user, ``user_sql``); false when it names a user it cannot."""
        parts: list[str] = []
        params: list[Any] = []
        if self.project is not None:
            parts.append(f"{alias}.project = ?")
            params.append(self.project)
        if self.cutoff is not None:
            parts.append(f"{alias}.created_at < ?")
            params.append(self.cutoff)
        if self.user_id is not None:
            if user_sql is None:
                return "false", []
            parts.append(user_sql.format(a=alias))
            params.append(self.user_id)
        return " AND ".join(parts), params

    def linked(self, alias: str) -> tuple[str, list[Any]]:
        """About a deleted span or gone trace, or an orphan matching the selection."""
        own, params = self.own(alias)
        about = ABOUT_DELETED.format(a=alias)
        return f"({about} OR ({ORPHAN.format(a=alias)} AND {own}))", params

    def collect(self, table: str, key: str, where: str, params: list[Any]) -> int:
        """Put the keys of ``table``'s rows matching ``where`` in ``_lw_<table>`` and delete
        the rows; return how many."""
        self.cur.execute(
            f"CREATE TEMP TABLE _lw_{table} AS SELECT {key} FROM {table} t WHERE {where}", params
        )
        return changed_rows(
            self.cur, f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM _lw_{table})"
        )

    @property
    def names_someone(self) -> bool:
        """A project or a user is named (not only an age)."""
        return self.project is not None or self.user_id is not None


TEMP_TABLES = (
    "scores",
    "flags",
    "flag_clusterings",
    "review_items",
    "corrections",
    "prompt_proposals",
    "dataset_examples",
)


def delete_derived(c: Cascade, deleted: dict[str, int], updated: dict[str, int]) -> list[str]:
    """Delete the derived rows in dependency order, counting into ``deleted`` and
    ``updated``; return notes on what was deliberately kept."""
    _scores_and_flags(c, deleted)
    _reviews(c, deleted)
    notes = _proposals(c, deleted)
    if c.names_someone:
        _datasets(c, deleted, updated)
        deleted["judge_cache"] = changed_rows(c.cur, "DELETE FROM judge_cache")
    else:
        deleted.update(dataset_examples=0, dataset_members=0)
        updated.update(dataset_versions=0, eval_runs=0)
        notes.append(
            "dataset examples are kept by an age-only deletion (datasets are curated "
            "copies); delete by project or user to remove them"
        )
        deleted["judge_cache"] = changed_rows(
            c.cur, "DELETE FROM judge_cache WHERE created_at < ?", [c.cutoff]
        )
    for table in TEMP_TABLES:
        c.cur.execute(f"DROP TABLE IF EXISTS _lw_{table}")
    return notes


def _scores_and_flags(c: Cascade, deleted: dict[str, int]) -> None:
    linked, params = c.linked("t")
    where, where_params = linked, params
    if c.user_id is not None:
        # The feedback this user gave, wherever it points (still within project and age).
        given, given_params = c.own("t", user_sql="({a}.source = 'end_user' AND {a}.author = ?)")
        where, where_params = f"({linked} OR ({given}))", [*params, *given_params]
    deleted["scores"] = c.collect("scores", "score_id", where, where_params)

    linked, params = c.linked("t")
    from_scores = "t.score_id IN (SELECT score_id FROM _lw_scores)"
    deleted["flags"] = c.collect("flags", "flag_id", f"({linked} OR {from_scores})", params)

    # A clustering run that grouped any deleted flag goes whole: its labels and sizes were
    # computed from the deleted flags' text. Clustering again makes a new one.
    deleted["flag_clusterings"] = c.collect(
        "flag_clusterings",
        "clustering_id",
        "t.clustering_id IN (SELECT clustering_id FROM flag_clusters "
        "WHERE flag_id IN (SELECT flag_id FROM _lw_flags))",
        [],
    )
    deleted["flag_clusters"] = changed_rows(
        c.cur,
        "DELETE FROM flag_clusters WHERE clustering_id IN "
        "(SELECT clustering_id FROM _lw_flag_clusterings)",
    )


def _reviews(c: Cascade, deleted: dict[str, int]) -> None:
    linked, params = c.linked("t")
    sources = (
        "t.source_id IN (SELECT score_id FROM _lw_scores UNION ALL SELECT flag_id FROM _lw_flags)"
    )
    deleted["review_items"] = c.collect(
        "review_items", "item_id", f"({linked} OR {sources})", params
    )
    deleted["review_events"] = changed_rows(
        c.cur, "DELETE FROM review_events WHERE item_id IN (SELECT item_id FROM _lw_review_items)"
    )
    linked, params = c.linked("t")
    of_items = "t.item_id IN (SELECT item_id FROM _lw_review_items)"
    deleted["corrections"] = c.collect(
        "corrections", "correction_id", f"({linked} OR {of_items})", params
    )


def _proposals(c: Cascade, deleted: dict[str, int]) -> list[str]:
    """Proposals quote their corrections' text: those citing a deleted correction go,
    unless adopted (the adopted prompt version is in use; it is named in a note)."""
    cites = (
        "list_has_any(from_json(t.correction_ids, '[\"VARCHAR\"]'), "
        "(SELECT coalesce(list(correction_id), []) FROM _lw_corrections))"
    )
    adopted = (
        "t.proposal_id IN (SELECT proposal_id FROM prompt_proposal_decisions "
        "WHERE decision = 'adopted')"
    )
    kept = c.cur.execute(
        f"SELECT t.name, d.version FROM prompt_proposals t JOIN prompt_proposal_decisions d "
        f"USING (proposal_id) WHERE {cites} AND d.decision = 'adopted' ORDER BY 1, 2"
    ).fetchall()
    deleted["prompt_proposals"] = c.collect(
        "prompt_proposals", "proposal_id", f"{cites} AND NOT {adopted}", []
    )
    deleted["prompt_proposal_decisions"] = changed_rows(
        c.cur,
        "DELETE FROM prompt_proposal_decisions WHERE proposal_id IN "
        "(SELECT proposal_id FROM _lw_prompt_proposals)",
    )
    return [
        f"prompt {name} version {version} was adopted from a proposal quoting deleted "
        "corrections; it is kept (edit it with a new version if its text must go)"
        for name, version in kept
    ]


def _datasets(c: Cascade, deleted: dict[str, int], updated: dict[str, int]) -> None:
    """Examples taken from deleted spans leave every dataset version that holds them; the
    versions keep their numbers, authors and messages, and their counts are corrected."""
    from_spans = (
        "((t.source_span_id IS NOT NULL AND (t.source_trace_id, t.source_span_id) IN "
        "(SELECT trace_id, span_id FROM _lw_spans)) "
        "OR t.source_trace_id IN (SELECT trace_id FROM _lw_gone))"
    )
    deleted["dataset_examples"] = c.collect("dataset_examples", "example_id", from_spans, [])
    c.cur.execute(
        "CREATE TEMP TABLE _lw_versions AS SELECT DISTINCT dataset, version FROM dataset_members "
        "WHERE example_id IN (SELECT example_id FROM _lw_dataset_examples)"
    )
    deleted["dataset_members"] = changed_rows(
        c.cur,
        "DELETE FROM dataset_members WHERE example_id IN "
        "(SELECT example_id FROM _lw_dataset_examples)",
    )
    updated["dataset_versions"] = changed_rows(
        c.cur,
        """
        UPDATE dataset_versions v SET example_count = (
            SELECT count(*) FROM dataset_members m
            WHERE m.dataset = v.dataset AND m.version = v.version
        )
        WHERE (v.dataset, v.version) IN (SELECT dataset, version FROM _lw_versions)
        """,
    )
    c.cur.execute("DROP TABLE _lw_versions")
    updated["eval_runs"] = _redact_eval_runs(c.cur)


def _redact_eval_runs(cur: duckdb.DuckDBPyConnection) -> int:
    """Suite run reports copy each example's input, expected and output: those of deleted
    examples are replaced by a placeholder (the run's numbers stay as they were)."""
    ids = {row[0] for row in cur.execute("SELECT example_id FROM _lw_dataset_examples").fetchall()}
    if not ids:
        return 0
    changed = 0
    for run_id, report in cur.execute("SELECT run_id, report FROM eval_runs").fetchall():
        try:
            data = json.loads(report)
        except ValueError:
            raise CascadeError(
                f"eval run {run_id}: its report is not JSON, so deleted examples cannot be "
                "removed from it; nothing was deleted"
            ) from None
        examples = data.get("examples") if isinstance(data, dict) else None
        hit = False
        for example in examples if isinstance(examples, list) else []:
            if isinstance(example, dict) and example.get("example_id") in ids:
                for key in ("input", "expected", "output"):
                    example[key] = REDACTED
                example["deleted"] = True
                hit = True
        if hit:
            cur.execute(
                "UPDATE eval_runs SET report = ? WHERE run_id = ?", [json.dumps(data), run_id]
            )
            changed += 1
    return changed
