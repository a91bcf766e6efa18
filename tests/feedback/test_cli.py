"""``loopwise review | dataset | prompt | calibrate`` against a DuckDB file (--db) and through a
running collector (--endpoint): the loop without the dashboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from loopwise.cli import app
from loopwise.collector.server import CollectorServer
from loopwise.collector.store import ScoreRow, Store, append_scores

runner = CliRunner()
ENV = {"COLUMNS": "200", "LOOPWISE_ACTOR": "ana"}


def run(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args), env=ENV)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def as_json(*args: str) -> Any:
    return json.loads(run(*args, "--format", "json").stdout)


def test_review_loop_on_a_file(db_path: Path, spans: Any) -> None:
    db = ("--db", str(db_path))
    item = as_json("review", "pick", spans.trace1, spans.answer1, "--reason", "odd", *db)
    assert (item["state"], item["created_by"]) == ("open", "ana")
    listed = as_json("review", "list", *db)
    assert [i["item_id"] for i in listed] == [item["item_id"]]
    run("review", "assign", item["item_id"], "bo", "--expect", "1", *db)
    stale = run("review", "approve", item["item_id"], "--expect", "1", *db, code=3)
    assert "conflict" in stale.stderr and "version 2, not 1" in stale.stderr
    done = as_json(
        "review",
        "correct",
        item["item_id"],
        "--output",
        "ORD-10001 ships.",
        "--reason",
        "only real order ids",
        "--verdict",
        "judge=fail",
        "--expect",
        "2",
        "--actor",
        "bo",
        *db,
    )
    assert (done["state"], done["version"]) == ("corrected", 3)
    shown = run("review", "show", item["item_id"], *db)
    assert "ORD-10001 ships." in shown.stdout and "correct" in shown.stdout
    corrections = as_json("review", "corrections", *db)
    assert corrections[0]["verdicts"] == {"judge": "fail"}
    missing = run("review", "pick", spans.unknown_trace, *db, code=1)
    assert "no trace" in missing.stderr
    usage = run("review", "correct", item["item_id"], *db, code=2)
    assert "--output" in usage.stderr


def test_datasets_through_the_collector(
    collector: CollectorServer, tmp_path: Path, spans: Any
) -> None:
    at = ("--endpoint", collector.url)
    made = as_json("dataset", "create", "answers", "--where", "name = 'answer'", *at)
    assert (made["version"], made["example_count"]) == (1, 2)
    item = as_json("review", "pick", spans.trace1, spans.answer1, *at)
    unversioned = run("review", "correct", item["item_id"], "--output", "fixed answer", *at, code=2)
    assert "--expect" in unversioned.stderr
    run("review", "correct", item["item_id"], "--output", "fixed answer", "--expect", "1", *at)
    added = as_json(
        "dataset",
        "add",
        "answers",
        "--from-corrections",
        "--expect",
        "1",
        "--on-duplicate",
        "replace",
        *at,
    )
    assert (added["version"], added["replaced"]) == (2, 1)
    diff = as_json("dataset", "diff", "answers", *at)
    assert [p["after"]["expected"] for p in diff["changed"]] == ["fixed answer"]
    # Export every format and import it back as new datasets: the same examples.
    original = as_json("dataset", "show", "answers", *at)["examples"]
    for suffix in ("jsonl", "csv", "parquet"):
        path = tmp_path / f"answers.{suffix}"
        run("dataset", "export", "answers", str(path), *at)
        run("dataset", "import", f"copy-{suffix}", str(path), *at)
        copy = as_json("dataset", "show", f"copy-{suffix}", *at)["examples"]
        assert copy == original
    # The folder format: save, load into an empty file, same history.
    run("dataset", "save", "answers", "--dir", str(tmp_path / "datasets"), *at)
    folder = tmp_path / "datasets" / "answers"
    assert sorted(p.name for p in folder.iterdir()) == ["examples.jsonl", "manifest.json"]
    other = ("--db", str(tmp_path / "other.duckdb"))
    loaded = run("dataset", "load", str(folder), *other)
    assert "restored version(s) [1, 2]" in loaded.stdout
    versions = as_json("dataset", "versions", "answers", *other)
    assert [v["example_count"] for v in versions] == [2, 2]


def test_import_with_field_mapping_and_malformed_files(db_path: Path, tmp_path: Path) -> None:
    db = ("--db", str(db_path))
    source = tmp_path / "tickets.jsonl"
    source.write_text(
        '{"id": "T1", "subject": "Refund?", "category": "refund"}\n'
        '{"id": "T2", "subject": "Parcel?", "category": "shipping"}\n'
    )
    made = as_json(
        "dataset",
        "import",
        "tickets",
        str(source),
        "--input",
        "subject",
        "--expected",
        "category",
        *db,
    )
    assert made["example_count"] == 2
    examples = as_json("dataset", "show", "tickets", *db)["examples"]
    assert [(e["input"], e["expected"], e["metadata"]) for e in examples] == [
        ("Refund?", "refund", {"id": "T1"}),
        ("Parcel?", "shipping", {"id": "T2"}),
    ]
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"subject": "fine", "category": "x"}\n{"subject": \n')
    result = run("dataset", "import", "tickets", str(broken), "--input", "subject", *db, code=1)
    assert "line 2: not valid JSON" in result.stderr
    again = run(
        "dataset",
        "import",
        "tickets",
        str(source),
        "--input",
        "subject",
        "--expected",
        "category",
        *db,
        code=1,
    )
    assert "duplicate" in again.stderr
    huge = tmp_path / "huge.jsonl"
    huge.write_text('{"input": 1e999}\n')
    refused = run("dataset", "import", "tickets", str(huge), *db, code=1)
    assert "line 1: not valid JSON" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert len(as_json("dataset", "versions", "tickets", *db)) == 1


def test_prompt_registry_and_proposal(db_path: Path, tmp_path: Path, spans: Any) -> None:
    db = ("--db", str(db_path))
    template = tmp_path / "reply.txt"
    template.write_text("Answer the customer politely.\n\nQuestion: {{question}}")
    created = as_json(
        "prompt",
        "create",
        "reply",
        "--file",
        str(template),
        "--label",
        "production",
        "--params",
        '{"temperature": 0.2}',
        *db,
    )
    assert (created["version"], created["labels"]) == (1, ["production"])
    shown = run("prompt", "show", "reply", *db)
    assert "{{question}}" in shown.stdout and "temperature" in shown.stdout
    item = as_json("review", "pick", spans.trace1, spans.answer1, *db)
    run(
        "review",
        "correct",
        item["item_id"],
        "--output",
        "[bold]ORD-10001[/bold] ships.",
        "--reason",
        "Only cite order ids from the ticket.",
        "--expect",
        "1",
        *db,
    )
    proposed = run("prompt", "propose", "reply", *db)
    assert "+Corrected output:" in proposed.stdout
    assert "[bold]ORD-10001[/bold]" in proposed.stdout  # untrusted text, printed verbatim
    [proposal] = as_json("prompt", "proposals", "reply", *db)
    adopted = as_json(
        "prompt", "adopt", "reply", proposal["proposal_id"], "--label", "staging", *db
    )
    assert (adopted["version"], adopted["labels"]) == (2, ["staging"])
    run("prompt", "label", "reply", "production", "2", "--expect", "1", *db)
    moved = run("prompt", "label", "reply", "production", "1", "--expect", "1", *db, code=3)
    assert "points at version 2" in moved.stderr
    assert "+Examples corrected by reviewers" in run("prompt", "diff", "reply", *db).stdout
    versions = as_json("prompt", "versions", "reply", *db)
    assert [v["labels"] for v in versions["versions"]] == [[], ["production", "staging"]]
    assert as_json("prompt", "list", *db)[0]["labels"] == {"production": 2, "staging": 2}
    assert as_json("prompt", "scores", "reply", *db) == []


def test_calibrate(db_path: Path, spans: Any) -> None:
    with Store(db_path) as store:
        append_scores(
            store,
            [
                ScoreRow(
                    project=spans.project,
                    trace_id=spans.trace1,
                    span_id=spans.answer1,
                    name="judge",
                    kind="llm",
                    source="judge",
                    evaluator_version="2",
                    passed=False,
                ),
                ScoreRow(
                    project=spans.project,
                    trace_id=spans.trace1,
                    span_id=spans.answer1,
                    name="judge",
                    kind="human",
                    source="reviewer",
                    passed=False,
                ),
            ],
        )
    db = ("--db", str(db_path))
    answer = as_json("calibrate", *db)
    assert answer["reviewers"] == []  # no output has two reviewers
    [report] = answer["evaluators"]
    assert (report["evaluator"], report["labels"], report["accuracy"]) == ("judge", 1, 1.0)
    table = run("calibrate", *db)
    assert "agreement with human verdicts" in table.stdout
    assert "warning: judge 2: only 1 human label(s)" in table.stdout


def test_endpoint_and_db_together_is_a_usage_error(db_path: Path) -> None:
    result = run("review", "list", "--db", str(db_path), "--endpoint", "http://x", code=2)
    assert "not both" in result.stderr
    away = run("prompt", "list", "--endpoint", "http://127.0.0.1:9", code=1)
    assert "not reachable" in away.stderr


def test_a_dataset_from_corrections_takes_one_projects(db_path: Path, spans: Any) -> None:
    db = ("--db", str(db_path))
    item = as_json("review", "pick", spans.trace1, spans.answer1, *db)
    run("review", "correct", item["item_id"], "--output", "fixed", "--expect", "1", *db)
    other = run(
        "dataset", "create", "elsewhere", "--from-corrections", "--project", "nope", *db, code=1
    )
    assert "no corrections to add" in other.stderr
    mine = as_json("dataset", "create", "mine", "--from-corrections", "--project", "fb-test", *db)
    assert mine["example_count"] == 1
    [example] = as_json("dataset", "show", "mine", *db)["examples"]
    assert example["expected"] == "fixed"


def test_ids_print_whole_and_show_has_the_spans_text(db_path: Path, spans: Any) -> None:
    db = ("--db", str(db_path))
    item = as_json("review", "pick", spans.trace1, spans.answer1, "--reason", "odd", *db)
    narrow = runner.invoke(app, ["review", "list", *db], env={**ENV, "COLUMNS": "60"})
    assert narrow.exit_code == 0, narrow.output
    assert item["item_id"] in narrow.stdout  # whole, on a narrow terminal: copyable
    shown = run("review", "show", item["item_id"], *db)
    detail = as_json("review", "show", item["item_id"], *db)
    assert detail["span"]["span_id"] == spans.answer1
    assert detail["span"]["output"] and detail["span"]["output"] in shown.stdout
    assert f"span {detail['span']['name']}" in shown.stdout


def test_adopting_says_what_moved(db_path: Path, tmp_path: Path, spans: Any) -> None:
    db = ("--db", str(db_path))
    template = tmp_path / "reply.txt"
    template.write_text("Answer politely.\n\nQuestion: {{question}}")
    run("prompt", "create", "reply", "--file", str(template), "--label", "production", *db)
    for n, answer in enumerate((spans.answer1, spans.answer2)):
        item = as_json("review", "pick", spans.trace1 if n == 0 else spans.trace2, answer, *db)
        run("review", "correct", item["item_id"], "--output", f"fixed {n}", "--expect", "1", *db)
        proposal = as_json("prompt", "propose", "reply", *db)
        args = ("--label", "production") if n == 0 else ()
        said = run("prompt", "adopt", "reply", proposal["proposal_id"], *args, *db).stdout
        assert f"adopted proposal {proposal['proposal_id']} as reply version {n + 2}" in said
        if n == 0:
            assert "label production now points at version 2 (from version 1)" in said
        else:
            assert "no label moved: the application still gets what its labels point at" in said
            assert "(production → version 2)" in said


def test_review_rubric_on_a_file_and_through_the_collector(
    db_path: Path, collector: CollectorServer, spans: Any
) -> None:
    db = ("--db", str(db_path))
    unset = run("review", "rubric", "show", spans.project, *db)
    assert "no rubric set for project fb-test" in unset.stdout
    made = as_json(
        "review",
        "rubric",
        "set",
        spans.project,
        "tone,refusal",
        "helpfulness",
        "--expect",
        "0",
        *db,
    )
    assert (made["version"], made["evaluators"], made["set_by"]) == (
        1,
        ["tone", "refusal", "helpfulness"],
        "ana",
    )
    shown = run("review", "--db", str(db_path), "rubric", "show", spans.project)
    assert "version 1, set by ana" in shown.stdout and "  2. refusal" in shown.stdout
    assert "warning: 'tone' has no scores in project 'fb-test'" in shown.stdout
    stale = run("review", "rubric", "set", spans.project, "tone", "--expect", "0", *db, code=3)
    assert "at version 1, not 0" in stale.stderr
    bad = run("review", "rubric", "set", spans.project, "tone", "not a name", *db, code=1)
    assert "evaluator name 'not a name' is not an evaluator's name" in bad.stderr
    assert [r["project"] for r in as_json("review", "rubric", "list", *db)] == ["fb-test"]
    cleared = as_json("review", "rubric", "clear", spans.project, "--reason", "too long", *db)
    assert (cleared["version"], cleared["set"]) == (2, False)
    history = as_json("review", "rubric", "show", spans.project, *db)["history"]
    assert [(v["version"], v["reason"]) for v in history] == [(2, "too long"), (1, None)]
    assert as_json("review", "rubric", "list", *db) == []

    at = ("--endpoint", collector.url)
    remote = as_json("review", "rubric", "set", spans.project, "tone", "--actor", "bo", *at)
    assert (remote["version"], remote["set_by"]) == (1, "bo")
    shown = run("review", "rubric", "show", spans.project, *at)
    assert "  1. tone" in shown.stdout
