"""``loopwise import``: an export folder (export.py) back into a store, empty or not.

Rules, checked before anything is written (a refused import changes nothing):

- the manifest's format version and migrations must be known to this build: an export from
  a newer schema is refused, one from an older schema imports (columns added since are null);
- every file must be there with the row count the manifest names;
- a row whose key the store already holds with different content is a conflict (for
  example dataset version 3 of the same dataset with other examples): refused, naming the
  table and key. Spans are the exception: as on ingest, a stored span wins (a span resent
  elsewhere differs only in ``ingested_at``).

Then, in one transaction, rows the store lacks are added and stored ones skipped, so a
second import of the same folder changes nothing. Spans go through the span writer's rules,
so ``traces`` is folded from the spans actually added (the exported ``traces`` file is
checked against the manifest, not copied). ``eval_watermarks`` are positions in the
exported spans: into a store that held no spans they are mapped to the new rowids (online
evaluators continue where they were); otherwise they start over (-1), and re-reading adds no
score or flag twice (their ids are derived from the span).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .export import FORMAT, FORMAT_VERSION, MANIFEST, ExportError, store_tables, table_columns
from .migrations import MIGRATIONS
from .retention_cascade import changed_rows
from .schema import SPAN_COLUMN_NAMES
from .store import Store
from .trace_fragments import trace_fragments
from .traces import write_fragments

SPAN_BATCH_ROWS = 16_384
DERIVED = ("traces",)  # recomputed from the spans added, never copied


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The manifest of an export folder, checked for shape and schema version."""
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{path} not found: not a loopwise export folder") from None
    except (OSError, ValueError) as exc:
        raise ExportError(f"cannot read {path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ExportError(f"{path} is not a loopwise export manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ExportError(
            f"{path} has format version {version!r}; this loopwise reads up to {FORMAT_VERSION}"
        )
    known = {name for name, _ in MIGRATIONS}
    migrations = manifest.get("migrations")
    tables = manifest.get("tables")
    if not isinstance(migrations, list) or not isinstance(tables, dict):
        raise ExportError(f"{path} lacks its migrations or tables")
    newer = sorted(str(name) for name in migrations if name not in known)
    if newer:
        raise ExportError(
            f"the export comes from a newer schema (migrations unknown here: "
            f"{', '.join(newer)}); upgrade loopwise to import it"
        )
    return manifest


def import_store(store: Store, directory: str | Path) -> dict[str, dict[str, int]]:
    """Import the export in ``directory`` into ``store``; return ``{table: {"rows": in the
    file, "added": rows new to the store}}``."""
    folder = Path(directory)
    manifest = read_manifest(folder)
    files = _check_files(store, folder, manifest)
    report: dict[str, dict[str, int]] = {}
    with store.transaction() as cur:
        had_spans = _count(cur, "spans") > 0
        traces_before = _count(cur, "traces")
        for table, path in files.items():
            if table == "spans" or table in DERIVED:
                continue
            _refuse_conflicts(cur, table, pq.read_table(path))
        for table, path in files.items():
            rows = int(manifest["tables"][table]["rows"])
            if table == "spans":
                added = _import_spans(cur, path)
            elif table in DERIVED:
                added = _count(cur, table) - traces_before
            elif table == "eval_watermarks":
                added = _import_rows(cur, table, _restart_watermarks(pq.read_table(path)))
            else:
                added = _import_rows(cur, table, pq.read_table(path))
            report[table] = {"rows": rows, "added": added}
    if not had_spans and "eval_watermarks" in files and "spans" in files:
        with store.transaction() as cur:
            _map_watermarks(cur, files["eval_watermarks"], files["spans"])
    return report


def _check_files(store: Store, folder: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    cur = store.cursor()
    try:
        present = set(store_tables(cur))
        files: dict[str, Path] = {}
        for table, entry in sorted(manifest["tables"].items()):
            if table not in present:
                raise ExportError(f"the store has no table {table!r} (export from another schema?)")
            if not isinstance(entry, dict) or not isinstance(entry.get("rows"), int):
                raise ExportError(f"manifest entry for {table!r} is malformed")
            path = folder / str(entry.get("file", ""))
            if path.parent != folder or not path.is_file():
                raise ExportError(f"{table}: file {entry.get('file')!r} is missing from {folder}")
            try:
                metadata = pq.read_metadata(path)
            except (OSError, pa.ArrowException) as exc:
                raise ExportError(f"{table}: {path.name} is not readable Parquet: {exc}") from None
            if metadata.num_rows != entry["rows"]:
                raise ExportError(
                    f"{table}: {path.name} holds {metadata.num_rows} rows, the manifest "
                    f"says {entry['rows']} (incomplete export?)"
                )
            columns = {name for name, _ in table_columns(cur, table)}
            extra = sorted(set(metadata.schema.to_arrow_schema().names) - columns)
            if extra:
                raise ExportError(f"{table}: columns unknown to this store: {', '.join(extra)}")
            files[table] = path
    finally:
        cur.close()
    # Spans first, so everything derived finds its spans; the rest in name order.
    return dict(sorted(files.items(), key=lambda item: (item[0] != "spans", item[0])))


def _primary_key(cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = cur.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [table],
    ).fetchall()
    return list(rows[0][0]) if rows else []


def _refuse_conflicts(cur: duckdb.DuckDBPyConnection, table: str, incoming: pa.Table) -> None:
    key = _primary_key(cur, table)
    if not key or incoming.num_rows == 0 or table == "eval_watermarks":
        return
    on = " AND ".join(f'i."{k}" = s."{k}"' for k in key)
    same = " AND ".join(f'i."{c}" IS NOT DISTINCT FROM s."{c}"' for c in incoming.column_names)
    cur.register("_lw_incoming", incoming)
    try:
        found = cur.execute(
            f"SELECT {', '.join(f'i.{k}' for k in key)} FROM _lw_incoming i "
            f'JOIN "{table}" s ON {on} WHERE NOT ({same}) LIMIT 1'
        ).fetchall()
    finally:
        cur.unregister("_lw_incoming")
    if found:
        named = ", ".join(f"{k}={v!r}" for k, v in zip(key, found[0], strict=True))
        raise ExportError(
            f"{table}: the store already holds {named} with different content; nothing was imported"
        )


def _import_rows(cur: duckdb.DuckDBPyConnection, table: str, incoming: pa.Table) -> int:
    if incoming.num_rows == 0:
        return 0
    columns = ", ".join(f'"{c}"' for c in incoming.column_names)
    key = _primary_key(cur, table)
    cur.register("_lw_incoming", incoming)
    try:
        if key:
            sql = f'INSERT OR IGNORE INTO "{table}" ({columns}) SELECT {columns} FROM _lw_incoming'
        else:  # no key: add the rows not already stored, column for column
            same = " AND ".join(
                f'i."{c}" IS NOT DISTINCT FROM s."{c}"' for c in incoming.column_names
            )
            sql = (
                f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM _lw_incoming i '
                f'WHERE NOT EXISTS (SELECT 1 FROM "{table}" s WHERE {same})'
            )
        return changed_rows(cur, sql)
    finally:
        cur.unregister("_lw_incoming")


def _import_spans(cur: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Add the spans the store lacks, in the file's order (so rowids follow it), and fold
    them into ``traces``."""
    added = 0
    for batch in _span_batches(path):
        cur.register("_lw_incoming", batch.select(["trace_id", "span_id"]))
        try:
            stored = cur.execute(
                "SELECT i.trace_id || '/' || i.span_id FROM _lw_incoming i "
                "JOIN spans s ON s.trace_id = i.trace_id AND s.span_id = i.span_id"
            ).fetchall()
        finally:
            cur.unregister("_lw_incoming")
        new = batch
        if stored:
            keys = pc.binary_join_element_wise(batch["trace_id"], batch["span_id"], "/")
            known = pa.array([row[0] for row in stored], pa.string())
            new = batch.filter(pc.invert(pc.is_in(keys, value_set=known)))
        if new.num_rows == 0:
            continue
        columns = ", ".join(f'"{name}"' for name in new.column_names)
        cur.register("_lw_incoming", new)
        try:
            cur.execute(f"INSERT INTO spans ({columns}) SELECT {columns} FROM _lw_incoming")
        finally:
            cur.unregister("_lw_incoming")
        write_fragments(cur, trace_fragments(new), merge=True)
        added += new.num_rows
    return added


def _span_batches(path: Path) -> Iterator[pa.Table]:
    parquet = pq.ParquetFile(path)
    wanted = [name for name in SPAN_COLUMN_NAMES if name in parquet.schema_arrow.names]
    for batch in parquet.iter_batches(batch_size=SPAN_BATCH_ROWS, columns=wanted):
        table = pa.Table.from_batches([batch])
        for name in SPAN_COLUMN_NAMES:  # an older export lacks later columns
            if name not in table.column_names:
                table = table.append_column(name, pa.nulls(table.num_rows))
        yield table.select(list(SPAN_COLUMN_NAMES))


def _restart_watermarks(incoming: pa.Table) -> pa.Table:
    index = incoming.column_names.index("last_rowid")
    return incoming.set_column(index, "last_rowid", pa.array([-1] * incoming.num_rows, pa.int64()))


def _map_watermarks(cur: duckdb.DuckDBPyConnection, watermarks: Path, spans: Path) -> None:
    """Into a store that held no spans: a watermark at position p of the exported spans
    goes just below the lowest new rowid of the spans after p, so every span it had not
    read is still ahead of it (spans are inserted in file order, so this is exact)."""
    positions = pq.read_table(watermarks, columns=["watermark_key", "last_rowid"]).to_pylist()
    keys = pq.read_table(spans, columns=["trace_id", "span_id"])
    for row in positions:
        position = int(row["last_rowid"])
        if position < 0:
            continue
        later = keys.slice(position + 1)
        if later.num_rows == 0:
            found = cur.execute("SELECT max(rowid) FROM spans").fetchall()
        else:
            cur.register("_lw_later", later)
            try:
                found = cur.execute(
                    "SELECT min(s.rowid) - 1 FROM spans s JOIN _lw_later l "
                    "ON s.trace_id = l.trace_id AND s.span_id = l.span_id"
                ).fetchall()
            finally:
                cur.unregister("_lw_later")
        if found and found[0][0] is not None:
            cur.execute(
                "UPDATE eval_watermarks SET last_rowid = ? WHERE watermark_key = ? "
                "AND last_rowid = -1",
                [int(found[0][0]), row["watermark_key"]],
            )


def _count(cur: duckdb.DuckDBPyConnection, table: str) -> int:
    found = cur.execute(f'SELECT count(*) FROM "{table}"').fetchall()
    return int(found[0][0])
