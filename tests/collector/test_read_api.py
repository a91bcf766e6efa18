"""The collector's JSON read API: trace lists, one trace as a tree, and read-only SQL."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from loopwise.collector.sdk.testing import FIXED_EPOCH_NS as EPOCH_NS
from loopwise.collector.store.store import MAX_RESULT_ROWS

SECOND = 1_000_000_000


@dataclass(frozen=True)
class Seeded:
    """What the module stored: trace ids (hex) per project, newest first."""

    project_a: list[str]
    project_b: list[str]
    tree_trace: str


@pytest.fixture(scope="module")
def seeded(api, otlp) -> Seeded:
    """Three traces in project read-a, two in read-b (one of them a small tree)."""
    a_ids: list[str] = []
    for i in range(3):
        trace_id = otlp.trace_id()
        start = EPOCH_NS + i * SECOND
        spans = [
            otlp.span(
                "root-a", trace_id=trace_id, span_id=(root := otlp.span_id()), start_ns=start
            ),
            otlp.span(
                "llm-a",
                trace_id=trace_id,
                parent_span_id=root,
                start_ns=start + 1000,
                attributes={"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": i},
                status_code=2 if i == 1 else 0,
            ),
        ]
        api.export_ok(otlp.request(spans, project="read-a"))
        a_ids.append(trace_id.hex())

    tree_trace = otlp.trace_id()
    root, left, right, leaf = (otlp.span_id() for _ in range(4))
    start = EPOCH_NS + 10 * SECOND
    spans = [
        otlp.span(
            "leaf", trace_id=tree_trace, span_id=leaf, parent_span_id=left, start_ns=start + 3000
        ),
        otlp.span(
            "right", trace_id=tree_trace, span_id=right, parent_span_id=root, start_ns=start + 4000
        ),
        otlp.span(
            "left", trace_id=tree_trace, span_id=left, parent_span_id=root, start_ns=start + 2000
        ),
        otlp.span("root", trace_id=tree_trace, span_id=root, start_ns=start),
    ]
    api.export_ok(otlp.request(spans, project="read-b"))
    other = otlp.trace_id()
    api.export_ok(
        otlp.request(
            [otlp.span("solo", trace_id=other, start_ns=EPOCH_NS + 5 * SECOND)], project="read-b"
        )
    )
    return Seeded(
        project_a=list(reversed(a_ids)),
        project_b=[tree_trace.hex(), other.hex()],
        tree_trace=tree_trace.hex(),
    )


def test_list_traces_of_a_project_newest_first(api, seeded: Seeded) -> None:
    response = api.http.get("/api/traces", params={"project": "read-a"})

    assert response.status_code == 200
    payload = response.json()
    assert (payload["limit"], payload["offset"]) == (50, 0)
    traces = payload["traces"]
    assert [t["trace_id"] for t in traces] == seeded.project_a
    assert {t["project"] for t in traces} == {"read-a"}
    assert {t["root_name"] for t in traces} == {"root-a"}
    assert [t["span_count"] for t in traces] == [2, 2, 2]
    assert [t["error_count"] for t in traces] == [0, 1, 0]
    assert [t["total_tokens"] for t in traces] == [12, 11, 10]


def test_list_traces_without_project_covers_all(api, seeded: Seeded) -> None:
    traces = api.http.get("/api/traces").json()["traces"]
    assert {t["trace_id"] for t in traces} == set(seeded.project_a + seeded.project_b)


def test_pagination(api, seeded: Seeded) -> None:
    def page(limit: int, offset: int) -> list[str]:
        response = api.http.get(
            "/api/traces", params={"project": "read-a", "limit": limit, "offset": offset}
        )
        assert response.status_code == 200
        return [t["trace_id"] for t in response.json()["traces"]]

    assert page(2, 0) == seeded.project_a[:2]
    assert page(2, 2) == seeded.project_a[2:]
    assert page(2, 4) == []
    assert page(1, 1) == [seeded.project_a[1]]


def test_unknown_project_is_empty(api, seeded: Seeded) -> None:
    response = api.http.get("/api/traces", params={"project": "no-such-project"})
    assert response.status_code == 200
    assert response.json()["traces"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "abc"},
        {"limit": "1001"},
        {"limit": "-1"},
        {"offset": "-1"},
        {"offset": "x"},
    ],
)
def test_bad_pagination_is_400(api, params: dict[str, str]) -> None:
    response = api.http.get("/api/traces", params=params)
    assert response.status_code == 400
    name = next(iter(params))
    assert name in response.json()["error"]


def test_get_trace_nests_spans_into_a_tree(api, seeded: Seeded) -> None:
    response = api.http.get(f"/api/traces/{seeded.tree_trace}")

    assert response.status_code == 200
    payload = response.json()
    assert payload["trace_id"] == seeded.tree_trace
    assert [s["name"] for s in payload["spans"]] == ["root", "left", "leaf", "right"]

    def shape(node: dict) -> tuple:
        return (node["name"], [shape(child) for child in node["children"]])

    assert [shape(root) for root in payload["tree"]] == [
        ("root", [("left", [("leaf", [])]), ("right", [])])
    ]


def test_get_trace_accepts_upper_case_ids(api, seeded: Seeded) -> None:
    response = api.http.get(f"/api/traces/{seeded.tree_trace.upper()}")
    assert response.status_code == 200
    assert len(response.json()["spans"]) == 4


def test_get_trace_with_a_parent_cycle_still_shows_every_span(api, otlp, unique_project) -> None:
    trace_id, a, b = otlp.trace_id(), otlp.span_id(), otlp.span_id()
    spans = [
        otlp.span("a", trace_id=trace_id, span_id=a, parent_span_id=b),
        otlp.span("b", trace_id=trace_id, span_id=b, parent_span_id=a, start_ns=EPOCH_NS + 1000),
    ]
    api.export_ok(otlp.request(spans, project=unique_project))

    response = api.http.get(f"/api/traces/{trace_id.hex()}")

    assert response.status_code == 200
    [root] = response.json()["tree"]
    assert (root["name"], [child["name"] for child in root["children"]]) == ("a", ["b"])


def test_unknown_trace_is_404(api, seeded: Seeded) -> None:
    response = api.http.get("/api/traces/" + "ab" * 16)
    assert response.status_code == 404
    assert "ab" * 16 in response.json()["error"]


@pytest.mark.parametrize("trace_id", ["xyz", "a" * 31, "a" * 33, "g" * 32, "0x" + "a" * 30])
def test_malformed_trace_id_is_400(api, trace_id: str) -> None:
    response = api.http.get(f"/api/traces/{trace_id}")
    assert response.status_code == 400
    assert "32 hex" in response.json()["error"]


def test_sql_select(api, seeded: Seeded) -> None:
    response = api.http.post(
        "/api/sql",
        json={
            "sql": "SELECT project, count(*) AS n FROM spans "
            "WHERE project LIKE 'read-%' GROUP BY project ORDER BY project"
        },
    )

    assert response.status_code == 200
    assert response.json() == {
        "columns": ["project", "n"],
        "rows": [["read-a", 6], ["read-b", 5]],
        "truncated": False,
    }


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1; SELECT 2", "exactly one"),
        ("SELECT 1; DELETE FROM spans", "exactly one"),
        ("DELETE FROM spans", "only SELECT"),
        ("UPDATE spans SET name = 'x'", "only SELECT"),
        ("DROP TABLE spans", "only SELECT"),
        ("COPY spans TO '/tmp/loopwise-leak.csv'", "only SELECT"),
        ("ATTACH '/tmp/other.duckdb' AS other", "only SELECT"),
        ("INSTALL httpfs", "only SELECT"),
        ("SET enable_external_access = true", "only SELECT"),
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() is not allowed"),
        ("SELECT * FROM glob('/etc/*')", "glob() is not allowed"),
        ("SELECT * FROM query('DELETE FROM spans')", "query() is not allowed"),
        ("SELEC 1", "parse"),
        ("SELECT * FROM no_such_table", "no_such_table"),
        ("", "sql"),
    ],
)
def test_sql_rejects_anything_but_one_select(api, seeded: Seeded, sql: str, expected: str) -> None:
    before = api.count()

    response = api.http.post("/api/sql", json={"sql": sql})

    assert response.status_code == 400
    assert expected.lower() in response.json()["error"].lower()
    assert api.count() == before >= 11


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"query": "SELECT 1"}', b'{"sql": 42}'],
)
def test_sql_bad_body(api, body: bytes) -> None:
    response = api.http.post("/api/sql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "sql" in response.json()["error"]


def test_sql_rows_are_truncated_at_the_limit(api) -> None:
    over = api.http.post("/api/sql", json={"sql": f"SELECT * FROM range({MAX_RESULT_ROWS + 5})"})
    exact = api.http.post("/api/sql", json={"sql": f"SELECT * FROM range({MAX_RESULT_ROWS})"})

    assert over.status_code == exact.status_code == 200
    assert len(over.json()["rows"]) == MAX_RESULT_ROWS
    assert over.json()["truncated"] is True
    assert len(exact.json()["rows"]) == MAX_RESULT_ROWS
    assert exact.json()["truncated"] is False


def test_sql_serializes_timestamps_lists_and_nan(api) -> None:
    response = api.http.post(
        "/api/sql",
        json={
            "sql": "SELECT TIMESTAMP '2026-01-01 00:00:01' AS t, ['a', 'b'] AS l, "
            "'NaN'::DOUBLE AS nan, 1.5::DECIMAL(4, 2) AS d"
        },
    )
    assert response.status_code == 200
    assert response.json()["rows"] == [["2026-01-01T00:00:01", ["a", "b"], None, 1.5]]
