"""Deleting by end user, project and age on a store holding every kind of row (see
governance_data.py): what goes, what stays, and that ``traces`` still agrees with ``spans``."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from loopwise.collector.store import Store, audit_entries, rebuild_traces
from loopwise.collector.store.retention import (
    RetentionError,
    Selection,
    delete_data,
    parse_age,
    user_id_digest,
)
from loopwise.feedback import LocalBackend, sync_review_items

from .governance_data import ALICE_MARK, Seeded, all_rows, seed_governance


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seeded]:
    path = tmp_path_factory.mktemp("governance") / "template.duckdb"
    return path, seed_governance(path)


@pytest.fixture
def seeded(template: tuple[Path, Seeded]) -> Seeded:
    return template[1]


@pytest.fixture
def store(tmp_path: Path, template: tuple[Path, Seeded]) -> Any:
    path = tmp_path / "store.duckdb"
    shutil.copyfile(template[0], path)
    with Store(path) as opened:
        yield opened


def column(store: Store, sql: str) -> set[Any]:
    return {row[0] for row in store.query(sql, max_rows=100_000).rows}


def assert_traces_agree_with_spans(store: Store) -> None:
    before = all_rows(store)["traces"]
    with store.transaction() as cur:
        rebuild_traces(cur)
    assert all_rows(store)["traces"] == before


def text_anywhere(store: Store, needle: str) -> list[str]:
    """Tables whose rows mention ``needle`` in any column."""
    return [table for table, rows in all_rows(store).items() if needle in repr(rows)]


def test_a_privacy_deletion_leaves_nothing_about_the_user(store: Store, seeded: Seeded) -> None:
    # The seed really spread alice's text everywhere it can go.
    assert text_anywhere(store, ALICE_MARK) == [
        "corrections",
        "dataset_examples",
        "eval_runs",
        "flag_clusters",
        "flags",
        "judge_cache",
        "prompt_proposals",
        "review_events",
        "review_items",
        "scores",
        "spans",
        "traces",
    ]
    report = delete_data(store, Selection(user_id="alice"))

    assert text_anywhere(store, ALICE_MARK) == []
    assert column(store, "SELECT DISTINCT trace_id FROM spans") == {
        seeded.traces["B"],
        seeded.traces["D"],
    }
    assert column(store, "SELECT trace_id FROM traces") == {seeded.traces["B"], seeded.traces["D"]}
    assert_traces_agree_with_spans(store)
    # alice's feedback on bob's trace went; bob's own thumbs-down and everything else of
    # bob and carol stayed.
    assert column(store, "SELECT author FROM scores WHERE source = 'end_user'") == {"bob", "dave"}
    assert column(store, "SELECT flag_id FROM flags") == {"flag-B", "flag-D"}
    # Clustering runs that grouped alice's flag went whole; the others are untouched.
    assert column(store, "SELECT clustering_id FROM flag_clusterings") == {"run-2", "run-3"}
    assert column(store, "SELECT count(*) FROM flag_clusters") == {3}
    # Review items: A's flag item, its events and its correction; C's manual pick.
    items = store.query("SELECT source, source_id, trace_id FROM review_items").records()
    assert {i["trace_id"] for i in items} == {seeded.traces["B"], seeded.traces["D"]}
    assert column(store, "SELECT count(*) FROM review_events") == {3}
    assert column(store, "SELECT count(*) FROM corrections") == {0}
    assert column(store, "SELECT count(*) FROM prompt_proposals") == {0}
    # Dataset examples from alice's spans left every version; counts follow.
    versions = store.query(
        "SELECT version, example_count FROM dataset_versions ORDER BY version"
    ).rows
    members = store.query(
        "SELECT version, count(*) FROM dataset_members GROUP BY version ORDER BY version"
    ).rows
    assert versions == members == [(1, 2), (2, 2)]
    assert column(
        store,
        "SELECT count(*) FROM dataset_members WHERE example_id NOT IN "
        "(SELECT example_id FROM dataset_examples)",
    ) == {0}
    run = json.loads(store.query("SELECT report FROM eval_runs").rows[0][0])
    assert sum(1 for e in run["examples"] if e.get("deleted")) == 3
    assert column(store, "SELECT count(*) FROM judge_cache") == {0}

    assert report.deleted == {
        "spans": 4,
        "traces": 2,
        "scores": 4,  # A and C evaluator scores, alice's feedback, the verdict on A
        "flags": 1,
        "flag_clusterings": 1,
        "flag_clusters": 2,
        "review_items": 2,
        "review_events": 3,
        "corrections": 1,
        "prompt_proposals": 1,
        "prompt_proposal_decisions": 0,
        "dataset_examples": 3,
        "dataset_members": 4,
        "judge_cache": 2,
    }
    assert report.updated == {
        "eval_watermarks": 1,
        "traces": 0,
        "dataset_versions": 2,
        "eval_runs": 1,
    }


def test_the_same_spans_sent_again_are_stored_again(store: Store, seeded: Seeded) -> None:
    spans = store.query("SELECT * FROM spans WHERE trace_id = ?", [seeded.traces["A"]]).records()
    delete_data(store, Selection(user_id="alice"))
    table = pa.Table.from_pylist(spans, schema=_span_schema())
    assert store.append_spans(table) == 2
    assert store.append_spans(table) == 0  # idempotent by key, as before
    assert seeded.traces["A"] in column(store, "SELECT trace_id FROM traces")
    assert_traces_agree_with_spans(store)


def _span_schema() -> pa.Schema:
    from loopwise.collector.store import SPAN_ARROW_SCHEMA

    return SPAN_ARROW_SCHEMA


def test_a_dry_run_counts_exactly_and_changes_nothing(store: Store) -> None:
    before = all_rows(store)
    dry = delete_data(store, Selection(user_id="alice"), dry_run=True)
    assert all_rows(store) == before
    real = delete_data(store, Selection(user_id="alice"))
    assert dry.dry_run and not real.dry_run
    assert (dry.deleted, dry.updated) == (real.deleted, real.updated)
    assert real.total_deleted > 0


def test_deleting_a_project_takes_its_rows_and_nothing_else(store: Store, seeded: Seeded) -> None:
    report = delete_data(store, Selection(project="other"))
    assert column(store, "SELECT DISTINCT project FROM spans") == {"shop"}
    assert column(store, "SELECT DISTINCT project FROM traces") == {"shop"}
    assert_traces_agree_with_spans(store)
    assert column(store, "SELECT flag_id FROM flags") == {"flag-A", "flag-B"}
    assert column(store, "SELECT clustering_id FROM flag_clusterings") == {"run-1"}
    assert column(store, "SELECT DISTINCT project FROM review_items") == {"shop"}
    assert column(store, "SELECT count(*) FROM corrections") == {1}
    assert column(store, "SELECT count(*) FROM prompt_proposals") == {1}
    assert report.deleted["spans"] == 2
    assert report.deleted["dataset_examples"] == 1  # D's answer
    assert report.deleted["scores"] == 1
    # shop's rows, including the orphan feedback of shop, are all there.
    assert seeded.orphan_score_id in column(store, "SELECT score_id FROM scores")


def test_age_deletion_keeps_recent_traces_and_curated_datasets(
    store: Store, seeded: Seeded
) -> None:
    examples = all_rows(store)["dataset_examples"]
    report = delete_data(store, Selection(older_than=parse_age("30d")))
    assert column(store, "SELECT DISTINCT trace_id FROM spans") == {seeded.traces["C"]}
    assert column(store, "SELECT trace_id FROM traces") == {seeded.traces["C"]}
    assert_traces_agree_with_spans(store)
    # Feedback whose trace never arrived goes by its own age.
    assert seeded.orphan_score_id not in column(store, "SELECT score_id FROM scores")
    assert column(store, "SELECT count(*) FROM flags") == {0}
    assert column(store, "SELECT count(*) FROM flag_clusterings") == {0}
    # C's manual pick stays; everything about the old traces went.
    assert column(store, "SELECT trace_id FROM review_items") == {seeded.traces["C"]}
    assert all_rows(store)["dataset_examples"] == examples
    assert column(store, "SELECT cache_key FROM judge_cache") == {"judge-new"}
    assert report.deleted["spans"] == 6
    assert any("dataset examples are kept" in note for note in report.notes)


def test_conditions_combine(store: Store, seeded: Seeded) -> None:
    report = delete_data(store, Selection(older_than=parse_age("30d"), project="shop"))
    assert column(store, "SELECT DISTINCT trace_id FROM spans") == {
        seeded.traces["C"],
        seeded.traces["D"],
    }
    assert report.deleted["traces"] == 2
    nothing = delete_data(store, Selection(user_id="nobody"))
    assert nothing.total_deleted == 0


def test_an_adopted_prompt_version_is_kept_and_named(store: Store, seeded: Seeded) -> None:
    LocalBackend(store).call(
        "POST",
        f"/api/prompts/reply/proposals/{seeded.proposal_id}/adopt",
        body={"actor": "sam"},
    )
    report = delete_data(store, Selection(user_id="alice"))
    assert report.deleted["prompt_proposals"] == 0
    assert report.notes == [
        "prompt reply version 2 was adopted from a proposal quoting deleted "
        "corrections; it is kept (edit it with a new version if its text "
        "must go)"
    ]
    assert column(store, "SELECT max(version) FROM prompt_versions") == {2}


def test_deleted_flags_do_not_come_back_on_the_next_sync(store: Store) -> None:
    delete_data(store, Selection(user_id="alice"))
    assert sync_review_items(store) == {"flag": 0, "end_user": 0}


def test_the_watermark_moves_down_by_the_spans_deleted_below_it(store: Store) -> None:
    mark = column(store, "SELECT last_rowid FROM eval_watermarks")
    delete_data(store, Selection(user_id="alice"))
    assert column(store, "SELECT last_rowid FROM eval_watermarks") == {next(iter(mark)) - 4}


def test_a_failure_midway_deletes_nothing(store: Store) -> None:
    # A suite report that is not JSON cannot have the deleted examples removed from it.
    store.append_rows(
        "eval_runs",
        pa.Table.from_pylist(
            [
                {
                    "run_id": "run-broken",
                    "suite": "answers",
                    "dataset": "answers@1",
                    "passed": False,
                    "started_at": dt.datetime(2026, 1, 2),
                    "finished_at": dt.datetime(2026, 1, 2),
                    "git_commit": None,
                    "report": "{not json",
                }
            ]
        ),
    )
    before = all_rows(store)
    with pytest.raises(RetentionError, match="run-broken"):
        delete_data(store, Selection(user_id="alice"))
    assert all_rows(store) == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "say what to delete"),
        ({"project": ""}, "project must be a non-empty string"),
        ({"user_id": "  "}, "user_id must be a non-empty string"),
        ({"older_than": dt.timedelta(0)}, "positive"),
    ],
)
def test_bad_selections_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(RetentionError, match=message):
        Selection(**kwargs)


@pytest.mark.parametrize("text", ["30", "d", "-3d", "3y", "0d", "1.5d", ""])
def test_bad_ages_are_refused(text: str) -> None:
    with pytest.raises(RetentionError):
        parse_age(text)


def test_ages() -> None:
    assert parse_age("30d") == dt.timedelta(days=30)
    assert parse_age(" 12h ") == dt.timedelta(hours=12)
    assert parse_age("2w") == dt.timedelta(weeks=2)
    assert parse_age("90m") == dt.timedelta(minutes=90)


def test_every_real_deletion_is_audited_without_the_users_id(store: Store) -> None:
    delete_data(store, Selection(user_id="alice"), dry_run=True, actor="dpo")
    assert audit_entries(store, action="data") == []  # a dry run changes nothing, audit included
    report = delete_data(store, Selection(user_id="alice"), actor="dpo")
    [entry] = audit_entries(store, action="data.delete")
    assert (entry.actor, entry.target, entry.project) == (
        "dpo",
        f"user:{user_id_digest('alice')}",
        None,
    )
    assert entry.details["deleted"] == report.deleted
    assert entry.details["selection"] == {"user_id_sha256": user_id_digest("alice")}
    # The log that outlives a privacy deletion does not hold the erased person's id.
    assert "alice" not in json.dumps([e.to_dict() for e in audit_entries(store)], default=str)

    age = delete_data(store, Selection(project="shop", older_than=dt.timedelta(days=30)))
    newest = audit_entries(store, action="data.delete")[0]
    assert newest.target == "age:2592000s+project:shop"
    assert (newest.actor, newest.project) == ("system", "shop")
    assert newest.details["total_deleted"] == age.total_deleted


def test_a_failed_deletion_leaves_no_audit_entry(store: Store) -> None:
    store.append_rows(
        "eval_runs",
        pa.Table.from_pylist(
            [
                {
                    "run_id": "run-broken-2",
                    "suite": "answers",
                    "dataset": "answers@1",
                    "passed": False,
                    "started_at": dt.datetime(2026, 1, 2),
                    "finished_at": dt.datetime(2026, 1, 2),
                    "git_commit": None,
                    "report": "{not json",
                }
            ]
        ),
    )
    with pytest.raises(RetentionError):
        delete_data(store, Selection(user_id="alice"), actor="dpo")
    assert audit_entries(store, action="data") == []


def test_a_review_rubric_is_configuration_and_outlives_its_projects_data(
    store: Store, seeded: Seeded
) -> None:
    report = delete_data(store, Selection(project="shop"))
    assert column(store, "SELECT DISTINCT project FROM spans") == {"other"}
    assert "review_rubrics" not in report.deleted
    rows = store.query("SELECT project, version, evaluators FROM review_rubrics").rows
    assert rows == [("shop", 1, ["tone", "invented_ids"])]  # names evaluators, no one's data
