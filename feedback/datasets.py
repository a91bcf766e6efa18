"""Named, versioned datasets in the store.

Every change writes a new version holding its full list of examples, so any old version
reads back exactly as it was. Changes take ``expected_version`` (the version the change was
based on); if the dataset moved on meanwhile the change is refused with a conflict instead
of silently dropping the other change. A change either writes a whole new version or
nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from loopwise.collector.store import Store

from .common import check_actor, check_name, insert_records, optional_text, utcnow
from .dataset_model import (
    EXAMPLE_SCHEMA,
    MEMBER_SCHEMA,
    VERSION_SCHEMA,
    DatasetVersion,
    Example,
)
from .errors import Conflict, FeedbackError, NotFound

OnDuplicate = Literal["error", "skip", "replace"]
ON_DUPLICATE: tuple[OnDuplicate, ...] = ("error", "skip", "replace")

VERSIONS_SQL = "SELECT * FROM dataset_versions WHERE dataset = ? ORDER BY version"
LATEST_SQL = "SELECT max(version) FROM dataset_versions WHERE dataset = ?"
LIST_SQL = """
SELECT v.* FROM dataset_versions v
JOIN (SELECT dataset, max(version) AS version FROM dataset_versions GROUP BY dataset) l
  USING (dataset, version)
ORDER BY v.dataset
"""
MEMBERS_SQL = """
SELECT e.* FROM dataset_members m JOIN dataset_examples e USING (example_id)
WHERE m.dataset = ? AND m.version = ? ORDER BY m.position
"""


@dataclass(frozen=True)
class DatasetChange:
    """What a change did: the version it wrote (or the unchanged current one) and counts."""

    version: DatasetVersion
    created: bool
    added: int
    removed: int
    replaced: int
    skipped: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            **self.version.to_dict(),
            "created": self.created,
            "added": self.added,
            "removed": self.removed,
            "replaced": self.replaced,
            "skipped": self.skipped,
        }


def create_dataset(
    store: Store,
    name: Any,
    examples: Sequence[Example] = (),
    *,
    actor: Any,
    description: Any = None,
    message: Any = None,
    on_duplicate: OnDuplicate = "error",
) -> DatasetChange:
    """Create dataset ``name`` at version 1; Conflict when it already exists."""
    return change_dataset(
        store,
        name,
        actor=actor,
        add=examples,
        expected_version=0,
        description=description,
        message=message or "created",
        on_duplicate=on_duplicate,
        allow_empty=True,
    )


def change_dataset(
    store: Store,
    name: Any,
    *,
    actor: Any,
    add: Sequence[Example] = (),
    remove: Sequence[str] = (),
    expected_version: int | None = None,
    description: Any = None,
    message: Any = None,
    on_duplicate: OnDuplicate = "error",
    allow_empty: bool = False,
) -> DatasetChange:
    """Write a new version: the current examples minus ``remove`` (example ids) plus
    ``add``. ``expected_version`` 0 means "create"; None applies to the latest version.

    Duplicates (an added example whose input is already present, or given twice) are an
    error (nothing is written), skipped, or replace the present example, per
    ``on_duplicate``. A change that
    changes nothing writes no version (``created`` is False).
    """
    dataset = check_name(name, "dataset")
    who = check_actor(actor)
    note = optional_text(message, "message", 10_000)
    about = optional_text(description, "description", 10_000)
    if on_duplicate not in ON_DUPLICATE:
        raise FeedbackError(f"on_duplicate must be one of {', '.join(ON_DUPLICATE)}")
    with store.transaction() as cur:
        latest = _latest(cur, dataset)
        if expected_version is not None and expected_version != latest:
            if expected_version == 0:
                raise Conflict(f"dataset {dataset} already exists", current_version=latest)
            if latest == 0:
                raise NotFound(f"no dataset {dataset}")
            raise Conflict(
                f"dataset {dataset} is at version {latest}, not {expected_version}: "
                "someone changed it meanwhile; reload and apply your change again",
                current_version=latest,
            )
        if latest == 0 and expected_version is None:
            raise NotFound(f"no dataset {dataset}; create it first")
        header = _version_row(cur, dataset, latest) if latest else None
        current = _members(cur, dataset, latest) if latest else []
        members, counts = _apply(current, add, remove, on_duplicate)
        new_description = about if about is not None else (header or {}).get("description")
        unchanged = [e.example_id for e in members] == [e.example_id for e in current]
        if latest and unchanged and new_description == (header or {}).get("description"):
            return DatasetChange(_version(header or {}), False, *counts)
        if latest == 0 and not members and not allow_empty:
            raise FeedbackError("a new dataset needs examples")
        now = utcnow()
        version = latest + 1
        row = {
            "dataset": dataset,
            "version": version,
            "description": new_description,
            "message": note,
            "author": who,
            "created_at": now,
            "example_count": len(members),
        }
        known = {example.example_id for example in current}
        write_version(cur, row, members, now, new=[e for e in members if e.example_id not in known])
    return DatasetChange(_version(row), True, *counts)


def write_version(
    cur: duckdb.DuckDBPyConnection,
    row: dict[str, Any],
    members: Sequence[Example],
    now: dt.datetime,
    created: dict[str, dt.datetime] | None = None,
    new: Sequence[Example] | None = None,
) -> None:
    """Insert one version (header, examples, membership) in the caller's transaction.
    ``new`` limits the example rows written to those not stored yet (default: all members;
    stored ones are skipped either way). ``created`` gives examples their original creation
    times (when restoring)."""
    records: dict[str, dict[str, Any]] = {}
    for example in members if new is None else new:
        when = (created or {}).get(example.example_id, now)
        records.setdefault(example.example_id, example.record(when))
    insert_records(
        cur, "dataset_examples", list(records.values()), schema=EXAMPLE_SCHEMA, or_ignore=True
    )
    insert_records(cur, "dataset_versions", [row], schema=VERSION_SCHEMA)
    insert_records(
        cur,
        "dataset_members",
        [
            {
                "dataset": row["dataset"],
                "version": row["version"],
                "position": i,
                "example_id": example.example_id,
            }
            for i, example in enumerate(members)
        ],
        schema=MEMBER_SCHEMA,
    )


def _apply(
    current: list[Example],
    add: Sequence[Example],
    remove: Sequence[str],
    on_duplicate: OnDuplicate,
) -> tuple[list[Example], tuple[int, int, int, int]]:
    present = {example.example_id for example in current}
    missing = [example_id for example_id in remove if example_id not in present]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise NotFound(f"not in the current version, cannot remove: {shown}")
    dropped = set(remove)
    members = [example for example in current if example.example_id not in dropped]
    by_input = {example.input_key: i for i, example in enumerate(members)}
    duplicates: list[str] = []
    added = replaced = skipped = 0
    for example in add:
        key = example.input_key
        if key not in by_input:
            by_input[key] = len(members)
            members.append(example)
            added += 1
        elif on_duplicate == "skip" or (
            on_duplicate == "replace" and members[by_input[key]].example_id == example.example_id
        ):
            skipped += 1
        elif on_duplicate == "replace":
            members[by_input[key]] = example
            replaced += 1
        else:
            duplicates.append(f"{members[by_input[key]].example_id} (input {key[:60]})")
    if duplicates and on_duplicate == "error":
        shown = "; ".join(duplicates[:5]) + (" ..." if len(duplicates) > 5 else "")
        raise FeedbackError(
            f"{len(duplicates)} duplicate example(s), same input as: {shown}; "
            "nothing was changed (use on_duplicate skip or replace)",
            duplicates=len(duplicates),
        )
    return members, (added, len(dropped), replaced, skipped)


def list_datasets(store: Store) -> list[DatasetVersion]:
    """Every dataset, at its latest version."""
    return [_version(row) for row in store.query(LIST_SQL).records()]


def dataset_versions(store: Store, name: Any) -> list[DatasetVersion]:
    """Every version of a dataset, oldest first; NotFound when there is none."""
    dataset = check_name(name, "dataset")
    rows = store.query(VERSIONS_SQL, [dataset]).records()
    if not rows:
        raise NotFound(f"no dataset {dataset}")
    return [_version(row) for row in rows]


def read_version(
    store: Store, name: Any, version: int | None = None
) -> tuple[DatasetVersion, list[Example]]:
    """A version's header and its examples in order (default: the latest version)."""
    dataset = check_name(name, "dataset")
    versions = {v.version: v for v in dataset_versions(store, dataset)}
    wanted = max(versions) if version is None else version
    if wanted not in versions:
        raise NotFound(f"dataset {dataset} has no version {version} (latest: {max(versions)})")
    rows = store.query(MEMBERS_SQL, [dataset, wanted], max_rows=10_000_000).records()
    return versions[wanted], [Example.from_row(row) for row in rows]


