"""Declaring a suite: a Python file with a ``Suite`` — dataset, target, evaluators,
thresholds — and loading that file."""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..declare import Evaluator
from ..registry import Registry, UnknownEvaluator, default_registry

Target = Callable[[Any], Any]


class SuiteError(Exception):
    """The suite cannot run as declared (bad file, missing dataset, wrong options)."""


@dataclass(frozen=True)
class PassRate:
    """The evaluator's pass rate (errors count as failures) must be at least ``at_least``.

    ``on="estimate"`` compares the point estimate; ``on="lower"`` demands the lower end
    of the confidence interval clear the bar (strict, for large suites).
    """

    evaluator: str
    at_least: float
    on: str = "estimate"

    def describe(self) -> str:
        """One line for reports."""
        return f"{self.evaluator} pass rate ≥ {self.at_least:g}"


@dataclass(frozen=True)
class MeanScore:
    """The evaluator's mean value must be at least ``at_least`` (an evaluator where higher
    is better) or at most ``at_most`` (lower is better: a latency, a count of leaks); give
    exactly one, the one that matches the evaluator's direction. ``on="lower"`` compares
    the pessimistic end of the interval (the upper end for ``at_most``)."""

    evaluator: str
    at_least: float | None = None
    on: str = "estimate"
    at_most: float | None = None

    def describe(self) -> str:
        """One line for reports."""
        if self.at_most is not None:
            return f"{self.evaluator} mean ≤ {self.at_most:g}"
        if self.at_least is not None:
            return f"{self.evaluator} mean ≥ {self.at_least:g}"
        return f"{self.evaluator} mean (no bound)"

    def check(self, direction: str) -> str | None:
        """Why this threshold cannot hold for an evaluator with ``direction``, or None."""
        if (self.at_least is None) == (self.at_most is None):
            return "give exactly one of at_least= and at_most="
        if direction == "lower" and self.at_least is not None:
            return "lower values are better for this evaluator: write at_most="
        if direction == "higher" and self.at_most is not None:
            return "higher values are better for this evaluator: write at_least="
        return None


@dataclass(frozen=True)
class NoSignificantRegression:
    """Against the baseline, the evaluator must not get worse by more than ``margin`` with
    statistical significance (paired test at ``alpha``): its mean value read the way its
    direction says (a rise in latency is worse), or its pass rate when its value has no
    better side. Holds when there is no baseline."""

    evaluator: str
    alpha: float = 0.05
    margin: float = 0.0

    def describe(self) -> str:
        """One line for reports."""
        return f"no significant regression in {self.evaluator}"


Threshold = PassRate | MeanScore | NoSignificantRegression


@dataclass
class Suite:
    """What to run and how to judge it.

    ``dataset``: ``name[@version]`` of a stored dataset, or a path (relative to the suite
    file) to a ``datasets/<name>`` folder or a JSONL file. ``target`` is the workflow
    (sync or async, called with the example's input); leave it out and give ``outputs``
    (a JSONL of ``{"example_id", "output"}``) to score recorded outputs. ``evaluators`` are
    declared evaluators or registry names.
    """

    name: str
    dataset: str
    evaluators: Sequence[Evaluator | str]
    target: Target | None = None
    outputs: str | None = None
    thresholds: Sequence[Threshold] = ()
    repeat: int = 1
    concurrency: int = 4
    target_version: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    source_path: Path | None = None

    def check(self) -> None:
        """Fail with a clear SuiteError on an impossible declaration."""
        if not self.name or not isinstance(self.name, str):
            raise SuiteError("the suite needs a name")
        if (self.target is None) == (self.outputs is None):
            raise SuiteError(f"suite {self.name!r}: give exactly one of target= or outputs=")
        if self.target is not None and not callable(self.target):
            raise SuiteError(f"suite {self.name!r}: target must be callable")
        if not self.evaluators:
            raise SuiteError(f"suite {self.name!r}: no evaluators")
        resolved = self.resolved_evaluators()
        if self.repeat < 1 or self.concurrency < 1:
            raise SuiteError(f"suite {self.name!r}: repeat and concurrency must be ≥ 1")
        directions = {e.name: e.direction for e in resolved}
        for threshold in self.thresholds:
            if threshold.evaluator not in directions:
                raise SuiteError(
                    f"suite {self.name!r}: threshold on {threshold.evaluator!r}, "
                    f"which is not among its evaluators ({', '.join(sorted(directions))})"
                )
            if isinstance(threshold, MeanScore):
                problem = threshold.check(directions[threshold.evaluator])
                if problem:
                    raise SuiteError(f"suite {self.name!r}: {threshold.describe()}: {problem}")

    def resolved_evaluators(self, registry: Registry | None = None) -> list[Evaluator]:
        """The evaluators, names looked up in the registry (SuiteError when unknown)."""
        registry = registry or default_registry()
        resolved = []
        for item in self.evaluators:
            if isinstance(item, Evaluator):
                resolved.append(item)
                continue
            try:
                resolved.append(registry.create(item))
            except (UnknownEvaluator, TypeError, ValueError) as exc:
                raise SuiteError(f"suite {self.name!r}: evaluator {item!r}: {exc}") from None
        return resolved

    def target_identity(self) -> str:
        """What identifies the target's behaviour for the output cache: the declared
        ``target_version``, else its qualified name and source code."""
        if self.target_version:
            return self.target_version
        target = self.target
        if target is None:
            return f"outputs:{self.outputs}"
        try:
            source = inspect.getsource(target)
        except (OSError, TypeError):
            source = ""
        return f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}:{source}"


def load_suite(path: str | Path) -> Suite:
    """Import a suite file and return its ``Suite`` (a module-level ``suite``, or the only
    Suite defined there)."""
    file = Path(path)
    if not file.is_file():
        raise SuiteError(f"no suite file at {file}")
    module_name = f"loopwise_suite_{abs(hash(file.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise SuiteError(f"{file} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(file.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1]
        raise SuiteError(
            f"{file} does not import: {type(exc).__name__}: {exc} "
            f"({Path(last.filename).name}:{last.lineno})"
        ) from None
    finally:
        sys.path.remove(str(file.parent.resolve()))
    found = getattr(module, "suite", None)
    if not isinstance(found, Suite):
        suites = [v for v in vars(module).values() if isinstance(v, Suite)]
        if len(suites) != 1:
            raise SuiteError(f"{file} must define one Suite (as `suite`), found {len(suites)}")
        found = suites[0]
    found.source_path = file.resolve()
    found.check()
    return found
