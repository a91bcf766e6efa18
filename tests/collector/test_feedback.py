"""End-user feedback: ``loopwise.feedback`` in the SDK and ``POST /api/feedback``.

Feedback lands in the shared ``scores`` table as ``kind='human'``, ``source='end_user'``
rows; bad feedback is a 400 that writes nothing, and the SDK never raises or blocks.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import loopwise
from loopwise.collector.sdk import FeedbackSender, HttpFeedbackSink
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import Store
from loopwise.collector.store.feedback import TRACE_FOUND_KEY


@pytest.fixture
def clients() -> Iterator[Callable[[], loopwise.Client]]:
    """Makes SDK clients and shuts every one down after the test."""
    made: list[loopwise.Client] = []

    def make() -> loopwise.Client:
        made.append(loopwise.Client())
        return made[-1]

    yield make
    for client in made:
        client.shutdown()


def traced(client: loopwise.Client) -> str:
    """Run one traced call through ``client``, flush it, and return its trace id."""
    with client.span("answer", kind="chain") as span:
        span.set_input("where is my parcel?")
        span.set_output("on its way")
        trace_id = span.trace_id
    assert client.flush()
    return trace_id


def scores_of(api, trace_id: str) -> list[dict[str, Any]]:
    """The trace's scores as GET /api/traces/{id} returns them."""
    response = api.http.get(f"/api/traces/{trace_id}")
    assert response.status_code == 200, response.text
    scores: list[dict[str, Any]] = response.json()["scores"]
    return scores


def count_scores(api) -> int:
    """How many scores the collector stores."""
    return int(api.sql("SELECT count(*) AS n FROM scores")[0]["n"])


def test_sdk_feedback_reaches_the_collector(
    clients, collector_server, api, unique_project: str, tmp_path: Path
) -> None:
    client = clients()
    client.init(unique_project, endpoint=collector_server.url, spool_dir=tmp_path, set_global=False)
    trace_id = traced(client)

    client.feedback(trace_id, "thumbs", True, "spot on", user_id="ada", metadata={"screen": "chat"})
    client.feedback(trace_id, "rating", 4)
    client.feedback(trace_id, "category", "shipping")
    assert client.flush()

    thumbs, rating, category = scores_of(api, trace_id)
    assert thumbs["kind"] == "human" and thumbs["source"] == "end_user"
    assert (thumbs["name"], thumbs["value"], thumbs["label"], thumbs["passed"]) == (
        "thumbs",
        1.0,
        "up",
        True,
    )
    assert (thumbs["author"], thumbs["comment"], thumbs["project"]) == (
        "ada",
        "spot on",
        unique_project,
    )
    assert thumbs["metadata"] == f'{{"screen": "chat", "{TRACE_FOUND_KEY}": true}}'
    assert thumbs["created_at"].endswith("Z")
    assert (rating["value"], rating["label"], rating["passed"]) == (4.0, None, None)
    assert (category["value"], category["label"]) == (None, "shipping")


def test_thumbs_down_is_zero_and_labelled_down(
    clients, collector_server, api, unique_project: str, tmp_path: Path
) -> None:
    client = clients()
    client.init(unique_project, endpoint=collector_server.url, spool_dir=tmp_path, set_global=False)
    trace_id = traced(client)

    client.feedback(trace_id, "thumbs", False)
    assert client.flush()

    [score] = scores_of(api, trace_id)
    assert (score["value"], score["label"], score["passed"]) == (0.0, "down", False)


def test_module_level_feedback_goes_through_the_default_client() -> None:
    exporter = loopwise.TestingExporter()
    loopwise.init("default-client", exporter=exporter, batch=False, set_global=False)
    try:
        loopwise.user_feedback("12" * 16, "thumbs", True)
        loopwise.user_feedback("12" * 16, "rating", 5)
        assert loopwise.flush()
    finally:
        loopwise.shutdown()

    assert [(f["name"], f["value"]) for f in exporter.feedback] == [("thumbs", True), ("rating", 5)]


