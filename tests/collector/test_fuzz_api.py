"""Property-based fuzzing of every JSON API route of a full collector (the collector's own
routes and those of the evals, feedback and eval-runs extensions).

The routes are read from the running application, so a new route is fuzzed without being
listed here. Each request picks a route and fills its path parameters, query string and JSON
body with arbitrary values (known parameter and field names with values of every type,
arbitrary names, huge, empty and odd text, deep nesting, lone surrogate escapes, bodies that
are not JSON), as the instance admin, as a project key or with a wrong credential. The
properties:

- every reply is a 2xx or a 4xx with a JSON error, never a 5xx; ``/health`` still answers;
- a 4xx changes nothing: every table holds the same rows as before the request.

The background work that writes on its own (online scoring, the review-queue sync) is off,
so any change of a table comes from the request.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.evals import EvalsExtension
from loopwise.evals.suites.api import SuiteRunsExtension
from loopwise.feedback import FeedbackExtension

ADMIN_KEY = "fuzz-admin-key"
PROJECT = "fuzz-project"

QUICK = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SLOW = settings(QUICK, max_examples=3000)


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    """A collector with an instance admin key (so project keys made by the fuzzer do not lock
    the test out) and a short SQL timeout."""
    return CollectorConfig(
        db_path=tmp_path_factory.mktemp("fuzz-api") / "t.duckdb",
        port=0,
        api_key=ADMIN_KEY,
        sql_timeout_s=5.0,
    )


@pytest.fixture(scope="module")
def collector_server(collector_config: CollectorConfig) -> Iterator[CollectorServer]:
    """Every extension loopwise ships, with the background writers off."""
    extensions = [
        EvalsExtension(online=False),
        FeedbackExtension(sync_interval_s=None),
        SuiteRunsExtension(),
    ]
    with CollectorServer(collector_config, extensions) as server:
        yield server


@pytest.fixture(scope="module")
def seeded(collector_server: CollectorServer, otlp) -> dict[str, list[str]]:
    """Real things for path parameters to name: spans, a review item, a dataset, a prompt,
    and a project key; returns the ids by parameter name."""
    http = httpx.Client(base_url=collector_server.url, headers={"x-api-key": ADMIN_KEY}, timeout=30)
    trace_id, root, child = otlp.trace_id(), otlp.span_id(), otlp.span_id()
    request = otlp.request(
        [
            otlp.span(
                "root",
                trace_id=trace_id,
                span_id=root,
                attributes={"session.id": "s1", "user.id": "u1", "input.value": "hi"},
            ),
            otlp.span(
                "answer",
                trace_id=trace_id,
                span_id=child,
                parent_span_id=root,
                attributes={"openinference.span.kind": "LLM", "output.value": "ORD-1"},
            ),
        ],
        project=PROJECT,
    )
    assert http.post(
        "/v1/traces",
        content=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    ).is_success

    def ok(method: str, path: str, body: Any = None) -> Any:
        response = http.request(method, path, json=body)
        assert response.is_success, (path, response.text)
        return response.json()

    ok("POST", "/api/feedback", {"trace_id": trace_id.hex(), "name": "thumbs", "value": False})
    item = ok(
        "POST",
        "/api/reviews",
        {"trace_id": trace_id.hex(), "span_id": child.hex(), "actor": "seed"},
    )
    ok(
        "POST",
        f"/api/reviews/{item['item_id']}/actions",
        {
            "action": "correct",
            "actor": "seed",
            "expected_version": item["version"],
            "corrected_output": "fixed",
        },
    )
    ok("POST", "/api/datasets", {"name": "ds", "actor": "seed", "examples": [{"input": "q"}]})
    ok("POST", "/api/prompts/reply/versions", {"template": "Hi {{name}}", "actor": "seed"})
    key = ok("POST", "/api/keys", {"project": PROJECT, "role": "admin", "name": "fuzzer"})
    http.close()
    return {
        "trace_id": [trace_id.hex()],
        "session_id": ["s1"],
        "item_id": [item["item_id"]],
        "name": ["ds", "reply"],
        "proposal_id": ["prop_missing"],
        "key_id": [key["key_id"]],
        "run_id": ["missing-run"],
        "token": [key["token"]],
    }


def api_routes(server: CollectorServer) -> list[tuple[str, str]]:
    """(method, path template) of every route the running collector serves, but /health and
    the OTLP receivers (fuzzed on their own)."""
    app = server.app
    found = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith("/api/") or "/otel/" in path:
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found.append((method, path))
    return found


QUERY_NAMES = [
    "project",
    "limit",
    "offset",
    "since",
    "until",
    "status",
    "name",
    "tag",
    "session_id",
    "user_id",
    "trace_id",
    "span_id",
    "severity",
    "rule",
    "cluster",
    "state",
    "assignee",
    "source",
    "item_id",
    "prompt",
    "evaluator",
    "min_labels",
    "version",
    "label",
    "from",
    "to",
    "suite",
    "bucket_seconds",
    "service",
    "model",
]
BODY_FIELDS = [
    "sql",
    "project",
    "role",
    "name",
    "trace_id",
    "span_id",
    "value",
    "comment",
    "user_id",
    "metadata",
    "actor",
    "action",
    "expected_version",
    "assignee",
    "corrected_output",
    "verdicts",
    "reason",
    "examples",
    "from_spans",
    "from_sql",
    "from_corrections",
    "remove",
    "on_duplicate",
    "description",
    "message",
    "template",
    "model_params",
    "variables",
    "labels",
    "label",
    "version",
    "base_version",
    "base_label",
    "correction_ids",
    "max_examples",
    "force",
    "evaluators",
    "filters",
    "after",
    "limit",
    "run_id",
    "suite",
    "dataset",
    "passed",
    "started_at",
    "finished_at",
    "manifest",
    "where",
    "ids",
]

odd_text = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "1e999",
        "NaN",
        "null",
        "true",
        "9" * 40,
        "x" * 5000,
        "%",
        "../..",
        "a/b",
        "'; drop table spans; --",
        "\x00",
        "é✓🙂",
        "2026-01-01T00:00:00Z",
        "2026-13-45",
        "select 1",
        "with d as (delete from spans returning 1) select count(*) from d",
        "0" * 32,
        "0" * 16,
        "ORD-1",
        "fuzz-project",
        "ds",
        "reply",
        "production",
        "correct",
        "approve",
        "pick",
        "assign",
        "reject",
        "reopen",
        "comment",
        "pass",
        "fail",
        "ingest",
        "read",
        "admin",
    ]
)
texts = st.text(max_size=30) | odd_text
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=12,
)
bodies = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(BODY_FIELDS) | texts, json_values, max_size=6).map(
        lambda d: json.dumps(d).encode()
    ),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=100),
    st.sampled_from(
        [
            b"[" * 50_000 + b"]" * 50_000,
            b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
            b'{"name": "\\ud800", "actor": "\\udfff"}',
            b'{"sql": "select \'\\ud800\'"}',
            b'{"examples": [{"input": "\\ud800"}], "name": "s", "actor": "a"}',
            b'{"trace_id": "\\ud800", "name": "x", "value": 1}',
            b"\xff\xfe",
            b"{}",
            b"null",
        ]
    ),
)
queries = st.dictionaries(st.sampled_from(QUERY_NAMES) | texts, texts, max_size=4)
raw_queries = st.sampled_from(["", "limit=%FF%FE", "project=%ED%A0%80", "a=%", "=&&=", "%00=1"])
credentials = st.sampled_from(["admin", "admin", "admin", "project", "wrong", "basic-junk"])


@st.composite
def api_requests(draw: st.DrawFn, routes: list[tuple[str, str]], ids: dict[str, list[str]]):
    method, template = draw(st.sampled_from(routes))
    path = template
    for param in [p.split(":")[0] for p in _params(template)]:
        known = ids.get(param, [])
        value = draw(st.sampled_from(known) | texts if known else texts)
        quoted = urllib.parse.quote(value.encode("utf-8", "surrogatepass"), safe="")
        path = path.replace("{" + param + "}", quoted or "%20").replace(
            "{" + param + ":path}", quoted or "%20"
        )
    query = urllib.parse.urlencode(draw(queries), encoding="utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        query = "&".join(q for q in (query, draw(raw_queries)) if q)
    body = draw(bodies) if method == "POST" else None
    return method, path, query, body, draw(credentials)


def _params(template: str) -> list[str]:
    return [part[1:-1] for part in template.split("/") if part.startswith("{")]


def row_counts(store) -> dict[str, int]:
    """Rows of every table, read in process."""
    names = [r[0] for r in store.query("SELECT table_name FROM duckdb_tables()").rows]
    if not names:
        return {}
    union = " UNION ALL ".join(f"SELECT '{n}', count(*) FROM \"{n}\"" for n in names)
    return {name: int(count) for name, count in store.query(union).rows}


@pytest.fixture(scope="module")
def fuzz_client(collector_server, seeded) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=collector_server.url, timeout=60) as client:
        yield client
        assert client.get("/health").status_code == 200


def send_and_check(server, client: httpx.Client, ids, request) -> None:
    method, path, query, body, credential = request
    headers = {"Content-Type": "application/json"}
    if credential == "admin":
        headers["x-api-key"] = ADMIN_KEY
    elif credential == "project":
        headers["Authorization"] = f"Bearer {ids['token'][0]}"
    elif credential == "wrong":
        headers["x-api-key"] = "wrong-key"
    else:
        headers["Authorization"] = "Basic !!not-base64"
    before = row_counts(server.collector.store)
    url = path + ("?" + query if query else "")
    response = client.request(method, url, content=body, headers=headers)

    assert response.status_code < 500, (method, url, body, response.status_code, response.text)
    assert 200 <= response.status_code < 300 or 400 <= response.status_code < 500
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]
        assert row_counts(server.collector.store) == before, (method, url, body)


def test_every_route_is_fuzzed(collector_server) -> None:
    """The route table the fuzzer draws from holds every extension's routes."""
    paths = {path for _, path in api_routes(collector_server)}
    for expected in (
        "/api/traces",
        "/api/sql",
        "/api/flags",
        "/api/reviews/{item_id}/actions",
        "/api/datasets/{name}/versions",
        "/api/prompts/{name}/labels",
        "/api/eval-runs",
        "/api/keys",
        "/api/overview/facets",
        "/api/feedback",
    ):
        assert expected in paths


