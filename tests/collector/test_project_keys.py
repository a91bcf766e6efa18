"""Per-project API keys: hashed at rest, roles, and isolation across every route.

A collector hosting every shipped extension holds two projects. Each project's keys must see
only that project on every route that reads stored data, must not reach another project's
trace or review item by id, and must not reach data shared by every project.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import Store
from loopwise.extensions import default_extensions

ADMIN = "instance-admin-key"


@dataclass
class Keys:
    """Tokens of the keys the module created."""

    alpha_admin: str
    alpha_ingest: str
    alpha_read: str
    beta_admin: str


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store file of the module's collector."""
    return tmp_path_factory.mktemp("project-keys") / "keys.duckdb"


@pytest.fixture(scope="module")
def server(db_path: Path) -> Iterator[CollectorServer]:
    """A collector with every extension (online scoring off) and an instance admin key."""
    extensions = default_extensions()
    extensions[0].online = False  # type: ignore[attr-defined]
    with CollectorServer(
        CollectorConfig(db_path=db_path, port=0, api_key=ADMIN), extensions=extensions
    ) as running:
        yield running


def client(server: CollectorServer, token: str | None) -> httpx.Client:
    """An HTTP client sending ``token`` as a Bearer key (or nothing)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def send_spans(server: CollectorServer, token: str, claimed_project: str, name: str) -> None:
    """Two spans of one trace through the official OTLP exporter, the resource claiming
    ``claimed_project``."""
    exporter = OTLPSpanExporter(
        endpoint=server.url + "/v1/traces", headers={"Authorization": f"Bearer {token}"}
    )
    provider = TracerProvider(resource=Resource({"loopwise.project": claimed_project}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(name) as root:
        root.set_attribute("input.value", f"{name} input")
        with tracer.start_as_current_span(f"{name}-llm") as llm:
            llm.set_attribute("openinference.span.kind", "LLM")
            llm.set_attribute("output.value", f"{name} output")
    provider.shutdown()


@pytest.fixture(scope="module")
def keys(server: CollectorServer) -> Keys:
    """Keys for projects alpha and beta, created through the API with the admin key; alpha's
    ingest key sends spans claiming project beta, beta's key sends its own."""
    with client(server, ADMIN) as admin:

        def make(project: str, role: str, name: str) -> str:
            response = admin.post(
                "/api/keys", json={"project": project, "role": role, "name": name}
            )
            assert response.status_code == 201, response.text
            return str(response.json()["token"])

        made = Keys(
            alpha_admin=make("alpha", "admin", "ana"),
            alpha_ingest=make("alpha", "ingest", "alpha-app"),
            alpha_read=make("alpha", "read", "alpha-dash"),
            beta_admin=make("beta", "admin", "bo"),
        )
    send_spans(server, made.alpha_ingest, claimed_project="beta", name="alpha-work")
    send_spans(server, made.beta_admin, claimed_project="beta", name="beta-work")
    return made


def trace_of(server: CollectorServer, project: str) -> str:
    """The trace id of ``project``'s stored trace (read with the admin key)."""
    with client(server, ADMIN) as admin:
        rows = admin.post(
            "/api/sql", json={"sql": f"SELECT trace_id FROM traces WHERE project = '{project}'"}
        ).json()["rows"]
    assert len(rows) == 1, rows
    return str(rows[0][0])


def test_spans_land_in_the_keys_project_whatever_the_resource_claims(server, keys) -> None:
    with client(server, ADMIN) as admin:
        rows = admin.post(
            "/api/sql", json={"sql": "SELECT project, name FROM spans ORDER BY name"}
        ).json()["rows"]
    assert rows == [
        ["alpha", "alpha-work"],
        ["alpha", "alpha-work-llm"],
        ["beta", "beta-work"],
        ["beta", "beta-work-llm"],
    ]


def test_keys_are_listed_without_secrets_and_unreadable_by_sql(server, keys) -> None:
    with client(server, ADMIN) as admin:
        listed = admin.get("/api/keys").json()
        refused = admin.post("/api/sql", json={"sql": "SELECT * FROM api_keys"})
    assert {k["project"] for k in listed} == {"alpha", "beta"}
    assert all("token" not in k and "secret_sha256" not in k for k in listed)
    assert refused.status_code == 400  # not even the admin reads the hashes through SQL


