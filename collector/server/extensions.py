"""Extensions: how packages above the collector (evals, feedback) add API routes and
background work to the collector process without the collector importing them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from .app import Collector


@runtime_checkable
class Extension(Protocol):
    """Something the collector process hosts: JSON API routes and optional background work.

    ``routes`` is called once while the app is built; ``start`` after the writer starts,
    ``stop`` before the database closes. Both run on the server's threads and must not
    block for long.
    """

    name: str

    def routes(self, collector: Collector) -> list[BaseRoute]:
        """Routes to mount (paths under /api/...)."""
        ...

    def start(self, collector: Collector) -> None:
        """Start background work."""
        ...

    def stop(self) -> None:
        """Stop background work; called before the store closes."""
        ...
