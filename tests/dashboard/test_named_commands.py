"""Every ``loopwise`` command a dashboard page names (empty states, hints, errors) exists
with the options it is shown with; the Datasets page's empty state shows one."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from loopwise.cli import app
from loopwise.dashboard import app_path

ReviewCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
OpenPage = Callable[..., AppTest]
COMMAND = re.compile(r"`(loopwise [^`]+)`")
runner = CliRunner()


def named_commands(text: str) -> list[str]:
    """The backticked ``loopwise ...`` commands in ``text``."""
    return COMMAND.findall(text)


def dashboard_commands() -> list[str]:
    """Every command named in the dashboard's page modules."""
    found: list[str] = []
    for module in sorted(app_path().parent.glob("*.py")):
        found += named_commands(Path(module).read_text())
    return sorted(set(found))


def check_command(command: str) -> None:
    """``command``'s sub-commands exist and take the options it names (placeholders such
    as NAME are arguments)."""
    words = command.split()[1:]
    path = [w for w in words if not w.startswith("-") and not w.isupper()]
    options = [w for w in words if w.startswith("--")]
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, f"`{command}`: {result.output[-500:]}"
    assert "Usage: " in result.output and f" {' '.join(path)} " in result.output
    for option in options:
        assert option in result.output, f"`{command}`: no option {option}"


def test_the_pages_name_commands() -> None:
    assert "loopwise dataset create NAME --from-corrections" in dashboard_commands()
    assert len(dashboard_commands()) >= 4


@pytest.mark.parametrize("command", dashboard_commands())
def test_every_named_command_exists(command: str) -> None:
    check_command(command)


def test_a_missing_command_is_caught() -> None:
    with pytest.raises(AssertionError):
        check_command("loopwise datasets")


def test_no_datasets_names_a_command_that_exists(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("datasets", review_collector.url)
    [info] = at.info
    commands = named_commands(info.value)
    assert commands == [
        "loopwise dataset create NAME --from-corrections",
        "loopwise dataset import",
    ]
    for command in commands:
        check_command(command)
