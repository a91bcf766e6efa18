"""Every command documents itself, and usage errors are one line with a non-zero exit."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from loopwise.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("up", ["--demo", "--db", "--host", "--port", "--dashboard-port", "--api-key"]),
        ("collect", ["--db", "--host", "--port", "--api-key"]),
        ("demo", ["--endpoint", "--db", "--count", "--seed", "--interval"]),
        ("sql", ["--endpoint", "--db", "--format", "table|csv|json"]),
    ],
)
def test_help_lists_every_option(command: str, expected: list[str]) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in expected:
        assert option in result.stdout, option


def test_collect_refuses_public_interface_without_key(tmp_path: object) -> None:
    result = runner.invoke(app, ["collect", "--host", "0.0.0.0", "--db", f"{tmp_path}/x.duckdb"])
    assert result.exit_code == 1
    assert "API key" in result.stderr


def test_unknown_format_is_a_usage_error() -> None:
    result = runner.invoke(app, ["sql", "--format", "xml", "select 1"])
    assert result.exit_code == 2
