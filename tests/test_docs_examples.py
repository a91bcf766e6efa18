"""The examples the documentation gives run as written: the CI workflow names a suite that
exists, and the README's pytest-plugin example passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# In-process pytester runs drop the modules they imported afterwards; numpy cannot be loaded
# twice in one process, so the evaluation stack is imported here, once, before any run.
import loopwise.evals.suites.single  # noqa: E402, F401

pytest_plugins = ["pytester"]


def test_the_ci_workflow_runs_a_suite_that_exists() -> None:
    workflow = (ROOT / "docs" / "ci" / "github-actions.yml").read_text()
    suites = re.findall(r"loopwise eval run (\S+)", workflow)
    assert suites, "the workflow runs no suite"
    for suite in suites:
        assert (ROOT / suite).is_file(), suite
        text = (ROOT / suite).read_text()
        dataset = re.search(r'dataset="([^"]+)"', text)
        assert dataset and (ROOT / suite).parent.joinpath(dataset.group(1)).resolve().exists()
    # `loopwise eval run` is the server part: a bare `pip install -e .` is the SDK alone.
    installs = re.findall(r"pip install (.+)", workflow)
    assert installs and all(re.search(r"\[(server|all)\]", line) for line in installs), installs


def test_the_readme_plugin_example_passes(pytester: pytest.Pytester) -> None:
    readme = (ROOT / "README.md").read_text()
    [example] = [
        block
        for block in re.findall(r"```python\n(.*?)```", readme, re.S)
        if "loopwise_eval" in block
    ]
    pytester.makepyfile(test_readme=example)
    outcome = pytester.runpytest("-p", "no:cacheprovider", f"--loopwise-results={pytester.path}")
    outcome.assert_outcomes(passed=1)
