"""``loopwise eval run`` end to end: a suite file, a dataset file, a real target traced by
the SDK, real evaluators; exit codes, reports, cache, baselines and recording."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from loopwise.cli.eval_run import run
from loopwise.collector.store import Store

runner = CliRunner()
app = typer.Typer()
app.command()(run)


@app.callback()
def _group() -> None:
    """Keep ``run`` a named sub-command, as under ``loopwise eval``."""


QUESTIONS = {f"q{i}": f"answer {i}" for i in range(12)}


def write_dataset(folder: Path) -> Path:
    path = folder / "questions.jsonl"
    lines = [
        json.dumps({"example_id": k, "input": {"question": k}, "expected": v})
        for k, v in QUESTIONS.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_suite(
    folder: Path,
    *,
    wrong: tuple[str, ...] = (),
    raises: tuple[str, ...] = (),
    body: str = "",
    thresholds: str = 'PassRate("exact_match", at_least=0.5)',
    is_async: bool = False,
) -> Path:
    """A suite whose target answers right except for ``wrong`` and raises on ``raises``;
    every call appends to calls.log so tests can count target calls."""
    suite = folder / "suite.py"
    answers = json.dumps(QUESTIONS)
    suite.write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            from loopwise.evals.suites import Suite, PassRate, MeanScore, NoSignificantRegression

            ANSWERS = {answers}
            CALLS = Path(__file__).with_name("calls.log")

            {"async " if is_async else ""}def answer(example_input):
                question = example_input["question"]
                with CALLS.open("a") as log:
                    log.write(question + "\\n")
                if question in {raises!r}:
                    raise RuntimeError("model unavailable for " + question)
                if question in {wrong!r}:
                    return "I am not sure"
                return ANSWERS[question]
            {body}
            suite = Suite(
                name="qa",
                dataset="questions.jsonl",
                target=answer,
                evaluators=["exact_match"],
                thresholds=[{thresholds}],
                concurrency=3,
            )
            """
        )
    )
    return suite


def calls(folder: Path) -> int:
    log = folder / "calls.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def invoke(folder: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "run",
            str(folder / "suite.py"),
            "--results-dir",
            str(folder / "runs"),
            "--cache",
            str(folder / "cache.duckdb"),
            *args,
        ],
    )
    return result.exit_code, result.output