def test_only_a_hash_of_the_secret_is_stored(tmp_path: Path) -> None:
    db_path = tmp_path / "hashed.duckdb"
    config = CollectorConfig(db_path=db_path, port=0, api_key=ADMIN)
    with CollectorServer(config) as running, client(running, ADMIN) as admin:
        token = admin.post("/api/keys", json={"project": "p", "role": "read"}).json()["token"]
    secret = token.split("_", 2)[2]
    assert secret.encode() not in db_path.read_bytes()
    with Store(db_path, read_only=True) as store:
        stored = store.query("SELECT secret_sha256 FROM api_keys").rows
    assert stored == [(hashlib.sha256(secret.encode()).hexdigest(),)]


@pytest.mark.parametrize(
    "path",
    [
        "/api/traces",
        "/api/traces?project=beta",
        "/api/sessions",
        "/api/users",
        "/api/overview",
        "/api/overview/facets",
        "/api/overview/scores",
        "/api/flags",
        "/api/flags/clusters",
        "/api/scores",
        "/api/reviews",
        "/api/reviews/corrections",
    ],
)
def test_list_routes_show_only_the_keys_project(server, keys, path: str) -> None:
    with client(server, keys.alpha_read) as alpha:
        response = alpha.get(path)
    assert response.status_code == 200, response.text
    assert "beta" not in response.text
    beta_trace = trace_of(server, "beta")
    assert beta_trace not in response.text


def test_a_trace_of_another_project_is_not_found(server, keys) -> None:
    alpha_trace, beta_trace = trace_of(server, "alpha"), trace_of(server, "beta")
    with client(server, keys.alpha_read) as alpha:
        assert alpha.get(f"/api/traces/{alpha_trace}").status_code == 200
        hidden = alpha.get(f"/api/traces/{beta_trace}")
    assert hidden.status_code == 404
    assert "beta" not in hidden.text


def test_sql_sees_only_the_keys_project(server, keys) -> None:
    queries = [
        "SELECT DISTINCT project FROM spans",
        "SELECT DISTINCT project FROM traces WHERE project = 'beta' OR true",
        "SELECT DISTINCT s.project FROM spans s JOIN traces t USING (trace_id)",
        "SELECT project FROM (SELECT project FROM main.spans UNION SELECT project FROM scores)",
        "WITH x AS (SELECT * FROM spans) SELECT DISTINCT project FROM x",
    ]
    with client(server, keys.alpha_read) as alpha:
        for sql in queries:
            response = alpha.post("/api/sql", json={"sql": sql})
            assert response.status_code == 200, (sql, response.text)
            assert {row[0] for row in response.json()["rows"]} <= {"alpha"}, sql
        shared = alpha.post("/api/sql", json={"sql": "SELECT * FROM dataset_versions"})
        shadow = alpha.post(
            "/api/sql", json={"sql": "WITH spans AS (SELECT 1) SELECT * FROM spans"}
        )
    assert shared.status_code == 400 and "shared by every project" in shared.json()["error"]
    assert shadow.status_code == 400


def test_review_items_are_scoped_and_record_the_keys_name(server, keys) -> None:
    alpha_trace, beta_trace = trace_of(server, "alpha"), trace_of(server, "beta")
    with client(server, keys.alpha_admin) as alpha:
        item = alpha.post("/api/reviews", json={"trace_id": alpha_trace, "actor": "mallory"})
        assert item.status_code == 201, item.text
        assert item.json()["created_by"] == "ana"
        other = alpha.post("/api/reviews", json={"trace_id": beta_trace})
        assert other.status_code == 404
    with client(server, keys.beta_admin) as beta:
        beta_item = beta.post("/api/reviews", json={"trace_id": beta_trace})
        assert beta_item.status_code == 201
        item_id = item.json()["item_id"]
        assert beta.get(f"/api/reviews/{item_id}").status_code == 404
        assert (
            beta.post(
                f"/api/reviews/{item_id}/actions", json={"action": "approve", "expected_version": 1}
            ).status_code
            == 404
        )
        listed = beta.get("/api/reviews").json()
    assert item_id not in str(listed)
    with client(server, keys.alpha_admin) as alpha:
        done = alpha.post(
            f"/api/reviews/{item_id}/actions",
            json={"action": "approve", "expected_version": 1, "actor": "mallory"},
        )
    assert done.status_code == 200, done.text
    assert "ana" in done.text and "mallory" not in done.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/datasets/snapshot"),
        ("POST", "/api/reviews/sync"),
        ("POST", "/api/evals/score"),
        ("GET", "/api/no-such-route"),
    ],
)
def test_shared_data_and_instance_operations_are_refused(server, keys, method, path) -> None:
    with client(server, keys.alpha_admin) as alpha:
        response = alpha.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 403
    assert "instance admin key" in response.json()["error"]


