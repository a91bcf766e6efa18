"""``loopwise.prompt``: fetched from the collector or the file, cached in memory and on disk,
served from the cache or a fallback when the collector is away, and recorded on spans."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

import loopwise
from loopwise.collector.sdk import PromptFetcher
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import Store
from loopwise.feedback import FeedbackExtension, HttpBackend, create_version

TEMPLATE = "Classify: {{ticket}}"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_for(tmp_path: Path, **init: object) -> loopwise.Client:
    client = loopwise.Client()
    client.init(
        "sdk-prompts",
        batch=False,
        set_global=False,
        spool_dir=tmp_path / "spool",
        prompt_cache_dir=tmp_path / "prompt-cache",
        **init,
    )
    return client


def register(url: str, template: str, labels: list[str]) -> int:
    with HttpBackend(url) as api:
        body = {
            "template": template,
            "labels": labels,
            "actor": "ana",
            "model_params": {"temperature": 0},
        }
        return int(api.call("POST", "/api/prompts/triage/versions", body=body)["version"])


def test_fetch_cache_and_fallback_around_a_collector(tmp_path: Path) -> None:
    config = CollectorConfig(db_path=tmp_path / "c.duckdb", port=0)
    with CollectorServer(config, [FeedbackExtension(sync_interval_s=None)]) as server:
        register(server.url, TEMPLATE, ["production"])
        client = client_for(tmp_path, endpoint=server.url)
        prompt = client.prompt("triage")
        assert (prompt.version, prompt.source, prompt.label) == (1, "collector", "production")
        assert prompt.model_params == {"temperature": 0}
        with client.span("classify", kind="llm") as span:
            span.set_input(prompt.format(ticket="Where is my parcel?"))
        client.flush()
        register(server.url, "Classify carefully: {{ticket}}", ["production"])
        assert client.prompt("triage").version == 1  # still fresh in memory
        assert client.prompt("triage", cache_ttl_s=0).version == 2
        assert client.prompt("triage", version=1).template == TEMPLATE
        client.shutdown()
    # The collector is gone: the copy on disk answers a new process.
    later = client_for(tmp_path, endpoint=server.url)
    cached = later.prompt("triage")
    assert (cached.version, cached.source, cached.template) == (
        2,
        "cache",
        "Classify carefully: {{ticket}}",
    )
    assert later.prompt("triage", version=1).source == "cache"
    # Nothing cached for this label: the fallback, else a clear error.
    fallback = later.prompt("triage", label="staging", fallback="Fallback: {{ticket}}")
    assert (fallback.version, fallback.source, fallback.is_fallback) == (None, "fallback", True)
    with pytest.raises(loopwise.PromptUnavailable, match="pass fallback="):
        later.prompt("other")
    later.shutdown()


def test_rendering_records_the_prompt_on_the_span(tmp_path: Path) -> None:
    config = CollectorConfig(db_path=tmp_path / "c.duckdb", port=0)
    with CollectorServer(config, [FeedbackExtension(sync_interval_s=None)]) as server:
        register(server.url, TEMPLATE, ["production"])
        client = client_for(tmp_path, endpoint=server.url)
        prompt = client.prompt("triage")
        with client.span("classify", kind="llm") as span:
            span.set_input(prompt.format(ticket="Where is my parcel?"))
        client.shutdown()
        answer = httpx.post(server.url + "/api/sql", json={"sql": "SELECT attributes FROM spans"})
        [[attributes]] = answer.json()["rows"]
    recorded = json.loads(attributes)
    assert recorded["loopwise.prompt.name"] == "triage"
    assert recorded["loopwise.prompt.version"] == 1
    assert recorded["loopwise.prompt.label"] == "production"
    assert recorded["loopwise.prompt.source"] == "collector"
    assert json.loads(recorded["loopwise.prompt.variables"]) == {"ticket": "Where is my parcel?"}


def test_collector_away_serves_the_fallback_without_waiting(tmp_path: Path) -> None:
    client = client_for(tmp_path, endpoint=f"http://127.0.0.1:{closed_port()}")
    first = client.prompt("triage", fallback=TEMPLATE)
    second = client.prompt("triage", fallback=TEMPLATE)
    assert (first.source, second.source) == ("fallback", "fallback")
    assert first.format(ticket="x") == "Classify: x"
    fetcher = client._prompts
    assert fetcher._away_until > 0  # the next calls skip the network for a while
    client.shutdown()


def test_local_mode_reads_the_file(tmp_path: Path) -> None:
    db = tmp_path / "local.duckdb"
    with Store(db) as store:
        create_version(store, "triage", TEMPLATE, actor="ana", labels=["production"])
    client = client_for(tmp_path, db=db)
    prompt = client.prompt("triage")
    assert (prompt.version, prompt.source) == (1, "file")
    assert client.prompt("missing", fallback="x").source == "fallback"
    client.shutdown()


def test_testing_exporter_never_touches_the_network(tmp_path: Path) -> None:
    client = loopwise.Client()
    client.init("t", exporter=loopwise.TestingExporter(), batch=False, set_global=False)
    assert client.prompt("triage", fallback=TEMPLATE).source == "fallback"
    assert PromptFetcher().get("triage", fallback="x").source == "fallback"
    with pytest.raises(ValueError, match="invalid prompt name"):
        client.prompt("../etc/passwd", fallback="x")
    with pytest.raises(ValueError, match="positive integer"):
        client.prompt("triage", version=0, fallback="x")
    client.shutdown()


def test_unreadable_disk_cache_is_ignored(tmp_path: Path) -> None:
    fetcher = PromptFetcher(endpoint=f"http://127.0.0.1:{closed_port()}", cache_dir=tmp_path)
    path = fetcher._cache_path(("triage", "production", None))
    assert path is not None
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert fetcher.get("triage", fallback="fb").source == "fallback"
