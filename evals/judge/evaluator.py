"""LLM-judge evaluators: one per template, each an async, class-based ``@evaluator``.

A verdict becomes a Score (label, score, explanation; passed when the label is one of the
template's passing labels). A failed call or an unreadable reply becomes an errored score
(status ``errored``, ``passed`` None), never a pass. Verdicts are cached by template,
version, model and prompt; every real call is recorded as an ``evaluator`` span with its
tokens and cost when a tracer is available.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

from ..declare import Evaluator, EvaluatorFactory, evaluator
from ..score import Score
from ..views import SpanView
from .cache import CachedVerdict, JudgeCache, StoreJudgeCache, cache_key
from .client import Completion, JudgeCallError, JudgeClient, Sleep
from .parse import JudgeReplyError, parse_verdict
from .settings import JudgeSettings
from .templates import TEMPLATES, JudgeTemplate


class LLMJudge:
    """Judges spans with one template against an OpenAI-compatible model."""

    def __init__(
        self,
        template: JudgeTemplate,
        settings: JudgeSettings,
        *,
        cache: JudgeCache | None = None,
        tracer: Callable[[str], Any] | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.template = template
        self.settings = settings
        self.client = JudgeClient(settings, sleep=sleep)
        self.cache = cache
        self.tracer = tracer
        self.calls = 0

    @property
    def evaluator_name(self) -> str:
        """The name scores of this judge carry."""
        return f"{self.template.name}_judge"

    def setup(self, runtime: Any) -> None:
        """Take the runtime's cache and tracer unless given explicitly."""
        if self.cache is None:
            if getattr(runtime, "judge_cache", None) is not None:
                self.cache = runtime.judge_cache
            elif getattr(runtime, "store", None) is not None:
                self.cache = StoreJudgeCache(runtime.store)
        if self.tracer is None and getattr(runtime, "tracer", None) is not None:
            self.tracer = runtime.tracer

    async def aclose(self) -> None:
        """Close HTTP connections and persist cached verdicts."""
        await self.client.aclose()
        if self.cache is not None:
            self.cache.flush()

    async def evaluate(self, span: SpanView) -> Score | None:
        """The verdict on ``span`` (None when it lacks what the template needs)."""
        template = self.template
        messages = template.render(span)
        if messages is None:
            return None
        key = cache_key(self.evaluator_name, template.version, self.settings.model, messages)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            return _score(cached, cached=True)
        try:
            completion = await self._call(span, messages)
        except JudgeCallError as exc:
            return Score.errored(str(exc), metadata={"model": self.settings.model})
        try:
            verdict = parse_verdict(completion.text, template)
        except JudgeReplyError as exc:
            return Score.errored(
                str(exc), metadata={"model": completion.model, "reply": completion.text[:500]}
            )
        result = CachedVerdict(
            label=verdict.label,
            score=verdict.score,
            explanation=verdict.explanation,
            passed=verdict.passed,
            model=completion.model,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
        )
        if self.cache is not None:
            self.cache.put(key, self.evaluator_name, template.version, result)
        return _score(result, cached=False, attempts=completion.attempts, settings=self.settings)

    async def _call(self, span: SpanView, messages: list[dict[str, str]]) -> Completion:
        self.calls += 1
        client = self.tracer(span.project) if self.tracer is not None else None
        recording = (
            client.span(f"judge {self.template.name}", kind="evaluator")
            if client is not None
            else contextlib.nullcontext()
        )
        with recording as handle:
            if handle is not None:
                handle.set_input(messages)
                handle.set_attribute("loopwise.eval.target.trace_id", span.trace_id)
                handle.set_attribute("loopwise.eval.target.span_id", span.span_id)
            completion = await self.client.complete(messages, self.template.response_format())
            if handle is not None:
                handle.set_output(completion.text)
                tokens = (completion.input_tokens, completion.output_tokens)
                handle.set_usage(
                    input_tokens=tokens[0],
                    output_tokens=tokens[1],
                    total_tokens=(tokens[0] or 0) + (tokens[1] or 0) if any(tokens) else None,
                    model=completion.model,
                    provider="openai-compatible",
                    cost_usd=self.settings.cost(*tokens),
                )
                handle.set_metadata(
                    evaluator=self.evaluator_name,
                    version=self.template.version,
                    attempts=completion.attempts,
                )
            return completion


def _score(
    verdict: CachedVerdict,
    *,
    cached: bool,
    attempts: int | None = None,
    settings: JudgeSettings | None = None,
) -> Score:
    metadata: dict[str, Any] = {"model": verdict.model, "cached": cached}
    cost = settings.cost(verdict.input_tokens, verdict.output_tokens) if settings else None
    if not cached:
        metadata.update(
            input_tokens=verdict.input_tokens,
            output_tokens=verdict.output_tokens,
            attempts=attempts,
            cost_usd=cost,
        )
    value = verdict.score if verdict.score is not None else float(verdict.passed)
    return Score(
        value=value,
        label=verdict.label,
        explanation=verdict.explanation or None,
        passed=verdict.passed,
        metadata=metadata,
    )


def judge(
    template: str | JudgeTemplate,
    settings: JudgeSettings | None = None,
    *,
    name: str | None = None,
    cache: JudgeCache | None = None,
    tracer: Callable[[str], Any] | None = None,
    sleep: Sleep | None = None,
) -> Evaluator:
    """An LLM-judge evaluator for a built-in template name or your own ``JudgeTemplate``;
    ``settings`` default to the LOOPWISE_JUDGE_* environment."""
    chosen = (
        TEMPLATES[template] if isinstance(template, str) and template in TEMPLATES else template
    )
    if not isinstance(chosen, JudgeTemplate):
        raise ValueError(f"unknown judge template {template!r}; built-in: {', '.join(TEMPLATES)}")
    instance = LLMJudge(
        chosen, settings or JudgeSettings.from_env(), cache=cache, tracer=tracer, sleep=sleep
    )
    declared = evaluator(
        name=name or instance.evaluator_name,
        version=chosen.version,
        kind="llm",
        needs_context=True,
    )(instance.evaluate)
    assert isinstance(declared, Evaluator)
    return dataclasses.replace(declared, owner=instance)


def _template_factory(template: JudgeTemplate) -> EvaluatorFactory:
    class TemplateJudge(LLMJudge):
        def __init__(
            self,
            model: str | None = None,
            base_url: str | None = None,
            api_key: str | None = None,
            concurrency: int | None = None,
            timeout_s: float | None = None,
            max_retries: int | None = None,
        ) -> None:
            settings = JudgeSettings.from_env(
                model=model,
                base_url=base_url,
                api_key=api_key,
                concurrency=concurrency,
                timeout_s=timeout_s,
                max_retries=max_retries,
            )
            super().__init__(template, settings)

    TemplateJudge.__name__ = TemplateJudge.__qualname__ = f"{template.name.title()}Judge"
    TemplateJudge.__doc__ = f"LLM judge ({template.name}): {template.question}"
    declared = evaluator(
        name=f"{template.name}_judge", version=template.version, kind="llm", needs_context=True
    )(TemplateJudge)
    assert isinstance(declared, EvaluatorFactory)
    return declared


JUDGES: dict[str, EvaluatorFactory] = {
    f"{name}_judge": _template_factory(template) for name, template in TEMPLATES.items()
}