def test_roles_limit_what_a_key_does(server, keys) -> None:
    with client(server, keys.alpha_ingest) as ingest:
        assert ingest.get("/api/traces").status_code == 403
        assert ingest.post("/api/sql", json={"sql": "SELECT 1"}).status_code == 403
        assert ingest.get("/api/whoami").json()["role"] == "ingest"
    with client(server, keys.alpha_read) as read:
        assert read.post("/v1/traces", content=b"").status_code == 403
        assert read.post("/api/keys", json={"project": "alpha", "role": "admin"}).status_code == 403


def test_a_project_admin_manages_only_its_projects_keys(server, keys) -> None:
    with client(server, keys.alpha_admin) as alpha:
        assert alpha.post("/api/keys", json={"project": "beta", "role": "admin"}).status_code == 403
        made = alpha.post("/api/keys", json={"role": "read", "name": "temp"})
        assert made.status_code == 201 and made.json()["project"] == "alpha"
        assert {k["project"] for k in alpha.get("/api/keys").json()} == {"alpha"}
        beta_key_id = keys.beta_admin.split("_")[1]
        assert alpha.post(f"/api/keys/{beta_key_id}/revoke").status_code == 404
    token = made.json()["token"]
    with client(server, token) as temp:
        assert temp.get("/api/traces").status_code == 200
    with client(server, keys.alpha_admin) as alpha:
        assert alpha.post(f"/api/keys/{made.json()['key_id']}/revoke").status_code == 200
    with client(server, token) as temp:
        assert temp.get("/api/traces").status_code == 401


def test_once_a_key_exists_loopback_needs_one_too(server, keys) -> None:
    with client(server, None) as anonymous:
        assert anonymous.get("/api/traces").status_code == 401
        assert anonymous.get("/health").status_code == 200
    with client(server, "lw_000000000000_" + "A" * 43) as forged:
        assert forged.get("/api/traces").status_code == 401


def test_project_keys_without_an_admin_key_close_loopback(tmp_path: Path) -> None:
    """A collector with no --api-key is open on loopback until the first project key."""
    with CollectorServer(CollectorConfig(db_path=tmp_path / "open.duckdb", port=0)) as open_server:
        with client(open_server, None) as anonymous:
            assert anonymous.get("/api/traces").status_code == 200
            made = anonymous.post("/api/keys", json={"project": "p", "role": "admin"})
            assert made.status_code == 201
            assert anonymous.get("/api/traces").status_code == 401
        with client(open_server, made.json()["token"]) as keyed:
            assert keyed.get("/api/traces").status_code == 200


def test_basic_auth_with_a_project_key_works_for_langfuse_clients(server, keys) -> None:
    with httpx.Client(base_url=server.url, auth=("pk-lf-public", keys.alpha_read)) as basic:
        assert basic.get("/api/whoami").json()["project"] == "alpha"
    with httpx.Client(base_url=server.url, headers={"x-api-key": keys.alpha_read}) as header:
        assert header.get("/api/whoami").json()["project"] == "alpha"


def test_datasets_prompts_and_runs_belong_to_the_project_that_made_them(server, keys) -> None:
    with client(server, ADMIN) as admin:
        shared = admin.post(
            "/api/datasets",
            json={"name": "admin-set", "examples": [{"input": "a"}], "actor": "root"},
        )
        assert shared.status_code == 201, shared.text
    with client(server, keys.alpha_admin) as alpha:
        made = alpha.post(
            "/api/datasets",
            json={"name": "alpha-set", "examples": [{"input": "q", "expected": "a"}]},
        )
        assert made.status_code == 201, made.text
        assert (
            alpha.post("/api/prompts/reply/versions", json={"template": "Answer {{q}}"}).status_code
            == 201
        )
        assert [d["dataset"] for d in alpha.get("/api/datasets").json()["datasets"]] == [
            "alpha-set"
        ]
        assert [p["name"] for p in alpha.get("/api/prompts").json()["prompts"]] == ["reply"]
        assert alpha.get("/api/datasets/admin-set").status_code == 404
        leak = alpha.post("/api/datasets", json={"name": "leak", "from_sql": "SELECT * FROM spans"})
        assert leak.status_code == 403 and "from_sql" in leak.json()["error"]
        spans = alpha.post("/api/datasets", json={"name": "leak2", "from_spans": {"where": "true"}})
        assert spans.status_code == 403
    with client(server, keys.beta_admin) as beta:
        assert beta.get("/api/datasets").json()["datasets"] == []
        assert beta.get("/api/datasets/alpha-set").status_code == 404
        assert beta.get("/api/datasets/alpha-set/versions").status_code == 404
        assert beta.get("/api/prompts/reply").status_code == 404
        taken = beta.post("/api/datasets", json={"name": "alpha-set", "examples": [{"input": "x"}]})
        assert taken.status_code == 404
        assert beta.post("/api/prompts/reply/versions", json={"template": "x"}).status_code == 404
        assert beta.get("/api/prompts").json()["prompts"] == []
    with client(server, ADMIN) as admin:
        names = {d["dataset"] for d in admin.get("/api/datasets").json()["datasets"]}
    assert names == {"admin-set", "alpha-set"}


