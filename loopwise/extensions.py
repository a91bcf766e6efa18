"""The extensions a full loopwise collector hosts (evaluation, feedback), assembled here
because the collector itself imports nothing above it."""

from __future__ import annotations

from loopwise.collector.server import Extension


def default_extensions() -> list[Extension]:
    """Every extension shipped with loopwise, in start order."""
    from loopwise.evals import EvalsExtension
    from loopwise.evals.suites.api import SuiteRunsExtension
    from loopwise.feedback import FeedbackExtension

    return [EvalsExtension(), FeedbackExtension(), SuiteRunsExtension()]
