"""Datasets as files: the ``datasets/<name>/`` folder round trip, flat JSONL/CSV/Parquet
export and import, field mapping, and malformed files that store nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loopwise.collector.store import Store
from loopwise.datasets import dataset_path
from loopwise.feedback import (
    Conflict,
    Example,
    FeedbackError,
    FieldMapping,
    change_dataset,
    create_dataset,
    dataset_snapshot,
    list_datasets,
    read_dataset_dir,
    read_examples_file,
    read_version,
    restore_snapshot,
    save_dataset_dir,
    write_examples_file,
)

EXAMPLES = [
    Example({"subject": "Refund", "body": "Where is my money?"}, "refund", {"id": "T1"}),
    Example(
        "plain text input, with a comma",
        {"category": "shipping"},
        {},
        "0" * 31 + "1",
        "0" * 15 + "2",
    ),
    Example('ünïcode ✓ and "quotes"\nnew line', None),
]


def history(store: Store) -> None:
    create_dataset(store, "support", EXAMPLES[:2], actor="ana", description="triage set")
    change_dataset(
        store,
        "support",
        actor="bo",
        add=[EXAMPLES[2]],
        remove=[EXAMPLES[0].example_id],
        message="swap",
    )


def test_folder_is_plain_json_and_round_trips(store: Store, tmp_path: Path) -> None:
    history(store)
    folder = save_dataset_dir(dataset_snapshot(store, "support"), tmp_path / "datasets")
    assert folder == tmp_path / "datasets" / "support"
    # Readable without loopwise: version 2 is the examples its manifest lists, in order.
    manifest = json.loads((folder / "manifest.json").read_text())
    lines = [json.loads(line) for line in (folder / "examples.jsonl").read_text().splitlines()]
    by_id = {line["example_id"]: line for line in lines}
    v2 = [by_id[i]["input"] for i in manifest["versions"][1]["example_ids"]]
    assert v2 == [EXAMPLES[1].input, EXAMPLES[2].input]
    assert [v["author"] for v in manifest["versions"]] == ["ana", "bo"]
    # Into an empty database: the same versions, example ids and provenance.
    other = Store(tmp_path / "other.duckdb")
    result = restore_snapshot(other, read_dataset_dir(folder))
    assert result == {"dataset": "support", "restored": [1, 2], "latest_version": 2}
    assert dataset_snapshot(other, "support") == dataset_snapshot(store, "support")
    # Again: nothing to do. A diverged copy is refused and changes nothing.
    assert restore_snapshot(other, read_dataset_dir(folder))["restored"] == []
    change_dataset(other, "support", actor="cy", add=[Example("new")])
    change_dataset(store, "support", actor="dee", add=[Example("different")])
    with pytest.raises(Conflict, match="diverged"):
        restore_snapshot(other, dataset_snapshot(store, "support"))
    assert len(read_version(other, "support")[1]) == 3
    other.close()


def test_folder_appends_newer_versions(store: Store, tmp_path: Path) -> None:
    create_dataset(store, "support", EXAMPLES[:1], actor="ana")
    folder = save_dataset_dir(dataset_snapshot(store, "support"), tmp_path)
    copy = Store(tmp_path / "copy.duckdb")
    restore_snapshot(copy, read_dataset_dir(folder))
    change_dataset(store, "support", actor="bo", add=EXAMPLES[1:])
    save_dataset_dir(dataset_snapshot(store, "support"), tmp_path)
    assert restore_snapshot(copy, read_dataset_dir(folder))["restored"] == [2]
    copy.close()


@pytest.mark.parametrize(
    "breakage",
    [
        lambda m, e: m.update(format="something/9"),
        lambda m, e: m["versions"][0].update(example_ids=["ex_unknown"]),
        lambda m, e: m["versions"][0].update(version=5),
        lambda m, e: m["versions"][0].update(author=""),
        lambda m, e: m["versions"][0].update(created_at="yesterday"),
        lambda m, e: e[0].update(expected="edited by hand"),
        lambda m, e: m.update(name="../../escape"),
    ],
)
def test_broken_snapshots_store_nothing(store: Store, tmp_path: Path, breakage: object) -> None:
    history(store)
    snapshot = dataset_snapshot(store, "support")
    breakage(snapshot["manifest"], snapshot["examples"])  # type: ignore[operator]
    other = Store(tmp_path / "other.duckdb")
    with pytest.raises(FeedbackError):
        restore_snapshot(other, snapshot)
    assert other.query("SELECT count(*) FROM dataset_versions").rows == [(0,)]
    other.close()


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet"])
def test_flat_files_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"examples.{suffix}"
    write_examples_file(EXAMPLES, path)
    assert read_examples_file(path) == EXAMPLES


def test_import_maps_fields_of_arbitrary_objects() -> None:
    tickets = dataset_path("support_tickets") / "tickets.jsonl"
    mapping = FieldMapping(
        input=["subject", "body"], expected=["expected_category"], metadata=["id", "customer"]
    )
    examples = read_examples_file(tickets, mapping=mapping)
    assert len(examples) == 40
    first = examples[0]
    assert set(first.input) == {"subject", "body"}
    assert first.expected == "refund"
    assert first.metadata == {"id": "T001", "customer": "Maria Lopez"}
    # Without a metadata list, every unmapped field is kept as metadata.
    everything = read_examples_file(tickets, mapping=FieldMapping(input=["body"]))
    assert set(everything[0].metadata) == {
        "id",
        "customer",
        "subject",
        "order_id",
        "expected_category",
        "expected_reply_points",
    }


def test_import_reaches_into_objects_and_reads_csv(tmp_path: Path) -> None:
    nested = tmp_path / "nested.jsonl"
    nested.write_text('{"q": {"text": "hi"}, "a": "hello"}\n\n{"q": {"text": "bye"}, "a": null}\n')
    mapping = FieldMapping(input=["q.text"], expected=["a"], metadata=[])
    assert [(e.input, e.expected) for e in read_examples_file(nested, mapping=mapping)] == [
        ("hi", "hello"),
        ("bye", None),
    ]
    table = tmp_path / "plain.csv"
    table.write_text("question,answer\nWhat?,That.\n")
    [example] = read_examples_file(
        table, mapping=FieldMapping(input=["question"], expected=["answer"])
    )
    assert (example.input, example.expected) == ("What?", "That.")
    parquet = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"prompt": ["x"], "score": [3]}), parquet)
    [typed] = read_examples_file(parquet, mapping=FieldMapping(input=["prompt"]))
    assert typed.metadata == {"score": 3}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"input": "ok"}\n{"input": "broken"\n', "line 2: not valid JSON"),
        ('{"input": "ok"}\n[1, 2]\n', "line 2: expected a JSON object"),
        ('{"input": "ok"}\n{"other": 1}\n', "line 2: no 'input' field"),
        ('{"input": null}\n', "line 1: field 'input' is empty"),
        ("", "holds no records"),
    ],
)
def test_malformed_files_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(FeedbackError, match=message):
        read_examples_file(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"input": "ok"}\n{"input": 1e999}\n', "line 2: not valid JSON .*out of range"),
        ('{"input": -1e400}\n', "line 1: not valid JSON .*out of range"),
        ('{"input": NaN}\n', "line 1: not valid JSON .*NaN"),
        ('{"input": "x", "expected": Infinity}\n', "line 1: not valid JSON .*Infinity"),
    ],
)
def test_numbers_json_cannot_hold_are_refused_with_their_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "numbers.jsonl"
    path.write_text(content)
    with pytest.raises(FeedbackError, match=message):
        read_examples_file(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"input": "ok"}\n' + "[" * 100_000 + "]" * 100_000 + "\n", "line 2: .*nested too deeply"),
        ('{"input": "a\\ud800b"}\n', "line 1: .*lone UTF-16 surrogate"),
        ('{"input": "x", "metadata": {"\\udfff": 1}}\n', "line 1: .*lone UTF-16 surrogate"),
    ],
    ids=["deep-nesting", "lone-surrogate-value", "lone-surrogate-key"],
)
def test_json_no_store_can_hold_is_refused_with_its_line(
    store: Store, tmp_path: Path, content: str, message: str
) -> None:
    # Found by tests/feedback/test_fuzz_dataset_files.py: these raised RecursionError or a
    # UnicodeEncodeError (a traceback) instead of FeedbackError.
    path = tmp_path / "unstorable.jsonl"
    path.write_text(content)
    with pytest.raises(FeedbackError, match=message):
        read_examples_file(path)
    with pytest.raises(FeedbackError, match="lone UTF-16 surrogate"):
        create_dataset(store, "surrogates", [Example("\ud800")], actor="t")
    assert list_datasets(store) == []


def test_non_finite_floats_in_parquet_are_refused_with_their_row(tmp_path: Path) -> None:
    path = tmp_path / "floats.parquet"
    pq.write_table(pa.table({"prompt": ["a", "b"], "score": [1.0, float("inf")]}), path)
    with pytest.raises(FeedbackError, match=r"row 2: .*JSON"):
        read_examples_file(path, mapping=FieldMapping(input=["prompt"]))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('input,expected\n"abc,def\nx,y\n', "row 1: not valid CSV .*unclosed quote"),
        ("input,expected\na,b\nc,d,e\n", "row 2: 3 fields but the header has 2"),
        ("input,expected\na,b\nc\n", "row 2: 1 fields but the header has 2"),
        ('input,expected\na,"b"x\n', "row 1: not valid CSV"),
    ],
    ids=["unclosed-quote", "extra-column", "missing-column", "junk-after-quote"],
)
def test_malformed_csv_is_refused_not_mangled(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(FeedbackError, match=message):
        read_examples_file(path)


def test_unknown_suffix_and_missing_field(tmp_path: Path) -> None:
    with pytest.raises(FeedbackError, match="cannot tell the format"):
        read_examples_file(tmp_path / "x.txt")
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n')
    with pytest.raises(FeedbackError, match="no field 'b'"):
        read_examples_file(path, mapping=FieldMapping(input=["b"]))


def test_a_parquet_binary_column_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "binary.parquet"
    pq.write_table(pa.table({"input": pa.array([b"\xff\xfe"], pa.binary())}), path)
    with pytest.raises(FeedbackError, match="binary data"):
        read_examples_file(path)
