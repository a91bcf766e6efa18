"""Conformance with real OpenTelemetry LLM clients.

Each test runs one client (tests/conformance/clients/<name>.py) in its own Python process, so
the global OpenTelemetry state each library installs stays in that process. The client
calls the ``openai`` SDK against ``loopwise.testing.OpenAIStub`` on 127.0.0.1 and exports its
spans to a real collector that requires an API key; the test then reads the stored rows
through the collector's SQL API and checks kind, model, provider, input, output, tokens,
cost, session and parent links.

Golden files: with ``LOOPWISE_UPDATE_GOLDEN=1`` each test also writes the spans it checked
to tests/golden/<convention>/captured_<client>_<span>.json (the raw attributes and the
fields it asserted), so normalization stays covered where the client is not installed::

    LOOPWISE_UPDATE_GOLDEN=1 pytest tests/conformance
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest

from loopwise.collector.pricing import PriceTable
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.testing import OpenAIStub

CLIENTS = Path(__file__).resolve().parent / "clients"
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
API_KEY = "sk-lf-conformance-secret"
# What every client script does (clients/_common.py reads these from the environment).
SCENARIO = {
    "MODEL": "gpt-4o-mini",
    "EMBEDDING_MODEL": "text-embedding-3-small",
    "SYSTEM": "Be brief.",
    "QUESTION": "What is the refund window?",
    "STREAMED": "Stream the answer please",
    "SESSION": "sess-42",
    "USER": "user-7",
}
CLIENT_TIMEOUT_S = 120
INSTALL_TIMEOUT_S = 300
SPANS_SQL = """
SELECT * REPLACE (raw_attributes(attributes, input, output) AS attributes)
FROM spans ORDER BY start_time, span_id
"""
JSON_COLUMNS = ("metadata", "attributes", "resource", "events", "input_messages", "output_messages")


class Conformance:
    """Runs client scripts against one collector and one OpenAI stub; reads the spans back."""

    def __init__(self, collector: CollectorServer, stub: OpenAIStub, tmp_path: Path) -> None:
        self.collector = collector
        self.stub = stub
        self.tmp_path = tmp_path
        self.http = httpx.Client(base_url=collector.url, headers={"x-api-key": API_KEY})
        self.scenario = dict(SCENARIO)

    def run(self, client: str, python_path: Sequence[Path] = ()) -> list[dict[str, Any]]:
        """Run ``clients/<client>.py`` (``python_path``: folders searched before the
        environment's packages, for a client installed apart); return every stored span,
        JSON columns parsed."""
        env = {
            **os.environ,
            "COLLECTOR_URL": self.collector.url,
            "COLLECTOR_KEY": API_KEY,
            "STUB_URL": self.stub.base_url,
            "HOME": str(self.tmp_path),  # SDKs that keep files under ~ stay in the test's dir
            "OTEL_SDK_DISABLED": "false",
            **{f"SCENARIO_{key}": value for key, value in SCENARIO.items()},
        }
        env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        if python_path:
            paths = [str(path) for path in python_path]
            env["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [env.get("PYTHONPATH")])])
        done = subprocess.run(
            [sys.executable, str(CLIENTS / f"{client}.py")],
            env=env,
            cwd=self.tmp_path,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0, f"{client} failed:\n{done.stdout}\n{done.stderr}"
        return self.spans()

    def spans(self) -> list[dict[str, Any]]:
        """Every stored span, JSON columns parsed."""
        response = self.http.post("/api/sql", json={"sql": SPANS_SQL})
        assert response.status_code == 200, response.text
        payload = response.json()
        rows = [dict(zip(payload["columns"], row, strict=True)) for row in payload["rows"]]
        for row in rows:
            for column in JSON_COLUMNS:
                if row[column] is not None:
                    row[column] = json.loads(row[column])
        return rows

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()


def install_apart(target: Path, requirement: str, package: str) -> Path:
    """Install ``requirement`` alone (``pip install --no-deps --target``) into ``target``, for
    a client whose pins the test environment cannot hold beside the others; its dependencies
    are the environment's. Skips the test when pip cannot fetch it or ``package`` (a path
    under ``target``) is not there afterwards. Returns ``target``, for ``Conformance.run``'s
    ``python_path``."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
            str(target),
            requirement,
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0 or not (target / package).is_dir():
        pytest.skip(f"{requirement} could not be installed: {done.stderr[-500:]}")
    return target


@pytest.fixture
def collector_extensions() -> list[Any]:
    """Extensions the conformance collector hosts (none; a module may override this)."""
    return []


@pytest.fixture
def conformance(tmp_path: Path, collector_extensions: list[Any]) -> Iterator[Conformance]:
    """A fresh collector (API key required) and OpenAI stub for one client run."""
    config = CollectorConfig(db_path=tmp_path / "conformance.duckdb", port=0, api_key=API_KEY)
    with CollectorServer(config, collector_extensions) as collector, OpenAIStub() as stub:
        runner = Conformance(collector, stub, tmp_path)
        try:
            yield runner
        finally:
            runner.close()


