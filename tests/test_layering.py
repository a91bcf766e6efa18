"""Imports point down the data path: collector imports none of evals, feedback or dashboard;
evals may import collector; feedback may import evals and collector; dashboard may import all.

Every import statement counts (module level, inside functions, under TYPE_CHECKING), read
with ``ast`` from the source folders, so the rule holds however a module is loaded.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Layer → the layers it may import. The façade (loopwise/: CLI, demo, public re-exports)
# sits above all of them and may import anything.
ALLOWED: dict[str, frozenset[str]] = {
    "collector": frozenset({"collector"}),
    "evals": frozenset({"collector", "evals"}),
    "feedback": frozenset({"collector", "evals", "feedback"}),
    "dashboard": frozenset({"collector", "evals", "feedback", "dashboard"}),
}
# From the façade's own module (loopwise/__init__.py) a layer may take only the version.
ROOT_NAMES_ALLOWED = frozenset({"__version__"})


def module_name(root: Path, path: Path) -> str:
    """``loopwise.<layer>...`` for a file of a layer folder (the setuptools mapping)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["loopwise", *parts])


def imported(path: Path, module: str) -> Iterator[tuple[int, str, list[str]]]:
    """``(line, absolute module, names)`` for every import in the file at ``path``."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target, names


def layer_of(target: str, names: list[str]) -> list[str]:
    """The loopwise layers an import reaches; ``loopwise.<other>`` counts as the façade."""
    parts = target.split(".")
    if parts[0] != "loopwise":
        return []
    if len(parts) == 1:  # from loopwise import X: a layer subpackage, or a façade name
        layers = [n for n in names if n in ALLOWED]
        facade = [n for n in names if n not in ALLOWED and n not in ROOT_NAMES_ALLOWED]
        return layers + (["loopwise"] if facade else [])
    return [parts[1] if parts[1] in ALLOWED else "loopwise"]


def violations(root: Path) -> list[str]:
    """Every import in ``root``'s layer folders that points up the data path."""
    found = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((root / layer).rglob("*.py")):
            module = module_name(root, path)
            for line, target, names in imported(path, module):
                for reached in layer_of(target, names):
                    if reached not in allowed:
                        where = f"{path.relative_to(root)}:{line}"
                        found.append(f"{where}: {layer} imports {target} ({reached})")
    return found


KNOWN: set[str] = set()  # no exceptions


def test_imports_point_down_the_data_path() -> None:
    assert [v for v in violations(ROOT) if v not in KNOWN] == []


def test_every_layer_folder_is_checked() -> None:
    for layer in ALLOWED:
        assert (ROOT / layer / "__init__.py").is_file(), layer


@pytest.mark.parametrize(
    ("layer", "source", "reached"),
    [
        ("collector", "from loopwise.evals import evaluator\n", "evals"),
        ("collector", "def f():\n    from ...feedback import act\n", "feedback"),
        (
            "collector",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import loopwise.dashboard\n",
            "dashboard",
        ),
        ("evals", "from ...feedback.errors import FeedbackError\n", "feedback"),
        ("feedback", "from loopwise import dashboard\n", "dashboard"),
        ("evals", "from loopwise.cli import main\n", "loopwise"),
        ("collector", "from ... import default_client\n", "loopwise"),
    ],
)
def test_an_upward_import_is_reported(
    tmp_path: Path, layer: str, source: str, reached: str
) -> None:
    for name in ALLOWED:
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "__init__.py").write_text("")
        (tmp_path / name / "sub" / "__init__.py").write_text("")
    (tmp_path / layer / "sub" / "mod.py").write_text(source)
    (tmp_path / "collector" / "fine.py").write_text(
        "from . import sub\nfrom .. import __version__\nimport json\n"
    )

    [problem] = violations(tmp_path)

    assert problem.startswith(f"{layer}/sub/mod.py:")
    assert problem.endswith(f"({reached})")
