"""One example-id scheme: a JSONL file without ids gets the same ids through ``dataset
import`` as through the eval-suite loader."""

from __future__ import annotations

import json
from pathlib import Path

from loopwise.evals.suites import read_jsonl
from loopwise.feedback import read_examples_file


def test_a_file_gets_the_same_ids_through_either_loader(tmp_path: Path) -> None:
    path = tmp_path / "tickets.jsonl"
    records = [
        {"input": {"subject": "Refund?"}, "expected": "refund", "metadata": {"tier": "vip"}},
        {"input": "Where is my parcel?", "expected": "shipping"},
        {"input": "Where is my parcel?", "expected": "shipping", "source_trace_id": "ab" * 16},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    imported = [e.example_id for e in read_examples_file(path)]
    suite = [e.example_id for e in read_jsonl(path)]
    assert imported == suite
    assert len(set(suite)) == 3  # the trace it came from is part of an example
