"""``loopwise eval score``: re-scoring stored spans on the file and through a collector."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from loopwise.cli import app
from loopwise.collector.server import CollectorServer
from loopwise.collector.store import Store
from loopwise.demo import demo_client, run_traffic

runner = CliRunner()


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    """A DuckDB file with 30 demo traces, written without a collector."""
    path = tmp_path / "demo.duckdb"
    client = demo_client(db=path)
    run_traffic(client, count=30, time_scale=0, interval_s=0)
    client.shutdown()
    return path


def counts(path: Path, sql: str) -> dict[str, int]:
    with Store(path, read_only=True) as store:
        return {str(k): int(v) for k, v in store.query(sql).rows}


def test_help_lists_score() -> None:
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0 and "score" in result.output


def test_score_on_the_file(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOOPWISE_EVALS", raising=False)
    result = runner.invoke(app, ["eval", "score", "--db", str(demo_db)])
    assert result.exit_code == 0, result.output
    assert "scores added" in result.output and "invented_identifiers" in result.output
    scores = counts(demo_db, "SELECT name, count(*) FROM scores GROUP BY 1")
    assert (
        scores["refusal"]
        == counts(
            demo_db, "SELECT 'n', count(*) FROM spans WHERE kind = 'llm' AND output IS NOT NULL"
        )["n"]
    )
    first_flags = counts(demo_db, "SELECT 'n', count(*) FROM flags")["n"]
    assert first_flags > 0
    directions = counts(demo_db, "SELECT name || ':' || direction, count(*) FROM scores GROUP BY 1")
    assert directions["invented_identifiers:lower"] == scores["invented_identifiers"]
    assert directions["refusal:higher"] == scores["refusal"]
    # A refusal scores 0 and an answer 1: the value agrees with the verdict.
    assert (
        counts(
            demo_db,
            "SELECT 'n', count(*) FROM scores WHERE name = 'refusal' "
            "AND value IS DISTINCT FROM passed::DOUBLE",
        )["n"]
        == 0
    )

    again = runner.invoke(
        app,
        [
            "eval",
            "score",
            "--db",
            str(demo_db),
            "-e",
            "refusal",
            "--kind",
            "llm",
            "--name",
            "draft_*",
            "--since",
            "3650d",
        ],
    )
    assert again.exit_code == 0, again.output
    scores_after = counts(demo_db, "SELECT name, count(*) FROM scores GROUP BY 1")
    replies = counts(
        demo_db, "SELECT 'n', count(*) FROM spans WHERE name = 'draft_reply' AND output IS NOT NULL"
    )["n"]
    assert scores_after["refusal"] == scores["refusal"] + replies  # appended, not replaced
    assert counts(demo_db, "SELECT 'n', count(*) FROM flags")["n"] == first_flags  # same causes


def test_errors_are_one_clear_line(demo_db: Path, tmp_path: Path) -> None:
    cases = [
        (["-e", "nope"], "no evaluator named 'nope'; known:"),
        (["--since", "yesterday-ish"], "--since: not an ISO 8601 time"),
        (["--kind", "robot"], "unknown span kind 'robot'"),
        (["--endpoint", "http://127.0.0.1:9"], "give --endpoint or --db, not both"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["eval", "score", "--db", str(demo_db), *extra])
        assert result.exit_code == 2, result.output
        assert message in result.output
    missing = runner.invoke(app, ["eval", "score", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1 and "no database at" in missing.output
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[[evaluators]]\nuse = 'refusal'\nflag = 'loud'\n")
    result = runner.invoke(
        app, ["eval", "score", "--db", str(demo_db), "--config", str(bad_config)]
    )
    assert result.exit_code == 2 and "severity must be low, medium or high" in result.output


def test_file_owned_by_a_collector_points_to_the_api(demo_db: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "loopwise",
        "collect",
        "--db",
        str(demo_db),
        "--port",
        str(port),
    ]
    env = {**os.environ, "LOOPWISE_SPOOL_DIR": str(tmp_path / "spool")}
    env.pop("LOOPWISE_EVALS", None)
    log = (tmp_path / "collector.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        healthy = False
        while not healthy and time.monotonic() < deadline and process.poll() is None:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.2)
        assert healthy, (tmp_path / "collector.log").read_text()
        result = runner.invoke(app, ["eval", "score", "--db", str(demo_db)])
        assert result.exit_code == 1, result.output
        assert "open in another process" in result.output and "--endpoint URL" in result.output
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_score_through_the_collector(
    demo_db: Path, evals_collector: Callable[..., CollectorServer], tmp_path: Path
) -> None:
    (tmp_path / "served.duckdb").write_bytes(demo_db.read_bytes())
    server = evals_collector(db_name="served.duckdb", online=False)
    result = runner.invoke(
        app, ["eval", "score", "--endpoint", server.url, "-e", "refusal", "-e", "valid_json"]
    )
    assert result.exit_code == 0, result.output
    assert "refusal" in result.output and "valid_json" in result.output
    scores = httpx.get(server.url + "/api/scores", params={"name": "refusal"}).json()
    assert scores["total"] > 0
    assert {s["metadata"].count('"mode": "offline"') for s in scores["scores"]} == {1}
    flags = httpx.get(server.url + "/api/flags", params={"rule": "refusal_failed"}).json()
    assert flags["total"] > 0

    bad = runner.invoke(app, ["eval", "score", "--endpoint", server.url, "-e", "nope"])
    assert bad.exit_code == 1 and "no evaluator named 'nope'" in bad.output
    config = runner.invoke(
        app, ["eval", "score", "--endpoint", server.url, "--config", str(tmp_path / "x.toml")]
    )
    assert config.exit_code == 1 and "own config" in config.output


def test_score_api_validates_its_body(evals_collector: Callable[..., CollectorServer]) -> None:
    server = evals_collector(online=False)
    url = server.url + "/api/evals/score"
    for body, message in (
        ({}, "run_id is required"),
        ({"run_id": "r1", "limit": 0}, "limit must be between 1 and 5000, got 0"),
        ({"run_id": "bad id!"}, "run_id must match"),
        ({"run_id": "r1", "after": "x"}, "after must be an integer"),
        ({"run_id": "r1", "filters": {"since": "later"}}, "since: not an ISO 8601 time"),
        ({"run_id": "r1", "filters": {"colour": "red"}}, "filters.colour is not a field"),
        ({"run_id": "r1", "after": -2}, "after must be at least -1, got -2"),
        ({"run_id": "r1", "evaluators": "refusal"}, "evaluators must be a list"),
        ({"run_id": "r1", "evaluators": ["os:system"]}, "import paths belong in the config"),
    ):
        response = httpx.post(url, json=body)
        assert response.status_code == 400 and message in response.json()["error"], body
    assert httpx.post(url, content=b"not json").status_code == 400
    done = httpx.post(url, json={"run_id": "r1"}).json()
    assert done["done"] and done["spans"] == 0 and done["total"] == 0