def test_passing_suite_writes_every_report(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    write_suite(tmp_path, wrong=("q3",), raises=("q7",))
    code, output = invoke(
        tmp_path,
        "--junit",
        str(tmp_path / "out/junit.xml"),
        "--markdown",
        str(tmp_path / "out/report.md"),
        "--json",
        str(tmp_path / "out/report.json"),
    )
    assert code == 0, output
    assert "PASSED" in output and "1 target error(s)" in output
    report = json.loads((tmp_path / "out/report.json").read_text())
    by_id = {e["example_id"]: e for e in report["examples"]}
    assert by_id["q0"]["scores"]["exact_match"]["passed"] is True
    assert by_id["q3"]["scores"]["exact_match"]["passed"] is False
    assert by_id["q7"]["error"].startswith("RuntimeError: model unavailable")
    assert by_id["q7"]["scores"]["exact_match"]["errored"] is True
    assert all(len(e["trace_id"]) == 32 for e in report["examples"])
    # 10 of 12 pass: the errored example counts against the pass rate.
    assert report["summaries"][0]["pass_rate"]["estimate"] == pytest.approx(10 / 12)
    junit = ET.parse(tmp_path / "out/junit.xml").getroot().find("testsuite")
    assert junit is not None and junit.get("tests") == "13"
    assert (junit.get("failures"), junit.get("errors")) == ("1", "1")
    assert "✅ passed" in (tmp_path / "out/report.md").read_text()


def test_failing_threshold_exits_one(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    write_suite(tmp_path, wrong=("q1", "q2", "q3"), thresholds='PassRate("exact_match", 0.9)')
    code, output = invoke(tmp_path)
    assert code == 1, output
    assert "FAILED" in output and "pass rate estimate 0.750 < 0.9" in output


def test_async_target(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    write_suite(tmp_path, is_async=True)
    code, output = invoke(tmp_path, "--repeat", "2")
    assert code == 0, output
    assert calls(tmp_path) == 24


def test_unchanged_rerun_reuses_outputs_and_no_cache_refreshes(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    write_suite(tmp_path)
    assert invoke(tmp_path)[0] == 0
    assert calls(tmp_path) == 12
    assert invoke(tmp_path, "--json", str(tmp_path / "again.json"))[0] == 0
    assert calls(tmp_path) == 12
    assert all(e["cached"] for e in json.loads((tmp_path / "again.json").read_text())["examples"])
    assert invoke(tmp_path, "--no-cache")[0] == 0
    assert calls(tmp_path) == 24


def test_baseline_tells_regression_from_noise(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    gate = 'PassRate("exact_match", 0.1), NoSignificantRegression("exact_match")'
    write_suite(tmp_path, thresholds=gate)
    assert invoke(tmp_path)[0] == 0

    write_suite(tmp_path, wrong=("q4",), thresholds=gate)
    code, output = invoke(tmp_path, "--baseline", "last", "--json", str(tmp_path / "noise.json"))
    assert code == 0, output
    noise = json.loads((tmp_path / "noise.json").read_text())
    assert [c["example_id"] for c in noise["comparison"]["newly_failing"]] == ["q4"]

    write_suite(tmp_path, wrong=tuple(f"q{i}" for i in range(8)), thresholds=gate)
    code, output = invoke(tmp_path, "--baseline", "last", "--markdown", str(tmp_path / "r.md"))
    assert code == 1, output
    assert "no significant regression in exact_match: significantly worse" in output
    assert "Newly failing" in (tmp_path / "r.md").read_text()


def test_runs_and_traces_recorded_in_the_database(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    write_suite(tmp_path)
    db = tmp_path / "loopwise.duckdb"
    assert invoke(tmp_path, "--db", str(db))[0] == 0
    with Store(db, read_only=True) as store:
        [(suite, passed, report)] = store.query("SELECT suite, passed, report FROM eval_runs").rows
        roots = store.query(
            "SELECT count(*) FROM spans WHERE project = 'evals' AND parent_span_id IS NULL"
        ).rows
    assert (suite, passed) == ("qa", True)
    assert len(json.loads(report)["examples"]) == 12
    assert roots == [(12,)]
    # A baseline by run id, from the same database.
    run_id = json.loads(report)["run_id"]
    code, output = invoke(tmp_path, "--db", str(db), "--baseline", run_id)
    assert code == 0, output


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("broken", "does not import: NameError"),
        ("no_dataset", "no dataset folder or file"),
        ("unknown_evaluator", "evaluator 'no_such_evaluator'"),
        ("bad_threshold", "threshold on 'nope'"),
    ],
)
def test_configuration_errors_exit_two(tmp_path: Path, setup: str, message: str) -> None:
    write_dataset(tmp_path)
    suite = write_suite(tmp_path)
    text = suite.read_text()
    if setup == "broken":
        suite.write_text(text + "\nundefined_name\n")
    elif setup == "no_dataset":
        suite.write_text(text.replace("questions.jsonl", "missing/questions"))
    elif setup == "unknown_evaluator":
        suite.write_text(text.replace('["exact_match"]', '["no_such_evaluator"]'))
    else:
        suite.write_text(text.replace('PassRate("exact_match"', 'PassRate("nope"'))
    code, output = invoke(tmp_path)
    assert code == 2, output
    assert message in output
    assert "Traceback" not in output


def test_missing_baseline_is_a_usage_error(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    write_suite(tmp_path)
    code, output = invoke(tmp_path, "--baseline", "last")
    assert code == 2
    assert "no earlier run of 'qa'" in output


def test_runs_recorded_through_the_collector_api(tmp_path: Path) -> None:
    from loopwise.collector.server import CollectorConfig, CollectorServer
    from loopwise.evals.suites.api import SuiteRunsExtension

    write_dataset(tmp_path)
    write_suite(tmp_path)
    config = CollectorConfig(db_path=tmp_path / "served.duckdb", port=0)
    with CollectorServer(config, extensions=[SuiteRunsExtension()]) as server:
        assert invoke(tmp_path, "--endpoint", server.url)[0] == 0
        code, output = invoke(tmp_path, "--endpoint", server.url, "--baseline", "last")
        assert code == 0, output
        import httpx

        runs = httpx.get(server.url + "/api/eval-runs", params={"suite": "qa"}).json()["runs"]
        assert len(runs) == 2 and all(r["passed"] for r in runs)
        report = httpx.get(f"{server.url}/api/eval-runs/{runs[0]['run_id']}").json()
        assert report["comparison"]["baseline_run_id"] == runs[1]["run_id"]
        assert httpx.post(server.url + "/api/eval-runs", json=report).status_code == 409
        assert httpx.post(server.url + "/api/eval-runs", json={"suite": "x"}).status_code == 400
        assert httpx.get(server.url + "/api/eval-runs/nope").status_code == 404
        # Out of range is refused with the bounds, as on every route, never clamped.
        for query in ({"limit": "0"}, {"limit": "501"}, {"offset": "-1"}, {"limit": "x"}):
            refused = httpx.get(server.url + "/api/eval-runs", params=query)
            assert refused.status_code == 400, query
            assert "must be" in refused.json()["error"]
        spans = httpx.post(
            server.url + "/api/sql",
            json={"sql": "select count(*) from spans where project = 'evals'"},
        ).json()["rows"][0][0]
        assert spans >= 12


def test_suite_spans_reach_a_collector_that_needs_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's spans carry LOOPWISE_API_KEY like its recorded run (they were refused once)."""
    import httpx

    from loopwise.collector.server import CollectorConfig, CollectorServer
    from loopwise.evals.suites.api import SuiteRunsExtension

    write_dataset(tmp_path)
    write_suite(tmp_path)
    monkeypatch.setenv("LOOPWISE_API_KEY", "suite-key")
    config = CollectorConfig(db_path=tmp_path / "keyed.duckdb", port=0, api_key="suite-key")
    with CollectorServer(config, extensions=[SuiteRunsExtension()]) as server:
        code, output = invoke(tmp_path, "--endpoint", server.url)
        assert code == 0, output
        spans = httpx.post(
            server.url + "/api/sql",
            json={"sql": "select count(*) from spans where project = 'evals'"},
            headers={"Authorization": "Bearer suite-key"},
        ).json()["rows"][0][0]
    assert spans >= 6
