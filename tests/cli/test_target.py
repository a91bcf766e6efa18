"""One target resolution for every command that acts on the store: --endpoint, --db and
--api-key, after the command or before it in a sub-app, the command line over the
environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from loopwise.cli import app
from loopwise.cli.target import TargetTyper, current_target, targeted
from loopwise.collector.server import CollectorServer

from .conftest import free_port

runner = CliRunner()
COUNT = "select count(*) n from spans"


def _count(result_stdout: str) -> int:
    count: int = json.loads(result_stdout)[0]["n"]
    return count


def test_sub_app_takes_the_target_before_or_after_the_command(seeded_db: Path) -> None:
    for args in (
        ["review", "--db", str(seeded_db), "list", "--all", "-f", "json"],
        ["review", "list", "--all", "-f", "json", "--db", str(seeded_db)],
        ["audit", "--db", str(seeded_db), "list", "-f", "json"],
        ["dataset", "--db", str(seeded_db), "list", "-f", "json"],
        ["prompt", "list", "--db", str(seeded_db), "-f", "json"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert isinstance(json.loads(result.stdout), list), args


def test_the_command_line_wins_over_the_environment(
    seeded_db: Path, collector: CollectorServer, tmp_path: Path
) -> None:
    through_api = runner.invoke(
        app,
        ["sql", "-f", "json", "--endpoint", collector.url, COUNT],
        env={"LOOPWISE_DB": str(tmp_path / "elsewhere.duckdb")},
    )
    assert through_api.exit_code == 0, through_api.output
    assert _count(through_api.stdout) == 4

    on_file = runner.invoke(
        app,
        ["sql", "-f", "json", "--db", str(seeded_db), COUNT],
        env={"LOOPWISE_ENDPOINT": f"http://127.0.0.1:{free_port()}"},
    )
    assert on_file.exit_code == 0, on_file.output
    assert _count(on_file.stdout) == 4


def test_the_environment_alone_is_honoured(seeded_db: Path, collector: CollectorServer) -> None:
    from_env = runner.invoke(app, ["sql", "-f", "json", COUNT], env={"LOOPWISE_DB": str(seeded_db)})
    assert from_env.exit_code == 0, from_env.output
    assert _count(from_env.stdout) == 4
    # Both set in the environment: the endpoint, since a running collector owns its file.
    both = runner.invoke(
        app,
        ["sql", "-f", "json", COUNT],
        env={"LOOPWISE_DB": str(collector.config.db_path), "LOOPWISE_ENDPOINT": collector.url},
    )
    assert both.exit_code == 0, both.output
    assert _count(both.stdout) == 4


def test_both_on_the_command_line_is_refused_wherever_they_are_given(seeded_db: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    for args in (
        ["sql", "--db", str(seeded_db), "--endpoint", endpoint, COUNT],
        ["review", "--endpoint", endpoint, "list", "--db", str(seeded_db)],
        ["delete", "--project", "p", "--db", str(seeded_db), "--endpoint", endpoint],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "give --endpoint or --db, not both" in result.output
    unchanged = runner.invoke(app, ["sql", "-f", "json", "--db", str(seeded_db), COUNT])
    assert _count(unchanged.stdout) == 4


def test_the_command_overrides_its_sub_app(seeded_db: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.duckdb"
    result = runner.invoke(
        app, ["audit", "--db", str(missing), "list", "--db", str(seeded_db), "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    assert not missing.exists()


def test_api_key_reaches_the_collector(tmp_path: Path) -> None:
    from loopwise.collector.server import CollectorConfig

    config = CollectorConfig(db_path=tmp_path / "keyed.duckdb", port=0, api_key="s3cret")
    with CollectorServer(config) as server:
        refused = runner.invoke(app, ["sql", "--endpoint", server.url, COUNT])
        assert refused.exit_code == 1
        assert "401" in refused.stderr or "key" in refused.stderr.lower()
        by_option = runner.invoke(
            app, ["audit", "--endpoint", server.url, "--api-key", "s3cret", "list", "-f", "json"]
        )
        assert by_option.exit_code == 0, by_option.output
        from_env = runner.invoke(
            app,
            ["sql", "-f", "json", "--endpoint", server.url, COUNT],
            env={"LOOPWISE_API_KEY": "s3cret"},
        )
        assert from_env.exit_code == 0, from_env.output
        assert _count(from_env.stdout) == 0


def test_keys_need_an_explicit_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["keys", "list"], env={"LOOPWISE_DB": "", "LOOPWISE_ENDPOINT": ""})
    assert result.exit_code == 2
    assert "give --db PATH" in result.output
    assert not (tmp_path / ".loopwise").exists()


def test_targeted_commands_and_their_outside() -> None:
    seen: list[object] = []
    sub = TargetTyper(no_args_is_help=True)

    @sub.command("where")
    def where(flag: bool = False) -> None:
        seen.append((current_target(probe=False), flag))

    result = runner.invoke(sub, ["--db", "a.duckdb", "where", "--flag"])
    assert result.exit_code == 0, result.output
    target, flag = seen[0]  # type: ignore[misc]
    assert target.db == Path("a.duckdb") and target.endpoint is None and flag is True

    with pytest.raises(RuntimeError):
        current_target()

    def clashing(endpoint: str = "") -> None:
        """Declares --endpoint itself."""

    with pytest.raises(TypeError):
        targeted(clashing)
    assert isinstance(sub, typer.Typer)
