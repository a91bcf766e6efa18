"""Export to Parquet and import back: lossless, idempotent, and refusing what it cannot take."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import loopwise
from loopwise.collector.store import Store, applied_migrations
from loopwise.collector.store.export import ExportError, export_store
from loopwise.collector.store.import_store import import_store
from loopwise.feedback import LocalBackend

from .governance_data import Seeded, all_rows, seed_governance


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seeded]:
    """The seeded store, with the proposal adopted so decisions are filled too."""
    path = tmp_path_factory.mktemp("export-source") / "source.duckdb"
    seeded = seed_governance(path)
    with Store(path) as store:
        LocalBackend(store).call(
            "POST",
            f"/api/prompts/reply/proposals/{seeded.proposal_id}/adopt",
            body={"actor": "sam", "label": "production", "reason": "fixes invented ids"},
        )
    return path, seeded


@pytest.fixture(scope="module")
def exported(
    source: tuple[Path, Seeded], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], dict[str, list[tuple[Any, ...]]]]:
    """The source exported once: (folder, manifest, every row of the source)."""
    folder = tmp_path_factory.mktemp("export") / "dump"
    with Store(source[0]) as store:
        manifest = export_store(store, folder)
        rows = all_rows(store)
    return folder, manifest, rows


def test_every_column_of_spans_is_filled_in_the_source(source: tuple[Path, Seeded]) -> None:
    with Store(source[0]) as store:
        columns = [c for (c,) in store.query("SELECT column_name FROM (DESCRIBE spans)").rows]
        empty = [c for c in columns if store.query(f"SELECT count({c}) FROM spans").rows[0][0] == 0]
    assert empty == []


def test_manifest_names_the_schema_and_counts(
    source: tuple[Path, Seeded], exported: tuple[Path, dict[str, Any], Any]
) -> None:
    folder, manifest, rows = exported
    with Store(source[0]) as store:
        assert manifest["migrations"] == applied_migrations(store.cursor())
    assert json.loads((folder / "manifest.json").read_text()) == manifest
    assert set(manifest["tables"]) == set(rows)
    for table, entry in manifest["tables"].items():
        assert (
            entry["rows"] == len(rows[table]) == pq.read_metadata(folder / entry["file"]).num_rows
        )
    assert {"spans", "traces", "scores", "flags", "review_items", "dataset_examples"} <= set(rows)
    assert all(len(rows[t]) > 0 for t in ("prompt_proposal_decisions", "eval_runs", "judge_cache"))


def test_round_trip_into_a_fresh_file_is_row_for_row_equal(
    tmp_path: Path, exported: tuple[Path, dict[str, Any], dict[str, list[tuple[Any, ...]]]]
) -> None:
    folder, _, rows = exported
    with Store(tmp_path / "fresh.duckdb") as fresh:
        report = import_store(fresh, folder)
        assert all_rows(fresh) == rows
        assert {t: r["added"] for t, r in report.items()} == {t: len(r) for t, r in rows.items()}
        # Importing again changes nothing.
        again = import_store(fresh, folder)
        assert {r["added"] for r in again.values()} == {0}
        assert all_rows(fresh) == rows
    # The imported file opens again with the same content.
    with Store(tmp_path / "fresh.duckdb") as reopened:
        assert all_rows(reopened) == rows


def test_importing_into_the_store_it_came_from_adds_nothing(
    tmp_path: Path, source: tuple[Path, Seeded], exported: tuple[Path, dict[str, Any], Any]
) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(source[0], copy)
    with Store(copy) as store:
        report = import_store(store, exported[0])
        assert {r["added"] for r in report.values()} == {0}
        assert all_rows(store) == exported[2]


def test_import_into_a_store_with_other_data_merges(
    tmp_path: Path, exported: tuple[Path, dict[str, Any], Any]
) -> None:
    folder, _, rows = exported
    other = tmp_path / "other.duckdb"
    client = loopwise.Client()
    client.init("elsewhere", db=other, batch=False, set_global=False)
    with client.span("greet", kind="chain") as span:
        span.set_input("hello")
    client.shutdown()
    with Store(other) as store:
        LocalBackend(store).call(
            "POST", "/api/prompts/greeting/versions", body={"template": "Hi {{name}}", "actor": "x"}
        )
        import_store(store, folder)
        merged = all_rows(store)
    assert len(merged["prompt_versions"]) == len(rows["prompt_versions"]) + 1
    assert len(merged["spans"]) == len(rows["spans"]) + 1
    for table in ("spans", "traces"):
        assert {repr(row) for row in rows[table]} < {repr(row) for row in merged[table]}
    # Watermarks are rowids of one file: into a store that had spans they start over.
    assert [row[5] for row in merged["eval_watermarks"]] == [-1]


def test_a_conflicting_row_refuses_the_whole_import(
    tmp_path: Path, exported: tuple[Path, dict[str, Any], Any]
) -> None:
    target = tmp_path / "target.duckdb"
    with Store(target) as store:
        LocalBackend(store).call(
            "POST", "/api/prompts/reply/versions", body={"template": "Different", "actor": "x"}
        )
        before = all_rows(store)
        with pytest.raises(ExportError, match=r"prompt_versions: .*name='reply'.*different"):
            import_store(store, exported[0])
        assert all_rows(store) == before


def test_a_newer_schema_is_refused(tmp_path: Path, exported: tuple[Path, Any, Any]) -> None:
    folder = tmp_path / "newer"
    shutil.copytree(exported[0], folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["migrations"].append("9999_from_the_future")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with Store(tmp_path / "t.duckdb") as store:
        before = all_rows(store)
        with pytest.raises(ExportError, match=r"newer schema.*9999_from_the_future"):
            import_store(store, folder)
        assert all_rows(store) == before


@pytest.mark.parametrize("damage", ["missing", "truncated", "not parquet", "bad manifest"])
def test_a_damaged_export_is_refused(
    tmp_path: Path, exported: tuple[Path, Any, Any], damage: str
) -> None:
    folder = tmp_path / "damaged"
    shutil.copytree(exported[0], folder)
    if damage == "missing":
        (folder / "scores.parquet").unlink()
    elif damage == "truncated":
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["tables"]["scores"]["rows"] += 1
        (folder / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "not parquet":
        (folder / "scores.parquet").write_bytes(b"not parquet at all")
    else:
        (folder / "manifest.json").write_text("{")
    with Store(tmp_path / "t.duckdb") as store:
        before = all_rows(store)
        with pytest.raises(ExportError):
            import_store(store, folder)
        assert all_rows(store) == before


def test_export_refuses_a_folder_that_holds_one(
    tmp_path: Path, source: tuple[Path, Seeded], exported: tuple[Path, Any, Any]
) -> None:
    with Store(source[0]) as store, pytest.raises(ExportError, match="already holds an export"):
        export_store(store, exported[0])


def test_an_export_from_an_older_schema_imports(
    tmp_path: Path, exported: tuple[Path, dict[str, Any], Any]
) -> None:
    """Before 0012 spans had no token details: such an export imports with them null."""
    folder = tmp_path / "older"
    shutil.copytree(exported[0], folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["migrations"].remove("0012_spans_token_details")
    dropped = ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
    spans = pq.read_table(folder / "spans.parquet").drop_columns(list(dropped))
    pq.write_table(spans, folder / "spans.parquet")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with Store(tmp_path / "t.duckdb") as store:
        report = import_store(store, folder)
        assert report["spans"]["added"] == spans.num_rows
        filled = store.query(
            "SELECT count(cache_read_tokens) + count(reasoning_tokens), count(input) FROM spans"
        ).rows[0]
    assert filled == (0, spans.num_rows)
