"""The LLM judge: templates, an OpenAI-compatible client with retries, a tolerant reply
parser, a verdict cache, and evaluator spans for the judge's own calls.

Importing this package registers ``correctness_judge``, ``faithfulness_judge``,
``relevance_judge``, ``helpfulness_judge`` and ``toxicity_judge``.
"""

from ..registry import register
from .cache import CachedVerdict, JudgeCache, MemoryJudgeCache, StoreJudgeCache, cache_key
from .client import Completion, JudgeCallError, JudgeClient, retry_after
from .evaluator import JUDGES, LLMJudge, judge
from .parse import JudgeReplyError, Verdict, extract_object, parse_verdict
from .settings import JudgeConfigError, JudgeSettings
from .templates import TEMPLATES, JudgeTemplate
from .tracing import SinkExporter, TracerPool

for _factory in JUDGES.values():
    register(_factory)

__all__ = [
    "JUDGES",
    "TEMPLATES",
    "CachedVerdict",
    "Completion",
    "JudgeCache",
    "JudgeCallError",
    "JudgeClient",
    "JudgeConfigError",
    "JudgeReplyError",
    "JudgeSettings",
    "JudgeTemplate",
    "LLMJudge",
    "MemoryJudgeCache",
    "SinkExporter",
    "StoreJudgeCache",
    "TracerPool",
    "Verdict",
    "cache_key",
    "extract_object",
    "judge",
    "parse_verdict",
    "retry_after",
]