def test_feedback_before_its_trace_is_kept_and_marked(
    clients, collector_server, api, unique_project: str, tmp_path: Path
) -> None:
    client = clients()
    client.init(unique_project, endpoint=collector_server.url, spool_dir=tmp_path, set_global=False)
    trace_id = "ab" * 16

    client.feedback(trace_id, "thumbs", True)
    assert client.flush()

    [row] = api.sql(f"SELECT * FROM scores WHERE trace_id = '{trace_id}'")
    assert row["project"] == unique_project  # the sender's project, as the trace is unknown
    assert row["metadata"] == f'{{"{TRACE_FOUND_KEY}": false}}'


def test_post_feedback_answers_the_stored_score(api, otlp, unique_project: str) -> None:
    trace_id = otlp.trace_id()
    api.export_ok(otlp.request([otlp.span("root", trace_id=trace_id)], project=unique_project))

    response = api.http.post(
        "/api/feedback",
        json={"trace_id": trace_id.hex().upper(), "name": "thumbs", "value": True, "project": "x"},
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["project"], body["trace_found"]) == (unique_project, True)
    [row] = api.sql(f"SELECT * FROM scores WHERE score_id = '{body['score_id']}'")
    assert (row["trace_id"], row["kind"], row["source"]) == (trace_id.hex(), "human", "end_user")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "JSON object"),
        (b"[1, 2]", "JSON object"),
        (b"{}", "trace_id is required"),
        (b'{"trace_id": "abc", "name": "t", "value": 1}', "32 hex"),
        (b'{"trace_id": "' + b"g" * 32 + b'", "name": "t", "value": 1}', "32 hex"),
        (b'{"trace_id": "' + b"0" * 32 + b'", "name": "t", "value": 1}', "not all zero"),
        (b'{"trace_id": 12, "name": "t", "value": 1}', "32 hex"),
        (b'{"trace_id": "' + b"a" * 32 + b'", "value": 1}', "name is required"),
        (b'{"trace_id": "' + b"a" * 32 + b'", "name": " ", "value": 1}', "name"),
        (b'{"trace_id": "' + b"a" * 32 + b'", "name": "t"}', "value is required"),
        (b'{"trace_id": "' + b"a" * 32 + b'", "name": "t", "value": null}', "value"),
        (b'{"trace_id": "' + b"a" * 32 + b'", "name": "t", "value": NaN}', "finite"),
        (b'{"trace_id": "' + b"a" * 32 + b'", "name": "t", "value": {"a": 1}}', "value"),
        (b'{"trace_id": "' + b"a" * 32 + b'", "name": "t", "value": ""}', "empty"),
        (b'{"trace_id": "' + b"a" * 32 + b'", "name": "t", "value": 1, "span_id": "x"}', "span_id"),
        (b'{"trace_id": "' + b"a" * 32 + b'", "name": "t", "value": 1, "comment": 5}', "comment"),
        (
            b'{"trace_id": "' + b"a" * 32 + b'", "name": "t", "value": 1, "metadata": []}',
            "metadata",
        ),
        (b'{"trace_id": "' + b"a" * 32 + b'", "name": "t", "value": 1, "score": 2}', "score"),
    ],
)
def test_bad_feedback_is_400_and_writes_nothing(api, body: bytes, message: str) -> None:
    before = count_scores(api)

    response = api.http.post(
        "/api/feedback", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert count_scores(api) == before


def test_oversized_feedback_is_413(api) -> None:
    before = count_scores(api)
    body = {"trace_id": "a" * 32, "name": "t", "value": 1, "comment": "x" * 100_000}

    response = api.http.post("/api/feedback", json=body)

    assert response.status_code == 413
    assert count_scores(api) == before


def test_feedback_in_local_mode_is_written_to_the_file(clients, tmp_path: Path) -> None:
    db = tmp_path / "local.duckdb"
    client = clients()
    client.init("local-app", mode="local", db=db, batch=False, set_global=False)
    trace_id = traced(client)

    client.feedback(trace_id, "thumbs", False, "wrong parcel", user_id="bo")
    assert client.flush()
    client.shutdown()

    with Store(db) as store:
        [row] = store.query("SELECT * FROM scores").records()
    assert (row["trace_id"], row["project"], row["kind"], row["source"]) == (
        trace_id,
        "local-app",
        "human",
        "end_user",
    )
    assert (row["value"], row["label"], row["author"], row["comment"]) == (
        0.0,
        "down",
        "bo",
        "wrong parcel",
    )
    assert f'"{TRACE_FOUND_KEY}": true' in row["metadata"]


def test_sdk_drops_bad_feedback_with_a_warning(clients, caplog: pytest.LogCaptureFixture) -> None:
    exporter = loopwise.TestingExporter()
    client = clients()
    client.init("t", exporter=exporter, batch=False, set_global=False)

    with caplog.at_level(logging.WARNING, logger="loopwise.sdk"):
        client.feedback("not-a-trace-id", "thumbs", True)
        client.feedback("a" * 32, "thumbs", float("nan"))
        client.feedback("a" * 32, "", True)
        client.feedback("a" * 32, "thumbs", object())  # type: ignore[arg-type]
    assert client.flush()

    assert exporter.feedback == []
    assert len([r for r in caplog.records if "feedback dropped" in r.message]) == 4


def test_feedback_goes_to_a_testing_exporter(clients) -> None:
    exporter = loopwise.TestingExporter()
    client = clients()
    client.init("t", exporter=exporter, batch=False, set_global=False)

    client.feedback(0xABC, "thumbs", True, span_id=0x1F)
    assert client.flush()

    assert exporter.feedback == [
        {
            "trace_id": f"{0xABC:032x}",
            "name": "thumbs",
            "value": True,
            "span_id": f"{0x1F:016x}",
            "project": "t",
        }
    ]


def test_feedback_before_init_is_dropped_quietly(clients) -> None:
    client = clients()
    client.feedback("a" * 32, "thumbs", True)
    assert client.flush()


def test_feedback_is_spooled_while_the_collector_is_away(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    sender = FeedbackSender(
        HttpFeedbackSink(url, timeout_s=1.0), project="away", spool_dir=tmp_path / "spool"
    )
    try:
        sender.send("cd" * 16, "thumbs", True)
        sender.send("cd" * 16, "rating", 2)
        assert sender.flush()
        assert len(sender.spooled_files()) == 2

        config = CollectorConfig(db_path=tmp_path / "c.duckdb", port=port)
        with CollectorServer(config) as server:
            assert sender.deliver_spool() == 2
            rows = httpx.post(
                server.url + "/api/sql",
                json={"sql": "SELECT name, project FROM scores ORDER BY value"},
            ).json()["rows"]
        assert rows == [["thumbs", "away"], ["rating", "away"]]
        assert sender.spooled_files() == []
    finally:
        sender.close()


@pytest.fixture(scope="module")
def keyed_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorServer]:
    """A collector that requires an API key."""
    config = CollectorConfig(
        db_path=tmp_path_factory.mktemp("keyed") / "k.duckdb", port=0, api_key="s3cret"
    )
    with CollectorServer(config) as server:
        yield server


def test_sdk_feedback_carries_the_api_key(
    clients, keyed_collector: CollectorServer, tmp_path: Path
) -> None:
    client = clients()
    client.init(
        "keyed",
        endpoint=keyed_collector.url,
        api_key="s3cret",
        spool_dir=tmp_path,
        set_global=False,
    )
    client.feedback("ef" * 16, "thumbs", True)
    assert client.flush()

    anonymous = httpx.post(
        keyed_collector.url + "/api/feedback",
        json={"trace_id": "ef" * 16, "name": "thumbs", "value": True},
    )
    stored = httpx.post(
        keyed_collector.url + "/api/sql",
        json={"sql": "SELECT count(*) FROM scores"},
        headers={"Authorization": "Bearer s3cret"},
    ).json()["rows"]
    assert anonymous.status_code == 401
    assert stored == [[1]]
