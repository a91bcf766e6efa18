"""Versioned datasets in the store: versions, duplicates, conflicts, diffs, and examples made
from spans and corrections."""

from __future__ import annotations

from typing import Any

import pytest

from loopwise.collector.store import Store
from loopwise.feedback import (
    Conflict,
    Example,
    FeedbackError,
    NotFound,
    act,
    change_dataset,
    create_dataset,
    dataset_versions,
    diff_versions,
    examples_from_corrections,
    examples_from_spans,
    examples_from_sql,
    list_datasets,
    parse_example,
    pick_item,
    read_version,
)

A = Example({"question": "a"}, "answer a", {"tag": "x"})
B = Example("question b", "answer b")
C = Example("question c", None)
B2 = Example("question b", "a better answer b")


def rows(store: Store) -> dict[str, int]:
    """Row counts of the dataset tables."""
    tables = ("dataset_examples", "dataset_versions", "dataset_members")
    return {t: int(store.query(f"SELECT count(*) FROM {t}").rows[0][0]) for t in tables}


def ids(examples: list[Example]) -> list[str]:
    return [e.example_id for e in examples]


def test_every_change_is_a_version_and_old_versions_stay_readable(store: Store) -> None:
    created = create_dataset(store, "support", [A, B], actor="ana", description="tickets")
    assert (created.version.version, created.version.example_count, created.added) == (1, 2, 2)
    second = change_dataset(
        store,
        "support",
        actor="bo",
        add=[C],
        remove=[A.example_id],
        expected_version=1,
        message="drop a, add c",
    )
    assert (second.version.version, second.added, second.removed) == (2, 1, 1)
    third = change_dataset(store, "support", actor="bo", add=[B2], on_duplicate="replace")
    assert (third.version.version, third.replaced) == (3, 1)
    assert ids(read_version(store, "support", 1)[1]) == ids([A, B])
    assert ids(read_version(store, "support", 2)[1]) == ids([B, C])
    header, latest = read_version(store, "support")
    assert ids(latest) == ids([B2, C])  # a replaced example keeps its place
    assert (header.version, header.description, header.author) == (3, "tickets", "bo")
    assert [v.message for v in dataset_versions(store, "support")] == [
        "created",
        "drop a, add c",
        None,
    ]
    assert read_version(store, "support", 1)[1][0] == A  # content round-trips exactly
    assert [d.dataset for d in list_datasets(store)] == ["support"]


def test_example_ids_come_from_content() -> None:
    assert Example("q", "a").example_id == Example("q", "a").example_id
    assert Example("q", "a").example_id != Example("q", "b").example_id
    assert parse_example(A.to_dict()) == A
    with pytest.raises(FeedbackError, match="does not match its content"):
        parse_example({**A.to_dict(), "expected": "edited"})


def test_duplicates_are_an_error_that_writes_nothing(store: Store) -> None:
    create_dataset(store, "support", [A, B], actor="ana")
    before = rows(store)
    for add in ([C, Example("question b", "other")], [C, C], [B]):
        with pytest.raises(FeedbackError, match="duplicate"):
            change_dataset(store, "support", actor="bo", add=add)
    assert rows(store) == before
    skipped = change_dataset(store, "support", actor="bo", add=[B, C], on_duplicate="skip")
    assert (skipped.added, skipped.skipped, skipped.version.version) == (1, 1, 2)


def test_a_change_that_changes_nothing_writes_no_version(store: Store) -> None:
    create_dataset(store, "support", [A], actor="ana")
    change = change_dataset(store, "support", actor="bo", add=[A], on_duplicate="skip")
    assert (change.created, change.version.version) == (False, 1)


def test_stale_version_is_a_conflict(store: Store) -> None:
    create_dataset(store, "support", [A], actor="ana")
    change_dataset(store, "support", actor="ana", add=[B], expected_version=1)
    before = rows(store)
    with pytest.raises(Conflict) as caught:
        change_dataset(store, "support", actor="bo", add=[C], expected_version=1)
    assert caught.value.details == {"current_version": 2}
    with pytest.raises(Conflict, match="already exists"):
        create_dataset(store, "support", [C], actor="bo")
    assert rows(store) == before


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: change_dataset(s, "missing", actor="a", add=[A]), NotFound),
        (lambda s: change_dataset(s, "support", actor="a", remove=["ex_nope"]), NotFound),
        (lambda s: create_dataset(s, "../etc", [A], actor="a"), FeedbackError),
        (lambda s: create_dataset(s, "ok", [A], actor=""), FeedbackError),
        (
            lambda s: change_dataset(s, "support", actor="a", add=[A], on_duplicate="x"),
            FeedbackError,
        ),
        (lambda s: read_version(s, "support", 7), NotFound),
    ],
)
def test_bad_changes_are_refused(store: Store, call: Any, error: type[Exception]) -> None:
    create_dataset(store, "support", [A], actor="ana")
    before = rows(store)
    with pytest.raises(error):
        call(store)
    assert rows(store) == before