# The columns a golden case records, in this order: every client fills the first group;
# the optional ones are recorded for the clients that send them.
GOLDEN_FIELDS = (
    "kind",
    "model",
    "provider",
    "input",
    "output",
    "input_messages",
    "output_messages",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "session_id",
    "user_id",
    "tags",
    "metadata",
    "ingest_warnings",
)
OPTIONAL_GOLDEN_FIELDS = frozenset({"cost_usd", "user_id", "tags", "metadata"})


class GoldenWriter:
    """Writes checked spans as golden cases when LOOPWISE_UPDATE_GOLDEN=1 (else does nothing)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @staticmethod
    def fields(*optional: str) -> list[str]:
        """The columns to record: the common ones plus the ``optional`` ones this client sends."""
        unknown = set(optional) - OPTIONAL_GOLDEN_FIELDS
        assert not unknown, f"not optional golden fields: {sorted(unknown)}"
        return [f for f in GOLDEN_FIELDS if f not in OPTIONAL_GOLDEN_FIELDS or f in optional]

    def save(
        self, convention: str, name: str, span: dict[str, Any], fields: list[str], source: str
    ) -> None:
        """Save ``span``'s raw attributes and its ``fields`` as tests/golden/<convention>/<name>."""
        if not self.enabled:
            return
        case: dict[str, Any] = {
            "description": f"Captured from {source} by tests/conformance (span {span['name']!r})",
            "attributes": span["attributes"],
        }
        if span["events"]:
            case["events"] = [
                {"name": event["name"], "attributes": event["attributes"]}
                for event in span["events"]
            ]
        case["expected"] = {field: span[field] for field in fields}
        folder = GOLDEN / convention
        folder.mkdir(exist_ok=True)
        text = json.dumps(case, indent=2, ensure_ascii=False) + "\n"
        (folder / f"{name}.json").write_text(text)


@pytest.fixture(scope="session")
def golden() -> GoldenWriter:
    """Saves captured payloads as golden files when LOOPWISE_UPDATE_GOLDEN=1."""
    return GoldenWriter(os.environ.get("LOOPWISE_UPDATE_GOLDEN") == "1")


class Expect:
    """Assertions shared by the client tests, in terms of the scenario every client runs."""

    def __init__(self, scenario: dict[str, str]) -> None:
        self.scenario = scenario
        self.prices = PriceTable.shipped()

    def one(self, spans: list[dict[str, Any]], **where: Any) -> dict[str, Any]:
        """The single span whose columns equal ``where``."""
        found = [s for s in spans if all(s[k] == v for k, v in where.items())]
        assert len(found) == 1, f"{len(found)} spans match {where}: {[s['name'] for s in spans]}"
        return found[0]

    def chat(self, span: dict[str, Any], question: str, *, answer: bool = True) -> None:
        """``span`` is the LLM call asking ``question`` (the stub answers with the question)."""
        system = self.scenario["SYSTEM"]
        assert span["kind"] == "llm"
        assert span["model"] == self.scenario["MODEL"]
        assert span["provider"] == "openai"
        assert span["input"] == f"system: {system}\nuser: {question}"
        assert span["input_messages"] == [
            {"role": "system", "content": system},
            {"role": "user", "content": question},
        ]
        assert span["status"] != "error"
        assert span["ingest_warnings"] is None
        if not answer:
            return
        assert span["output"] == question
        assert span["input_tokens"] > 0
        assert span["output_tokens"] > 0
        assert span["total_tokens"] == span["input_tokens"] + span["output_tokens"]
        expected_cost = self.prices.cost(span["model"], span["input_tokens"], span["output_tokens"])
        assert span["cost_usd"] == pytest.approx(expected_cost)

    def reply_message(self, span: dict[str, Any], text: str) -> None:
        """``span``'s output is one assistant message holding ``text``."""
        assert span["output_messages"] == [{"role": "assistant", "content": text}]

    def session(self, span: dict[str, Any]) -> None:
        """``span`` carries the scenario's session and user."""
        assert (span["session_id"], span["user_id"]) == (
            self.scenario["SESSION"],
            self.scenario["USER"],
        )

    @staticmethod
    def child_of(span: dict[str, Any], parent: dict[str, Any]) -> None:
        """``span`` is a direct child of ``parent`` in the same trace."""
        assert span["trace_id"] == parent["trace_id"]
        assert span["parent_span_id"] == parent["span_id"]
        assert parent["parent_span_id"] is None


@pytest.fixture(scope="session")
def expect() -> Expect:
    """Assertions on stored spans in terms of the scenario."""
    return Expect(SCENARIO)


@pytest.fixture(scope="session")
def version() -> Any:
    """``version("package")``: an installed distribution's version, for golden descriptions."""
    return metadata.version
