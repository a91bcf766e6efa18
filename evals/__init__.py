"""loopwise.evals: evaluators that score spans and dataset runs, and rules that flag them.

Declare an evaluator::

    from loopwise.evals import Score, SpanView, evaluator

    @evaluator(name="mentions_order", version="1")
    def mentions_order(span: SpanView) -> Score:
        return Score(passed="ORD-" in (span.output or ""))

Built-ins (``loopwise.evals.builtins``) run vectorised over Arrow batches; LLM judges live
in ``loopwise.evals.judge``. Online scoring runs inside the collector (``EvalsExtension``);
``loopwise eval score`` re-scores stored spans offline.
"""

from .clustering import Cluster, Clustering, cluster_all, cluster_project, cluster_texts
from .config import (
    Binding,
    ConfigError,
    EvalsConfig,
    config_from_env,
    config_from_mapping,
    load_config,
)
from .declare import DIRECTIONS, Direction, Evaluator, EvaluatorFactory, evaluator
from .defaults import DEFAULT_SET, default_config
from .extension import EvalsExtension
from .offline import (
    EvaluatorTally,
    RescoreError,
    SpanFilters,
    choose_bindings,
    new_run_id,
    rescore,
    rescore_page,
)
from .persist import store_results
from .queries import flag_clusters, list_flags, list_scores
from .registry import ENTRY_POINT_GROUP, Registry, UnknownEvaluator, default_registry, register
from .rules import AnomalyRule, RuleError, ThresholdRule, rule_from_mapping
from .runner import EvaluationResult, Runtime, evaluate
from .score import BatchScores, Score, ScoreError
from .selectors import Selector, SelectorError, in_sample
from .signatures import EvaluatorDeclarationError
from .source import with_context
from .views import SpanView, TraceView, span_views
from .worker import OnlineWorker

__all__ = [
    "DEFAULT_SET",
    "DIRECTIONS",
    "ENTRY_POINT_GROUP",
    "AnomalyRule",
    "BatchScores",
    "Binding",
    "Cluster",
    "Clustering",
    "ConfigError",
    "Direction",
    "EvalsConfig",
    "EvalsExtension",
    "EvaluationResult",
    "Evaluator",
    "EvaluatorDeclarationError",
    "EvaluatorFactory",
    "EvaluatorTally",
    "OnlineWorker",
    "Registry",
    "RescoreError",
    "RuleError",
    "Runtime",
    "Score",
    "ScoreError",
    "Selector",
    "SelectorError",
    "SpanFilters",
    "SpanView",
    "ThresholdRule",
    "TraceView",
    "UnknownEvaluator",
    "choose_bindings",
    "cluster_all",
    "cluster_project",
    "cluster_texts",
    "config_from_env",
    "config_from_mapping",
    "default_config",
    "default_registry",
    "evaluate",
    "evaluator",
    "flag_clusters",
    "in_sample",
    "list_flags",
    "list_scores",
    "load_config",
    "new_run_id",
    "register",
    "rescore",
    "rescore_page",
    "rule_from_mapping",
    "span_views",
    "store_results",
    "with_context",
]