def diff_versions(store: Store, name: Any, old: int, new: int) -> dict[str, Any]:
    """What changed from version ``old`` to ``new``: examples added and removed, and
    ``changed`` pairs (same input, different expected output or metadata)."""
    _, before = read_version(store, name, old)
    _, after = read_version(store, name, new)
    before_ids = {e.example_id for e in before}
    after_ids = {e.example_id for e in after}
    gone = {e.input_key: e for e in before if e.example_id not in after_ids}
    came = [e for e in after if e.example_id not in before_ids]
    changed = [(gone.pop(e.input_key), e) for e in came if e.input_key in gone]
    changed_new = {pair[1].example_id for pair in changed}
    return {
        "dataset": check_name(name, "dataset"),
        "from_version": old,
        "to_version": new,
        "added": [e.to_dict() for e in came if e.example_id not in changed_new],
        "removed": [e.to_dict() for e in gone.values()],
        "changed": [{"before": a.to_dict(), "after": b.to_dict()} for a, b in changed],
        "unchanged": len(before_ids & after_ids),
    }


def _latest(cur: duckdb.DuckDBPyConnection, dataset: str) -> int:
    rows = cur.execute(LATEST_SQL, [dataset]).fetchall()
    return int(rows[0][0] or 0)


def _version_row(cur: duckdb.DuckDBPyConnection, dataset: str, version: int) -> dict[str, Any]:
    result = cur.execute(
        "SELECT * FROM dataset_versions WHERE dataset = ? AND version = ?", [dataset, version]
    )
    columns = [d[0] for d in result.description or []]
    return dict(zip(columns, result.fetchall()[0], strict=True))


def _members(cur: duckdb.DuckDBPyConnection, dataset: str, version: int) -> list[Example]:
    result = cur.execute(MEMBERS_SQL, [dataset, version])
    columns = [d[0] for d in result.description or []]
    return [Example.from_row(dict(zip(columns, row, strict=True))) for row in result.fetchall()]


def _version(row: dict[str, Any]) -> DatasetVersion:
    return DatasetVersion(
        dataset=row["dataset"],
        version=int(row["version"]),
        description=row["description"],
        message=row["message"],
        author=row["author"],
        created_at=row["created_at"],
        example_count=int(row["example_count"]),
    )
