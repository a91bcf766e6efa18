"""The SDK stays light: an application that imports loopwise and traces to a collector loads
none of the analysis stack (DuckDB, pyarrow, pandas, Streamlit, scikit-learn, Plotly).

Each check runs in a fresh interpreter, since this test process has loaded them all already.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "pyarrow", "duckdb", "streamlit", "sklearn", "plotly")
LAZY_PACKAGES = (
    "loopwise",
    "loopwise.collector.sdk",
    "loopwise.collector.semconv",
    "loopwise.collector.store",
)


def run_python(code: str, cwd: Path) -> dict[str, object]:
    """Run ``code`` in a new interpreter; it ends by printing one JSON object."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


REPORT = f"""
import json, sys
print(json.dumps({{
    "heavy": [m for m in {HEAVY!r} if m in sys.modules],
    "stored": stored,
}}))
"""


def test_remote_mode_loads_none_of_the_analysis_stack(
    collector_server, api, unique_project: str, tmp_path: Path
) -> None:
    code = (
        f"""
import loopwise

loopwise.init({unique_project!r}, endpoint={collector_server.url!r}, spool_dir={str(tmp_path)!r})


@loopwise.observe(kind="llm")
def answer(question: str) -> str:
    with loopwise.span("retrieve", kind="retriever") as s:
        s.set_output(["doc"])
    return question.upper()


with loopwise.span("request") as root:
    answer("hi")
    trace_id = loopwise.current_span().trace_id
loopwise.user_feedback(trace_id, "thumbs", True)
stored = loopwise.flush()
"""
        + REPORT
    )
    result = run_python(code, tmp_path)

    assert result == {"heavy": [], "stored": True}
    rows = api.sql(f"SELECT name FROM spans WHERE project = '{unique_project}' ORDER BY name")
    assert [row["name"] for row in rows] == ["answer", "request", "retrieve"]
    [score] = api.sql(f"SELECT name, source, passed FROM scores WHERE project = '{unique_project}'")
    assert score == {"name": "thumbs", "source": "end_user", "passed": True}


def test_importing_every_sdk_name_loads_none_of_the_analysis_stack(tmp_path: Path) -> None:
    code = (
        "import loopwise\n"
        "import loopwise.collector.sdk as sdk\n"
        "stored = [n for n in sdk.__all__ if getattr(sdk, n, None) is None]\n"
        # loopwise.feedback is the review package (the analysis side), not an SDK name.
        "names = [n for n in loopwise.__all__ if n != 'feedback']\n"
        "stored += [n for n in names if getattr(loopwise, n, None) is None]\n"
    ) + REPORT
    assert run_python(code, tmp_path) == {"heavy": [], "stored": []}


def test_local_mode_loads_duckdb_when_it_writes(tmp_path: Path) -> None:
    db = tmp_path / "local.duckdb"
    code = (
        f"""
import loopwise

loopwise.init("local", db={str(db)!r})


@loopwise.observe()
def step() -> int:
    return 1


step()
loopwise.flush()
import duckdb

with duckdb.connect({str(db)!r}, read_only=True) as con:
    stored = con.execute("SELECT name FROM spans").fetchall()
"""
        + REPORT
    )
    result = run_python(code, tmp_path)

    assert result["stored"] == [["step"]]
    assert "duckdb" in result["heavy"]  # type: ignore[operator]


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_of_a_lazy_package_resolves(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]

    assert missing == []
    assert set(module.__all__) <= set(dir(module))


def test_the_version_is_the_installed_distributions(api) -> None:
    from importlib import metadata

    import loopwise

    version = metadata.version("loopwise")
    assert loopwise.__version__ == version
    assert api.http.get("/health").json()["version"] == version


# Blocks every module of the optional parts, as a `pip install loopwise` without extras has
# none of them; the SDK must still trace, and the command line must say what to install.
WITHOUT_EXTRAS = """
import sys
from loopwise.collector.extras import DASHBOARD_MODULES, SERVER_MODULES

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in SERVER_MODULES | DASHBOARD_MODULES:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
"""


def test_the_sdk_needs_no_extra_and_the_cli_names_the_missing_one(
    collector_server, api, unique_project: str, tmp_path: Path
) -> None:
    code = WITHOUT_EXTRAS + (
        f"""
import loopwise

loopwise.init({unique_project!r}, endpoint={collector_server.url!r}, spool_dir={str(tmp_path)!r})


@loopwise.observe()
def step() -> int:
    return 1


step()
loopwise.flush()
try:
    loopwise.init("local", db={str(tmp_path / "x.duckdb")!r})
    local = "started"
except ModuleNotFoundError as error:
    local = str(error)
sys.argv = ["loopwise", "--help"]
try:
    from loopwise.console import main
    main()
    exit_code = 0
except SystemExit as stop:
    exit_code = stop.code
import json
print(json.dumps({{"local": local, "exit": exit_code}}))
"""
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "pip install 'loopwise[server]'" in result["local"]
    assert result["exit"] == 1
    assert "the loopwise command line needs loopwise's server part" in done.stderr
    assert api.sql(f"SELECT name FROM spans WHERE project = '{unique_project}'") == [
        {"name": "step"}
    ]


def test_the_base_install_declares_none_of_the_analysis_stack() -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    base = {
        r.split(">")[0].split("[")[0].strip().lower() for r in project["project"]["dependencies"]
    }
    assert not base & {"duckdb", "pandas", "pyarrow", "streamlit", "scikit-learn", "plotly"}
    assert "loopwise[all]" in project["project"]["optional-dependencies"]["test"]


def test_pytest_runs_with_the_base_install_and_the_fixture_names_its_extra(
    tmp_path: Path,
) -> None:
    """The plugin is registered for every pytest run in an environment with loopwise: an
    application's own tests must run with `pip install loopwise` alone."""
    tests = tmp_path / "app_tests"
    tests.mkdir()
    (tests / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
    (tests / "test_scored.py").write_text(
        "def test_scored(loopwise_eval):\n    loopwise_eval.assert_score('valid_json', '{}')\n"
    )
    # A base install has no other distribution's pytest plugins (this environment's test extra
    # brings some that need the blocked modules), so only loopwise's own is left loaded.
    code = WITHOUT_EXTRAS + (
        "from importlib.metadata import entry_points\n"
        "others = [a for e in entry_points(group='pytest11') if e.dist is None"
        " or e.dist.name != 'loopwise' for a in ('-p', 'no:' + e.name)]\n"
        "import pytest\n"
        f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', *others, {str(tests)!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert "1 passed, 1 error" in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stdout
    assert "the loopwise_eval fixture needs loopwise's server part" in done.stdout
    assert "pip install 'loopwise[server]'" in done.stdout
