"""Property-based fuzzing of the dataset importers: ``read_examples_file`` on arbitrary JSONL,
CSV and Parquet bytes either returns examples that can be stored or raises FeedbackError, and
never any other exception; a file it accepts imports into a real DuckDB store without error.

The quick versions run in the default tier; the ``slow`` ones try thousands of files. Both are
derandomized, so a run is the same on every machine.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopwise.collector.store import Store
from loopwise.feedback import FeedbackError, FieldMapping, create_dataset, read_examples_file

QUICK = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SLOW = settings(QUICK, max_examples=1000)

_files = itertools.count()

# JSON values of every type, deep nesting, lone surrogates, huge and odd numbers.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "", " ", "\u2028", "ï¿½"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "input",
        "expected",
        "output",
        "metadata",
        "example_id",
        "source_trace_id",
        "source_span_id",
        "question",
        "a.b",
        "",
    ]
) | st.text(max_size=6)
records = st.one_of(
    st.dictionaries(field_names, json_values, max_size=6),
    st.fixed_dictionaries(
        {"input": json_values},
        optional={"expected": json_values, "metadata": json_values, "source_trace_id": json_values},
    ),
    json_values,
)


def _jsonl_line(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True, allow_nan=True)  # lone surrogates as \ud800
    return text


jsonl_bytes = st.one_of(
    st.lists(records, max_size=5).map(lambda rs: "\n".join(map(_jsonl_line, rs)).encode()),
    st.binary(max_size=200),
    st.lists(
        st.sampled_from(
            [
                '{"input": 1e999}',
                '{"input": NaN}',
                "[" * 5000 + "]" * 5000,
                '{"input": "x"',
                '{"input": "\\ud800"}',
                "\ufeff{}",
                "{}",
                "",
            ]
        ),
        max_size=4,
    ).map(lambda ls: "\n".join(ls).encode()),
)


def _csv_text(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8", "surrogatepass")


cells = st.one_of(
    st.text(max_size=20),
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    st.sampled_from(['"unclosed', "1e999", "NaN", '{"a":', "", "\r\n"]),
)
csv_bytes = st.one_of(
    st.builds(
        _csv_text,
        st.lists(field_names, min_size=1, max_size=5),
        st.lists(st.lists(cells, max_size=6), max_size=4),
    ),
    st.binary(max_size=200),
    st.text(alphabet='ab,"\n\r\\x', max_size=60).map(lambda t: t.encode()),
)

arrow_columns = st.sampled_from(
    [
        pa.array(["x", None, ""], pa.string()),
        pa.array([b"\xff\xfe", b"", None], pa.binary()),
        pa.array([1, None, 2**62], pa.int64()),
        pa.array([float("nan"), float("inf"), 1.5], pa.float64()),
        pa.array([0, 1, 2], pa.timestamp("us")),
        pa.array([[1, 2], None, []], pa.list_(pa.int64())),
        pa.array([{"a": 1}, None, {"a": None}], pa.struct([("a", pa.int64())])),
        pa.array(['{"a": 1}', "not json", "1e999"], pa.string()),
        pa.array([True, False, None], pa.bool_()),
    ]
)
parquet_tables = st.dictionaries(field_names, arrow_columns, min_size=1, max_size=4)


def _parquet_bytes(columns: dict[str, pa.Array]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


parquet_bytes = st.one_of(
    parquet_tables.map(_parquet_bytes),
    st.tuples(parquet_tables.map(_parquet_bytes), st.integers(0, 400), st.binary(max_size=8)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + len(t[2]) :]
    ),
    st.binary(max_size=200),
)

mappings = st.one_of(
    st.just(None),
    st.builds(
        FieldMapping,
        input=st.lists(field_names, max_size=2),
        expected=st.lists(field_names, max_size=2),
        metadata=st.none() | st.lists(field_names, max_size=2),
        trace_id=st.none() | field_names,
    ),
)


def import_never_crashes(
    folder: Path, store: Store, body: bytes, suffix: str, mapping: Any
) -> None:
    """The property: FeedbackError or storable examples, nothing else."""
    path = folder / f"f{next(_files)}.{suffix}"
    path.write_bytes(body)
    try:
        examples = read_examples_file(path, mapping=mapping)
    except FeedbackError as exc:
        assert str(exc)
        return
    assert examples
    # What the importer accepted must also store: it is the only gate.
    change = create_dataset(store, f"fz{next(_files)}", examples, actor="fuzz", on_duplicate="skip")
    assert change.to_dict()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    with Store(tmp_path_factory.mktemp("fuzz") / "d.duckdb") as opened:
        yield opened


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("files")


@QUICK
@given(body=jsonl_bytes, mapping=mappings)
def test_jsonl_import_raises_only_feedback_error(folder, store, body, mapping) -> None:
    import_never_crashes(folder, store, body, "jsonl", mapping)


@QUICK
@given(body=csv_bytes, mapping=mappings)
def test_csv_import_raises_only_feedback_error(folder, store, body, mapping) -> None:
    import_never_crashes(folder, store, body, "csv", mapping)


@QUICK
@given(body=parquet_bytes, mapping=mappings)
def test_parquet_import_raises_only_feedback_error(folder, store, body, mapping) -> None:
    import_never_crashes(folder, store, body, "parquet", mapping)


@pytest.mark.slow
@pytest.mark.timeout(1500)
@SLOW
@given(body=jsonl_bytes, mapping=mappings)
def test_jsonl_import_fuzzed_long(folder, store, body, mapping) -> None:
    import_never_crashes(folder, store, body, "jsonl", mapping)


@pytest.mark.slow
@pytest.mark.timeout(1500)
@SLOW
@given(body=csv_bytes, mapping=mappings)
def test_csv_import_fuzzed_long(folder, store, body, mapping) -> None:
    import_never_crashes(folder, store, body, "csv", mapping)


@pytest.mark.slow
@pytest.mark.timeout(1500)
@SLOW
@given(body=parquet_bytes, mapping=mappings)
def test_parquet_import_fuzzed_long(folder, store, body, mapping) -> None:
    import_never_crashes(folder, store, body, "parquet", mapping)