def test_a_keys_logs_land_in_its_project_and_never_fill_another_projects_span(server, keys) -> None:
    """A content log event naming beta's span, sent with alpha's key, fills nothing of beta."""
    from opentelemetry import trace as trace_api
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    beta_trace = trace_of(server, "beta")
    with client(server, ADMIN) as admin:
        [[span_id]] = admin.post(
            "/api/sql",
            json={
                "sql": f"SELECT span_id FROM spans WHERE trace_id = '{beta_trace}' "
                "AND name = 'beta-work'"
            },
        ).json()["rows"]
        admin.post("/api/sql", json={"sql": "SELECT 1"})
    provider = LoggerProvider(resource=Resource({"loopwise.project": "beta"}))
    exporter = OTLPLogExporter(
        endpoint=server.url + "/v1/logs", headers={"Authorization": f"Bearer {keys.alpha_ingest}"}
    )
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    parent = trace_api.SpanContext(
        int(beta_trace, 16), int(span_id, 16), is_remote=False, trace_flags=trace_api.TraceFlags(1)
    )
    provider.get_logger("attack").emit(
        context=trace_api.set_span_in_context(trace_api.NonRecordingSpan(parent)),
        event_name="gen_ai.client.inference.operation.details",
        attributes={
            "gen_ai.output.messages": '[{"role": "assistant", "parts": '
            '[{"type": "text", "content": "planted"}]}]'
        },
        severity_number=SeverityNumber.INFO,
    )
    provider.shutdown()
    with client(server, ADMIN) as admin:
        outputs = admin.post(
            "/api/sql", json={"sql": f"SELECT output FROM spans WHERE trace_id = '{beta_trace}'"}
        ).json()["rows"]
        logs = admin.post("/api/sql", json={"sql": "SELECT DISTINCT project FROM logs"}).json()
    assert ["planted"] not in outputs
    assert logs["rows"] == [["alpha"]]


def test_a_keys_review_rubric_is_its_projects(server, keys) -> None:
    """A project key reads and sets only its own project's review rubric (whatever project
    the request names), records its own name, and reads no other project's item rubric."""
    alpha_trace = trace_of(server, "alpha")
    with client(server, keys.alpha_admin) as alpha:
        made = alpha.post(
            "/api/reviews/rubric",
            json={"project": "beta", "actor": "mallory", "evaluators": ["tone"]},
        )
        assert made.status_code == 200, made.text
        assert (made.json()["project"], made.json()["set_by"]) == ("alpha", "ana")
        read = alpha.get("/api/reviews/rubric", params={"project": "beta"}).json()
        assert (read["project"], read["evaluators"]) == ("alpha", ["tone"])
        listed = alpha.get("/api/reviews/rubrics").json()["rubrics"]
        assert [r["project"] for r in listed] == ["alpha"]
        picked = alpha.post("/api/reviews", json={"trace_id": alpha_trace})
        assert picked.status_code in (201, 409), picked.text  # 409: an item is open already
        item_id = picked.json()["item_id"]
        assert alpha.get(f"/api/reviews/{item_id}/rubric").json()["evaluators"] == ["tone"]
    with client(server, keys.beta_admin) as beta:
        assert beta.get("/api/reviews/rubric").json()["set"] is False
        assert beta.get("/api/reviews/rubrics").json() == {"rubrics": []}
        assert beta.get(f"/api/reviews/{item_id}/rubric").status_code == 404
    with client(server, keys.alpha_read) as reader:
        assert reader.get("/api/reviews/rubric").json()["evaluators"] == ["tone"]
        refused = reader.post("/api/reviews/rubric", json={"evaluators": ["refusal"]})
        assert refused.status_code == 403
    with client(server, ADMIN) as admin:
        projects = [r["project"] for r in admin.get("/api/reviews/rubrics").json()["rubrics"]]
    assert projects == ["alpha"]