def test_unrepresentable_examples_are_refused(store: Store) -> None:
    with pytest.raises(FeedbackError, match="JSON"):
        create_dataset(store, "nan", [Example({"x": float("nan")})], actor="ana")
    for bad in ([{"expected": "no input"}], [{"input": "x", "metadata": [1]}], ["text"]):
        with pytest.raises(FeedbackError):
            parse_example(bad[0])


def test_diff_shows_added_removed_and_changed(store: Store) -> None:
    create_dataset(store, "support", [A, B], actor="ana")
    change_dataset(store, "support", actor="bo", add=[C], remove=[A.example_id])
    change_dataset(store, "support", actor="bo", add=[B2], on_duplicate="replace")
    diff = diff_versions(store, "support", 1, 3)
    assert [e["example_id"] for e in diff["added"]] == [C.example_id]
    assert [e["example_id"] for e in diff["removed"]] == [A.example_id]
    assert [(p["before"]["expected"], p["after"]["expected"]) for p in diff["changed"]] == [
        ("answer b", "a better answer b")
    ]
    assert diff["unchanged"] == 0


def test_examples_from_spans_use_prompt_variables(store: Store, spans: Any) -> None:
    examples = examples_from_spans(store, "name = 'answer'")
    assert [e.input for e in examples] == [
        {"question": spans.question1},
        {"question": spans.question2},
    ]
    assert [e.expected for e in examples] == [spans.output1, spans.output2]
    first = examples[0]
    assert (first.source_trace_id, first.source_span_id) == (spans.trace1, spans.answer1)
    assert first.metadata["prompt_name"] == "reply"
    assert first.metadata["prompt_version"] == 1
    assert first.metadata["span_metadata"] == {"ticket": "t-Where"}
    roots = examples_from_spans(store, "name = 'triage'")
    assert [e.input for e in roots] == [spans.question1, spans.question2]


def test_span_queries_are_read_only_and_checked(store: Store) -> None:
    with pytest.raises(NotFound):
        examples_from_spans(store, "name = 'nothing'")
    for where in ("1=1; DELETE FROM spans", "nonexistent_column = 1", ""):
        with pytest.raises(FeedbackError):
            examples_from_spans(store, where)
    with pytest.raises(FeedbackError, match="SELECT"):
        examples_from_sql(store, "DELETE FROM spans")
    with pytest.raises(FeedbackError, match="input column"):
        examples_from_sql(store, "SELECT name FROM spans")
    assert int(store.query("SELECT count(*) FROM spans").rows[0][0]) == 4


def test_examples_from_sql_map_columns(store: Store, spans: Any) -> None:
    examples = examples_from_sql(
        store,
        "SELECT input, output AS expected, trace_id, span_id, name FROM spans "
        "WHERE kind = 'chain' ORDER BY trace_id",
    )
    assert [(e.input, e.expected, e.metadata) for e in examples] == [
        (spans.question1, spans.output1, {"name": "triage"}),
        (spans.question2, spans.output2, {"name": "triage"}),
    ]
    assert examples[0].source_span_id == spans.root1


def test_examples_from_corrections(store: Store, spans: Any) -> None:
    item = pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="ana")
    act(store, item.item_id, "correct", actor="bo", corrected_output="first try")
    act(store, item.item_id, "reopen", actor="bo")
    act(
        store,
        item.item_id,
        "correct",
        actor="bo",
        corrected_output="ORD-10001 ships.",
        comment="only cite order ids from the ticket",
    )
    [example] = examples_from_corrections(store, prompt="reply")  # the newest per span
    assert example.input == {"question": spans.question1}
    assert example.expected == "ORD-10001 ships."
    assert example.metadata["reason"] == "only cite order ids from the ticket"
    assert example.metadata["original_output"] == spans.output1
    assert (example.source_trace_id, example.source_span_id) == (spans.trace1, spans.answer1)
    create_dataset(store, "fixes", [example], actor="bo")
    with pytest.raises(NotFound):
        examples_from_corrections(store, correction_ids=["cor_missing"])
    with pytest.raises(NotFound):
        examples_from_corrections(store, prompt="other")


def test_example_inputs_have_one_shape_whatever_the_span_wrote(tmp_path: Any) -> None:
    import loopwise

    db = tmp_path / "shapes.duckdb"
    client = loopwise.Client()
    client.init("shapes", db=db, batch=False, set_global=False)

    @client.observe(name="route")
    def route(ticket: dict[str, Any], channel: str) -> str:
        return "refunds"

    @client.observe(name="route")
    def route_text(question: str) -> str:
        return "shipping"

    route({"subject": "refund?"}, "email")  # stored as JSON text of the arguments
    route_text("where is my parcel?")  # stored as the text itself
    route_text('[not json "at all')
    client.shutdown()
    with Store(db) as store:
        examples = examples_from_spans(store, "name = 'route'")
        from_sql = examples_from_sql(store, "SELECT input FROM spans WHERE name = 'route'")
    inputs = [e.input for e in examples]
    assert inputs == [
        {"ticket": {"subject": "refund?"}, "channel": "email"},
        "where is my parcel?",
        '[not json "at all',
    ]
    assert [e.input for e in from_sql] == inputs
