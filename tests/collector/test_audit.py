"""The audit log: entries recorded in the action's transaction (or their own), read back
newest first with filters, refused when malformed (writing nothing), and readable from a
file made before the log existed. The API and the wired actions are tested in
tests/feedback/test_audit_actions.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from loopwise.collector.store import (
    MIGRATIONS,
    AuditError,
    Store,
    audit_entries,
    migrate,
    record_audit,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "audit.duckdb") as opened:
        yield opened


def count(store: Store) -> int:
    return int(store.query("SELECT count(*) FROM audit_log").rows[0][0])


def test_entries_are_read_back_newest_first_with_filters(store: Store) -> None:
    before = dt.datetime.now(dt.UTC)
    record_audit(
        store,
        actor="ana",
        action="prompt.label.move",
        target="prompt:reply",
        details={"label": "production", "from_version": 1, "to_version": 2},
    )
    record_audit(
        store,
        actor="bo",
        action="key.create",
        target="key:k1",
        project="shop",
        details={"role": "ingest"},
    )
    record_audit(store, actor="ana", action="prompt.proposal.adopt", target="prompt:reply")
    after = dt.datetime.now(dt.UTC)
    entries = audit_entries(store)
    assert [e.action for e in entries] == [
        "prompt.proposal.adopt",
        "key.create",
        "prompt.label.move",
    ]
    assert entries[0].seq > entries[1].seq > entries[2].seq
    assert entries[2].details == {"label": "production", "from_version": 1, "to_version": 2}
    assert entries[0].details == {} and entries[1].project == "shop"
    assert before.replace(tzinfo=None) <= entries[2].created_at <= after.replace(tzinfo=None)
    assert [e.actor for e in audit_entries(store, action="prompt")] == ["ana", "ana"]
    assert [e.action for e in audit_entries(store, action="prompt.label.move")] == [
        "prompt.label.move"
    ]
    assert audit_entries(store, action="prompt.label") != []
    assert audit_entries(store, action="prom") == []  # a prefix is a whole dotted part
    assert [e.target for e in audit_entries(store, actor="bo")] == ["key:k1"]
    assert [e.actor for e in audit_entries(store, project="shop")] == ["bo"]
    assert len(audit_entries(store, target="prompt:reply")) == 2
    assert audit_entries(store, since=after) == []
    assert len(audit_entries(store, until=after)) == 3
    assert len(audit_entries(store, limit=1)) == 1
    as_dict = entries[1].to_dict()
    assert as_dict["created_at"].endswith("Z") and as_dict["details"] == {"role": "ingest"}


def test_malformed_entries_are_refused_and_write_nothing(store: Store) -> None:
    good: dict[str, Any] = {"actor": "ana", "action": "key.revoke", "target": "key:k1"}
    bad = [
        ({"actor": ""}, "actor"),
        ({"actor": "x" * 201}, "actor"),
        ({"action": "Key Revoke"}, "action"),
        ({"action": "key..revoke"}, "action"),
        ({"target": "  "}, "target"),
        ({"details": ["not", "a", "mapping"]}, "details"),
        ({"details": {"blob": "x" * 70_000}}, "details"),
        ({"project": 3}, "project"),
    ]
    for change, field in bad:
        with pytest.raises(AuditError, match=field):
            record_audit(store, **{**good, **change})
    with pytest.raises(AuditError, match="limit"):
        audit_entries(store, limit=0)
    assert count(store) == 0


def test_an_entry_commits_or_rolls_back_with_its_action(store: Store) -> None:
    store.query("SELECT 1")  # migrated
    with store.transaction() as cur:
        cur.execute("CREATE TABLE things (name VARCHAR)")
    with pytest.raises(RuntimeError, match="the action failed"), store.transaction() as cur:
        cur.execute("INSERT INTO things VALUES ('a')")
        record_audit(cur, actor="ana", action="thing.create", target="thing:a")
        raise RuntimeError("the action failed")
    assert count(store) == 0
    with pytest.raises(AuditError), store.transaction() as cur:
        cur.execute("INSERT INTO things VALUES ('b')")
        record_audit(cur, actor="ana", action="not valid", target="thing:b")
    assert store.query("SELECT count(*) FROM things").rows[0][0] == 0  # the action rolled back
    with store.transaction() as cur:
        cur.execute("INSERT INTO things VALUES ('c')")
        record_audit(cur, actor="ana", action="thing.create", target="thing:c")
    assert [e.target for e in audit_entries(store)] == ["thing:c"]


def test_a_file_from_before_the_audit_log_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, [m for m in MIGRATIONS if m[0] != "0060_create_audit_log"])
    con.close()
    with Store(path, read_only=True) as old:
        assert audit_entries(old) == []
    with Store(path) as migrated:  # opening read-write applies the migration
        record_audit(migrated, actor="ana", action="key.create", target="key:k1")
        assert len(audit_entries(migrated)) == 1
