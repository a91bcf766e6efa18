"""API keys on the collector, and the refusal to listen beyond loopback without one."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import loopwise
from loopwise.collector.server import OTLP_TRACE_PATHS, CollectorConfig, CollectorServer

KEY = "k"


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    """A collector that requires the API key ``k``."""
    return CollectorConfig(
        db_path=tmp_path_factory.mktemp("auth") / "t.duckdb", port=0, api_key=KEY
    )


@pytest.fixture(scope="module")
def api(make_api: Callable[..., Any]) -> Any:
    """A client that sends the key, for reading rows back."""
    return make_api(headers={"x-api-key": KEY})


@pytest.fixture(scope="module")
def anonymous(make_api: Callable[..., Any]) -> Any:
    """A client that sends only the headers each test gives it."""
    return make_api()


def basic(user: str, password: str) -> str:
    """An HTTP Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("path", OTLP_TRACE_PATHS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer"},
        {"Authorization": basic("pk-lf-public", "wrong")},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": f"Token {KEY}"},
        {"x-api-key": "K"},
    ],
    ids=[
        "none",
        "wrong-bearer",
        "empty-bearer",
        "wrong-basic",
        "bad-basic",
        "other-scheme",
        "case",
    ],
)
def test_traces_without_the_key_are_refused(
    api, anonymous, otlp, path: str, headers: dict[str, str]
) -> None:
    trace_id = otlp.trace_id()
    response = anonymous.export(
        otlp.request([otlp.span("x", trace_id=trace_id)]), path=path, headers=headers
    )

    assert response.status_code == 401
    assert "API key" in api.error_message(response)
    assert api.count_trace(trace_id) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"x-api-key": "ключ".encode()},
        {"Authorization": "Bearer é".encode("latin-1")},
        {"Authorization": b"Basic " + base64.b64encode("pk:ключ".encode())},
        {"Authorization": b"Basic " + base64.b64encode(b"\xff\xfe:\x80")},
        {"Authorization": b"Basic \xff\xff"},
    ],
    ids=["utf8-x-api-key", "latin1-bearer", "utf8-basic", "binary-basic", "non-ascii-basic"],
)
def test_non_ascii_credentials_are_a_wrong_key_not_a_crash(
    api, anonymous, otlp, headers: dict[str, bytes]
) -> None:
    trace_id = otlp.trace_id()
    response = anonymous.export(otlp.request([otlp.span("x", trace_id=trace_id)]), headers=headers)

    assert response.status_code == 401
    assert "API key" in api.error_message(response)
    assert api.count_trace(trace_id) == 0
    assert (
        anonymous.http.post("/api/sql", json={"sql": "SELECT 1"}, headers=headers).status_code
        == 401
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {KEY}"},
        {"Authorization": basic("pk-lf-public", KEY)},
        {"x-api-key": KEY},
    ],
    ids=["bearer", "basic-langfuse-style", "x-api-key"],
)
def test_traces_with_the_key_are_stored(api, anonymous, otlp, headers: dict[str, str]) -> None:
    trace_id = otlp.trace_id()
    response = anonymous.export(otlp.request([otlp.span("x", trace_id=trace_id)]), headers=headers)

    assert response.status_code == 200, response.content
    assert api.count_trace(trace_id) == 1


def test_health_is_open(anonymous) -> None:
    assert anonymous.healthy()


def test_read_api_needs_the_key_too(anonymous) -> None:
    assert anonymous.http.get("/api/traces").status_code == 401
    assert anonymous.http.post("/api/sql", json={"sql": "SELECT 1"}).status_code == 401
    authorized = {"Authorization": f"Bearer {KEY}"}
    assert anonymous.http.get("/api/traces", headers=authorized).status_code == 200
    response = anonymous.http.post("/api/sql", json={"sql": "SELECT 1 AS one"}, headers=authorized)
    assert response.json()["rows"] == [[1]]


def test_sdk_sends_its_api_key(collector_server: CollectorServer, api, tmp_path: Path) -> None:
    client = loopwise.Client()
    client.init(
        "auth-sdk",
        endpoint=collector_server.url,
        api_key=KEY,
        spool_dir=tmp_path / "spool",
        set_global=False,
    )

    @client.observe(name="step")
    def step() -> str:
        return "done"

    try:
        step()
        assert client.flush()
    finally:
        client.shutdown()
    assert api.sql("SELECT name FROM spans WHERE project = 'auth-sdk'") == [{"name": "step"}]


def test_exposed_host_without_key_is_refused(tmp_path: Path) -> None:
    config = CollectorConfig(host="0.0.0.0", port=0, db_path=tmp_path / "t.duckdb")
    with pytest.raises(ValueError, match="API key"):
        config.check()
    CollectorConfig(host="0.0.0.0", port=0, db_path=tmp_path / "t.duckdb", api_key=KEY).check()
    CollectorConfig(host="127.0.0.1", port=0, db_path=tmp_path / "t.duckdb").check()


def test_refused_server_opens_nothing_and_frees_its_port(tmp_path: Path, free_port: int) -> None:
    db_path = tmp_path / "t.duckdb"
    with pytest.raises(ValueError, match="API key") as refused:
        CollectorServer(CollectorConfig(host="0.0.0.0", port=free_port, db_path=db_path))

    assert not db_path.exists()
    # The port is free again even while the failure (and its traceback) is still around.
    assert refused.value is not None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("0.0.0.0", free_port))


def test_non_positive_body_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_body_bytes"):
        CollectorConfig(db_path=tmp_path / "t.duckdb", max_body_bytes=0).check()