def test_the_description_covers_the_extensions_routes(collector_server) -> None:
    """Feedback and suite-run routes are in /openapi.json, with their path parameters, so a
    generated client reaches them too."""
    described = httpx.get(f"{collector_server.url}/openapi.json").json()["paths"]
    for path, method in (
        ("/api/reviews/{item_id}/actions", "post"),
        ("/api/datasets/{name}/versions", "get"),
        ("/api/prompts/{name}/labels", "post"),
        ("/api/eval-runs", "post"),
        ("/api/eval-runs/{run_id}", "get"),
    ):
        assert method in described[path], path
    actions = described["/api/reviews/{item_id}/actions"]["post"]
    assert [p["name"] for p in actions["parameters"]] == ["item_id"]
    runs = described["/api/eval-runs"]["get"]["parameters"]
    assert {p["name"]: p["schema"].get("maximum") for p in runs}["limit"] == 500


@pytest.mark.parametrize("credential", ["admin", "project"])
def test_bodies_nested_too_deeply_are_a_400_on_every_post_route(
    collector_server, fuzz_client, seeded, credential: str
) -> None:
    """Found by the fuzzer: json.loads raises RecursionError (not ValueError) on deep nesting,
    and POST /api/keys, /api/sql, /api/eval-runs (and the access check of a project key's
    body) answered 500."""
    posts = [path for method, path in api_routes(collector_server) if method == "POST"]
    for template in posts:
        path = template
        for param in _params(template):
            path = path.replace("{" + param + "}", seeded.get(param, ["x"])[0])
        request = ("POST", path, "", b"[" * 100_000 + b"]" * 100_000, credential)
        send_and_check(collector_server, fuzz_client, seeded, request)


@pytest.fixture(scope="module")
def strategy(collector_server, seeded):
    return api_requests(api_routes(collector_server), seeded)


def test_fuzzed_api_requests_get_2xx_or_4xx_and_4xx_changes_nothing(
    collector_server, fuzz_client, seeded, strategy
) -> None:
    @QUICK
    @given(request=strategy)
    def run(request) -> None:
        send_and_check(collector_server, fuzz_client, seeded, request)

    run()


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_fuzzed_api_requests_long(collector_server, fuzz_client, seeded, strategy) -> None:
    @SLOW
    @given(request=strategy)
    def run(request) -> None:
        send_and_check(collector_server, fuzz_client, seeded, request)

    run()
