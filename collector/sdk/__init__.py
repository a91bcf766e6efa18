"""The tracing SDK: ``init``, ``@observe``, ``span()``, exporters and testing helpers."""

from .client import DEFAULT_ENDPOINT, Client
from .exporters import LocalStoreExporter, SpoolingExporter
from .handle import SpanHandle
from .live import SpanContext
from .testing import SequentialIdGenerator, TestingExporter, TickingClock

__all__ = [
    "DEFAULT_ENDPOINT",
    "Client",
    "LocalStoreExporter",
    "SequentialIdGenerator",
    "SpanContext",
    "SpanHandle",
    "SpoolingExporter",
    "TestingExporter",
    "TickingClock",
]
