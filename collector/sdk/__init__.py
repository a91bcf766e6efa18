"""The tracing SDK: ``init``, ``@observe``, ``span()``, exporters and testing helpers."""

from .client import DEFAULT_ENDPOINT, Client
from .exporters import LocalStoreExporter, SpoolingExporter
from .feedback import (
    CallbackFeedbackSink,
    Delivery,
    FeedbackSender,
    FeedbackSink,
    HttpFeedbackSink,
    LocalFeedbackSink,
)
from .handle import SpanHandle
from .live import SpanContext
from .prompt_template import (
    PROMPT_LABEL,
    PROMPT_NAME,
    PROMPT_SOURCE,
    PROMPT_VARIABLES,
    PROMPT_VERSION,
    Prompt,
    render_template,
    template_variables,
)
from .prompts import PromptFetcher, PromptUnavailable
from .testing import SequentialIdGenerator, TestingExporter, TickingClock

__all__ = [
    "DEFAULT_ENDPOINT",
    "PROMPT_LABEL",
    "PROMPT_NAME",
    "PROMPT_SOURCE",
    "PROMPT_VARIABLES",
    "PROMPT_VERSION",
    "CallbackFeedbackSink",
    "Client",
    "Delivery",
    "FeedbackSender",
    "FeedbackSink",
    "HttpFeedbackSink",
    "LocalFeedbackSink",
    "LocalStoreExporter",
    "Prompt",
    "PromptFetcher",
    "PromptUnavailable",
    "SequentialIdGenerator",
    "SpanContext",
    "SpanHandle",
    "SpoolingExporter",
    "TestingExporter",
    "TickingClock",
    "render_template",
    "template_variables",
]
