"""The collector process: OTLP/HTTP receiver, JSON API, and the single writer of the store."""

from .app import OTLP_TRACE_PATHS, Collector, create_app
from .config import DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, CollectorConfig
from .decode import BadRequest, decode_traces
from .extensions import Extension
from .langfuse_api import langfuse_routes
from .logs_api import OTLP_LOG_PATHS, decode_logs, logs_routes
from .retention_task import RetentionTask
from .run import BackgroundServer, CollectorServer, serve

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_PORT",
    "OTLP_LOG_PATHS",
    "OTLP_TRACE_PATHS",
    "BackgroundServer",
    "BadRequest",
    "Collector",
    "CollectorConfig",
    "CollectorServer",
    "Extension",
    "RetentionTask",
    "create_app",
    "decode_logs",
    "decode_traces",
    "langfuse_routes",
    "logs_routes",
    "serve",
]
