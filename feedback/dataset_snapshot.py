"""A dataset's whole history as plain data, and back into the store.

The snapshot is what ``datasets/<name>/`` holds on disk: a manifest listing every version
(who, when, why, and its example ids in order) and the examples themselves. Restoring a
snapshot writes the versions the store lacks; the versions it has must be the same, so a
round trip through the files changes nothing and a diverged copy is refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from loopwise.collector.store import Store
from loopwise.collector.times import maybe_utc

from .common import check_actor, check_name, optional_text
from .dataset_model import Example, parse_example
from .datasets import VERSIONS_SQL, write_version
from .errors import Conflict, FeedbackError, NotFound

SNAPSHOT_FORMAT = "loopwise-dataset/1"
EXAMPLES_FILE = "examples.jsonl"
ALL_EXAMPLES_SQL = """
SELECT m.version, m.position, e.* FROM dataset_members m JOIN dataset_examples e
USING (example_id) WHERE m.dataset = ? ORDER BY m.version, m.position
"""


def dataset_snapshot(store: Store, name: Any) -> dict[str, Any]:
    """``{"manifest": ..., "examples": [...]}`` for every version of dataset ``name``."""
    dataset = check_name(name, "dataset")
    versions = store.query(VERSIONS_SQL, [dataset]).records()
    if not versions:
        raise NotFound(f"no dataset {dataset}")
    rows = store.query(ALL_EXAMPLES_SQL, [dataset], max_rows=100_000_000).records()
    members: dict[int, list[str]] = {}
    examples: dict[str, dict[str, Any]] = {}
    for row in rows:
        members.setdefault(row["version"], []).append(row["example_id"])
        if row["example_id"] not in examples:
            examples[row["example_id"]] = {
                **Example.from_row(row).to_dict(),
                "created_at": _iso(row["created_at"]),
            }
    manifest = {
        "format": SNAPSHOT_FORMAT,
        "name": dataset,
        "description": versions[-1]["description"],
        "examples_file": EXAMPLES_FILE,
        "latest_version": versions[-1]["version"],
        "versions": [
            {
                "version": v["version"],
                "created_at": _iso(v["created_at"]),
                "author": v["author"],
                "message": v["message"],
                "description": v["description"],
                "example_ids": members.get(v["version"], []),
            }
            for v in versions
        ],
    }
    return {"manifest": manifest, "examples": list(examples.values())}


def restore_snapshot(store: Store, snapshot: Any) -> dict[str, Any]:
    """Write the snapshot's versions that the store does not have yet, in one transaction.

    Conflict when a version both have differs; FeedbackError when the snapshot is malformed.
    Returns ``{"dataset", "restored": [versions], "latest_version"}``.
    """
    manifest, examples, created = _parse(snapshot)
    dataset = manifest["name"]
    restored = []
    written: set[str] = set()
    with store.transaction() as cur:
        have = {
            row[0]: row[1]
            for row in cur.execute(
                "SELECT version, list(example_id ORDER BY position) FROM dataset_members "
                "WHERE dataset = ? GROUP BY version",
                [dataset],
            ).fetchall()
        }
        known = {
            r[0]
            for r in cur.execute(
                "SELECT version FROM dataset_versions WHERE dataset = ?", [dataset]
            ).fetchall()
        }
        for entry in manifest["versions"]:
            version = entry["version"]
            if version in known:
                if list(have.get(version, [])) != entry["example_ids"]:
                    raise Conflict(
                        f"dataset {dataset} version {version} in the store differs from the "
                        "file: the two copies diverged; restore under another name",
                        version=version,
                    )
                continue
            if known and version != max(known) + 1:
                raise Conflict(
                    f"dataset {dataset}: version {version} does not follow version {max(known)}"
                )
            row = {
                "dataset": dataset,
                "version": version,
                "description": entry.get("description"),
                "message": entry.get("message"),
                "author": entry["author"],
                "created_at": entry["created_at"],
                "example_count": len(entry["example_ids"]),
            }
            members = [examples[example_id] for example_id in entry["example_ids"]]
            fresh = [e for e in members if e.example_id not in written]
            write_version(cur, row, members, entry["created_at"], created, new=fresh)
            written.update(e.example_id for e in fresh)
            known.add(version)
            restored.append(version)
    return {"dataset": dataset, "restored": restored, "latest_version": max(known)}


def _parse(
    snapshot: Any,
) -> tuple[dict[str, Any], dict[str, Example], dict[str, dt.datetime]]:
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("manifest"), dict):
        raise FeedbackError("a dataset snapshot is {manifest: {...}, examples: [...]}")
    manifest = snapshot["manifest"]
    if manifest.get("format") != SNAPSHOT_FORMAT:
        raise FeedbackError(
            f"unknown dataset format {manifest.get('format')!r}; expected {SNAPSHOT_FORMAT}"
        )
    check_name(manifest.get("name"), "dataset")
    raw_examples = snapshot.get("examples")
    if not isinstance(raw_examples, list):
        raise FeedbackError("snapshot examples must be a list")
    examples: dict[str, Example] = {}
    created: dict[str, dt.datetime] = {}
    for i, raw in enumerate(raw_examples, start=1):
        example = parse_example(raw, f"{EXAMPLES_FILE} line {i}")
        examples[example.example_id] = example
        created[example.example_id] = _time(raw.get("created_at"), f"{EXAMPLES_FILE} line {i}")
    versions = manifest.get("versions")
    if not isinstance(versions, list) or not versions:
        raise FeedbackError("the manifest lists no versions")
    for number, entry in enumerate(versions, start=1):
        where = f"manifest version entry {number}"
        if not isinstance(entry, dict) or entry.get("version") != number:
            raise FeedbackError(f"{where}: versions must be numbered 1, 2, 3... in order")
        ids = entry.get("example_ids")
        if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
            raise FeedbackError(f"{where}: example_ids must be a list of ids")
        unknown = [x for x in ids if x not in examples]
        if unknown:
            raise FeedbackError(f"{where}: example {unknown[0]} is not in {EXAMPLES_FILE}")
        if len(set(ids)) != len(ids):
            raise FeedbackError(f"{where}: an example is listed twice")
        entry["author"] = check_actor(entry.get("author"))
        optional_text(entry.get("message"), f"{where}: message")
        entry["created_at"] = _time(entry.get("created_at"), where)
    return manifest, examples, created


def _time(value: Any, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise FeedbackError(f"{where}: created_at must be an ISO timestamp")
    parsed = maybe_utc(value)
    if parsed is None:
        raise FeedbackError(f"{where}: created_at {value!r} is not an ISO timestamp")
    return parsed


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)
