"""The evals extension: online scoring and the evaluation API inside the collector process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute

from loopwise.collector.store import Store

from . import api
from .config import EvalsConfig, config_from_env
from .judge import StoreJudgeCache, TracerPool
from .registry import Registry, default_registry
from .runner import Runtime
from .worker import OnlineWorker

if TYPE_CHECKING:
    from loopwise.collector.server import Collector


class EvalsExtension:
    """Hosts the online evaluation worker and the /api/flags, /api/scores and /api/evals
    routes. The config (default: ``LOOPWISE_EVALS`` or the default set) is read when the
    extension is made, so a broken config file stops start-up with its error."""

    name = "evals"

    def __init__(
        self,
        config: EvalsConfig | None = None,
        *,
        registry: Registry | None = None,
        online: bool = True,
    ) -> None:
        self.registry = registry or default_registry()
        self._config = config if config is not None else config_from_env(self.registry)
        self.online = online
        self._collector: Collector | None = None
        self._worker: OnlineWorker | None = None
        self._runtime: Runtime | None = None
        self._tracer: TracerPool | None = None

    def config(self) -> EvalsConfig:
        """The evaluation config in use."""
        return self._config

    def routes(self, collector: Collector) -> list[BaseRoute]:
        """The evaluation API."""
        self._collector = collector
        return api.routes(self)

    def start(self, collector: Collector) -> None:
        """Start the online worker on the collector's store."""
        self._collector = collector
        self._tracer = TracerPool(collector.writer.submit)
        self._runtime = Runtime(
            store=collector.store, tracer=self._tracer, judge_cache=StoreJudgeCache(collector.store)
        )
        if self.online:
            self._worker = OnlineWorker(
                collector.store,
                self._config,
                runtime=self._runtime,
                is_busy=lambda: collector.writer.pending_rows > 0,
            )
            self._worker.start()

    def stop(self) -> None:
        """Stop the worker (finishing its batch) before the store closes."""
        if self._worker is not None:
            self._worker.stop()
        if self._tracer is not None:
            self._tracer.shutdown()

    @property
    def worker(self) -> OnlineWorker | None:
        """The online worker, once started."""
        return self._worker

    def store(self) -> Store:
        """The collector's store."""
        if self._collector is None:
            raise RuntimeError("the evals extension is not attached to a collector")
        return self._collector.store

    def runtime(self) -> Runtime:
        """What evaluators run with inside the collector."""
        if self._runtime is None:
            return Runtime(store=self.store())
        return self._runtime

    def status(self) -> dict[str, Any]:
        """The online worker's status (or the config's when the worker is off)."""
        if self._worker is not None:
            return self._worker.status()
        idle = OnlineWorker(self.store(), self._config)
        return {**idle.status(), "running": False}
