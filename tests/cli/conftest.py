"""Fixtures for CLI tests: a DuckDB file with known spans, and a collector serving it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer


def seed_spans(client: loopwise.Client) -> None:
    """Three traces: one ok LLM call under a chain, one failing tool call, one with markup."""
    with client.span("triage", kind="chain") as root:
        root.set_input("Where is my parcel?")
        with client.span("classify", kind="llm") as llm:
            llm.set_input("Classify: Where is my parcel?")
            llm.set_output('{"category": "shipping"}')
            llm.set_usage(input_tokens=12, output_tokens=5, model="shopgpt-mini")
        root.set_output("It ships tomorrow.")
    try:
        with client.span("lookup_order", kind="tool") as tool:
            tool.set_input("ORD-1")
            raise KeyError("ORD-1")
    except KeyError:
        pass
    with client.span("render", kind="chain") as markup:
        markup.set_output("[bold red]not markup[/] <script>alert(1)</script>")


@pytest.fixture
def seeded_db(tmp_path: Path) -> Path:
    """A DuckDB file written by the SDK's local mode, then closed."""
    path = tmp_path / "cli.duckdb"
    client = loopwise.Client()
    client.init("cli-test", db=path, batch=False, set_global=False)
    seed_spans(client)
    client.shutdown()
    return path


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    """A real collector on a free port with the same three traces."""
    with CollectorServer(CollectorConfig(db_path=tmp_path / "served.duckdb", port=0)) as server:
        client = loopwise.Client()
        client.init(
            "cli-test",
            endpoint=server.url,
            batch=False,
            set_global=False,
            spool_dir=tmp_path / "spool",
        )
        seed_spans(client)
        client.shutdown()
        yield server


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
