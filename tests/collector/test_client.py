"""The one collector client: against a real collector with an API key, and against a small
real HTTP server on 127.0.0.1 that misbehaves on purpose (to see what is retried and what
is not)."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loopwise.collector.api_errors import ApiError, NotFound, Unavailable
from loopwise.collector.client import BadReply, CollectorClient, CollectorUnreachable, RouteMissing
from loopwise.collector.server import CollectorConfig

KEY = "client-test-key"


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    return CollectorConfig(
        db_path=tmp_path_factory.mktemp("client") / "t.duckdb", port=0, api_key=KEY
    )


def test_calls_carry_the_key_and_errors_carry_the_status(collector_server) -> None:
    with CollectorClient(collector_server.url) as anonymous:
        with pytest.raises(ApiError) as refused:
            anonymous.call("GET", "/api/traces")
        assert refused.value.status == 401
        assert anonymous.call("GET", "/health")["status"] == "ok"  # the one open route
    with CollectorClient(collector_server.url, KEY) as client:
        assert (
            client.call("GET", "/api/traces", params={"limit": 5, "project": None})["traces"] == []
        )
        with pytest.raises(ApiError) as bad:
            client.call("GET", "/api/traces", params={"limit": 0})
        assert bad.value.status == 400
        assert "limit" in bad.value.message
        with pytest.raises(ApiError) as deleting:
            client.call("POST", "/api/sql", json={"sql": "DELETE FROM spans"})
        assert deleting.value.status == 400


def test_a_missing_item_is_not_a_missing_route(collector_server) -> None:
    with CollectorClient(collector_server.url, KEY) as client:
        with pytest.raises(NotFound) as item:
            client.call("GET", f"/api/traces/{'f' * 32}")
        assert not isinstance(item.value, RouteMissing)
        with pytest.raises(RouteMissing) as route:
            client.call("GET", "/api/no-such-route")
        assert route.value.path == "/api/no-such-route"
        assert route.value.status == 404


def test_a_closed_port_is_unreachable_naming_the_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    client = CollectorClient(url, retries=1, backoff_s=0.01)
    with client, pytest.raises(CollectorUnreachable) as caught:
        client.call("POST", "/api/sql", json={"sql": "SELECT 1"})
    assert str(caught.value).startswith(f"collector at {url} is not reachable: ")
    assert isinstance(caught.value, Unavailable)
    assert caught.value.status == 503


class Scripted:
    """A real HTTP server answering each request with the next scripted behaviour."""

    def __init__(self, script: list[Callable[[BaseHTTPRequestHandler], None]]) -> None:
        self.script = list(script)
        self.seen: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.seen.append(self.command)
                outer.script.pop(0)(self)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def reply(status: int, body: bytes, **headers: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def hang_up(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    handler.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def scripted() -> Iterator[Callable[..., Scripted]]:
    made: list[Scripted] = []

    def make(*script: Callable[[BaseHTTPRequestHandler], None]) -> Scripted:
        made.append(Scripted(list(script)))
        return made[-1]

    yield make
    for server in made:
        server.close()


OK = reply(200, b'{"ok": true}', Content_Type="application/json")
BUSY = reply(503, b'{"error": "overloaded"}', Content_Type="application/json", Retry_After="0")


def test_a_busy_answer_is_retried_for_a_read_and_not_for_a_write(scripted) -> None:
    server = scripted(BUSY, OK, BUSY)
    with CollectorClient(server.url, backoff_s=0.01) as client:
        assert client.call("GET", "/api/traces") == {"ok": True}
        with pytest.raises(Unavailable) as busy:
            client.call("POST", "/api/sql", json={"sql": "SELECT 1"})
    assert busy.value.message == "overloaded"
    assert server.seen == ["GET", "GET", "POST"]


def test_a_dropped_connection_is_retried_only_when_repeating_is_safe(scripted) -> None:
    server = scripted(hang_up, OK, hang_up)
    with CollectorClient(server.url, backoff_s=0.01) as client:
        assert client.call("GET", "/api/traces") == {"ok": True}
        with pytest.raises(CollectorUnreachable):
            client.call("POST", "/api/reviews/sync")
    assert server.seen == ["GET", "GET", "POST"]


def test_retries_stop_at_the_limit(scripted) -> None:
    server = scripted(BUSY, BUSY, BUSY)
    client = CollectorClient(server.url, retries=2, backoff_s=0.01)
    with client, pytest.raises(Unavailable):
        client.call("GET", "/health")
    assert server.seen == ["GET"] * 3


def test_an_answer_that_is_not_json_is_a_bad_reply(scripted) -> None:
    server = scripted(reply(200, b"<html>proxy</html>"), reply(500, b"oops"))
    with CollectorClient(server.url) as client:
        with pytest.raises(BadReply) as html:
            client.call("GET", "/api/traces")
        assert html.value.status == 502
        with pytest.raises(ApiError) as failed:
            client.call("GET", "/api/traces")
    assert failed.value.status == 500
    assert "500" in failed.value.message


def test_the_readme_example_runs(collector_server) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [example] = [
        block
        for block in re.findall(r"```python\n(.*?)```", readme, re.S)
        if "CollectorClient(" in block
    ]
    code = example.replace("http://127.0.0.1:4318", collector_server.url)
    code = code.replace("api_key=None", f"api_key={KEY!r}")
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    page = namespace["page"]
    assert isinstance(page, dict)
    assert page["traces"] == []
