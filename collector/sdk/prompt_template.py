"""Prompt templates: ``{{variable}}`` placeholders, rendering, and the ``Prompt`` the SDK
hands to application code.

Placeholders use double braces so JSON examples inside a prompt (``{"category": ...}``) need
no escaping. Rendering is one pass: a value that itself contains ``{{x}}`` is inserted
verbatim, never expanded.

A rendered prompt records which prompt version produced it on the current span:

    ``loopwise.prompt.name``       the prompt's name
    ``loopwise.prompt.version``    its version number (absent for a fallback template)
    ``loopwise.prompt.label``      the label it was fetched by, if any
    ``loopwise.prompt.source``     collector, file, cache or fallback
    ``loopwise.prompt.variables``  the variables as a JSON object (only when content is captured)
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from opentelemetry import trace

log = logging.getLogger("loopwise.sdk")

PROMPT_NAME = "loopwise.prompt.name"
PROMPT_VERSION = "loopwise.prompt.version"
PROMPT_LABEL = "loopwise.prompt.label"
PROMPT_SOURCE = "loopwise.prompt.source"
PROMPT_VARIABLES = "loopwise.prompt.variables"
MAX_VARIABLES_CHARS = 32 * 1024

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
PROMPT_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")

PromptSource = Literal["collector", "file", "cache", "fallback"]


def check_prompt_name(name: str) -> str:
    """``name`` if it is a valid prompt name (letters, digits, ``_ . -``; up to 100)."""
    if not isinstance(name, str) or not PROMPT_NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"invalid prompt name {name!r}: use letters, digits, '_', '.' or '-' "
            "(starting with a letter or digit, at most 100 characters)"
        )
    return name


def template_variables(template: str) -> list[str]:
    """The ``{{variable}}`` names in ``template``, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(template):
        seen.setdefault(match.group(1), None)
    return list(seen)


def render_template(template: str, variables: Mapping[str, Any]) -> str:
    """``template`` with every ``{{name}}`` replaced by ``str(variables[name])``.

    Raises ValueError naming every missing variable; extra variables are ignored.
    """
    missing = [name for name in template_variables(template) if name not in variables]
    if missing:
        raise ValueError(f"missing prompt variable(s): {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: str(variables[m.group(1)]), template)


@dataclass(frozen=True)
class Prompt:
    """One prompt version as the application uses it: ``prompt.format(ticket=...)``.

    ``version`` is None when the template is the caller's fallback. ``model_params`` holds
    the model settings stored with the version (model, temperature, ...).
    """

    name: str
    template: str
    version: int | None = None
    label: str | None = None
    model_params: Mapping[str, Any] = field(default_factory=dict)
    source: PromptSource = "fallback"
    capture_content: bool = field(default=True, compare=False, repr=False)

    @property
    def variables(self) -> list[str]:
        """The template's variable names, in order."""
        return template_variables(self.template)

    @property
    def is_fallback(self) -> bool:
        """True when this is the caller's fallback template, not a registered version."""
        return self.source == "fallback"

    def format(self, **variables: Any) -> str:
        """Render the template and record this prompt version on the current span.

        Raises ValueError when a variable is missing.
        """
        text = render_template(self.template, variables)
        self.record(trace.get_current_span(), variables)
        return text

    def span_attributes(self, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The span attributes naming this prompt version (and the variables, if given)."""
        attributes: dict[str, Any] = {PROMPT_NAME: self.name, PROMPT_SOURCE: self.source}
        if self.version is not None:
            attributes[PROMPT_VERSION] = self.version
        if self.label:
            attributes[PROMPT_LABEL] = self.label
        if variables is not None and self.capture_content:
            text = json.dumps(dict(variables), ensure_ascii=False, default=str)
            if len(text) <= MAX_VARIABLES_CHARS:
                attributes[PROMPT_VARIABLES] = text
        return attributes

    def record(self, span: trace.Span, variables: Mapping[str, Any] | None = None) -> None:
        """Set ``span_attributes`` on ``span`` (an OpenTelemetry span); never raises."""
        try:
            if span.is_recording():
                span.set_attributes(self.span_attributes(variables))
        except Exception:
            log.debug("could not record prompt %s on the span", self.name, exc_info=True)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the shape the disk cache stores)."""
        return {
            "name": self.name,
            "version": self.version,
            "label": self.label,
            "template": self.template,
            "variables": self.variables,
            "model_params": dict(self.model_params),
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, source: PromptSource, capture_content: bool = True
    ) -> Prompt:
        """Read ``to_dict``'s shape (also the API's); raises ValueError when it is not one."""
        name, template, version = data.get("name"), data.get("template"), data.get("version")
        params = data.get("model_params") or {}
        if not isinstance(name, str) or not isinstance(template, str):
            raise ValueError("a prompt needs a string name and template")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise ValueError(f"prompt version must be an integer, got {version!r}")
        if not isinstance(params, Mapping):
            raise ValueError("model_params must be an object")
        label = data.get("label")
        return cls(
            name=name,
            template=template,
            version=version,
            label=label if isinstance(label, str) else None,
            model_params=dict(params),
            source=source,
            capture_content=capture_content,
        )
