"""Reading suite examples from JSONL files and dataset folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loopwise.datasets import dataset_path
from loopwise.evals.suites import DatasetNotFound, load_dataset_path, read_jsonl


def test_field_mapping_with_the_whole_record_as_input() -> None:
    tickets = dataset_path("support_tickets") / "tickets.jsonl"
    examples = read_jsonl(
        tickets, {"input": "*", "expected": "expected_category", "example_id": "id"}
    )
    assert len(examples) == 40
    first = examples[0]
    assert first.example_id == first.input["id"]
    assert first.expected == first.input["expected_category"]


def test_dataset_folder_versions(tmp_path: Path) -> None:
    folder = tmp_path / "qa"
    folder.mkdir()
    rows = [{"example_id": f"e{i}", "input": f"q{i}", "expected": f"a{i}"} for i in range(3)]
    (folder / "examples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = {
        "name": "qa",
        "versions": [
            {"version": 1, "example_ids": ["e0", "e1"]},
            {"version": 2, "example_ids": ["e2", "e0"]},
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    newest = load_dataset_path(str(folder))
    assert newest.label == "qa@2" and [e.example_id for e in newest.examples] == ["e2", "e0"]
    first = load_dataset_path(f"{folder}@1")
    assert [e.input for e in first.examples] == ["q0", "q1"]
    with pytest.raises(DatasetNotFound, match="no version 9"):
        load_dataset_path(f"{folder}@9")


def test_bad_lines_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"input": "ok"}\n[1, 2]\n')
    with pytest.raises(DatasetNotFound, match=r"bad.jsonl:2: expected a JSON object"):
        read_jsonl(path)
    path.write_text('{"question": "no input field"}\n')
    with pytest.raises(DatasetNotFound, match="no 'input' field"):
        read_jsonl(path)
