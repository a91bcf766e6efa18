"""The langfuse SDK's REST calls with the collector as its host: scores (``create_score``,
``score_current_trace``, ``score_current_span``) and prompts (``get_prompt`` by the default
label, a label, a version, and a missing name with a fallback). What the SDK returned is
written to langfuse_rest.json in the working directory for the test to check."""

from __future__ import annotations

import json
import os

from _common import COLLECTOR_KEY, COLLECTOR_URL

os.environ["LANGFUSE_PUBLIC_KEY"] = "pk-lf-conformance"
os.environ["LANGFUSE_SECRET_KEY"] = COLLECTOR_KEY
os.environ["LANGFUSE_HOST"] = COLLECTOR_URL

from langfuse import get_client, observe

langfuse = get_client()
seen: dict[str, object] = {}


@observe(name="answer")
def answer() -> str:
    """A traced function scored three ways."""
    seen["trace_id"] = langfuse.get_current_trace_id()
    seen["span_id"] = langfuse.get_current_observation_id()
    langfuse.score_current_trace(name="helpful", value=1, data_type="BOOLEAN")
    langfuse.score_current_span(name="relevance", value=0.75, comment="mostly on topic")
    langfuse.create_score(
        name="tone",
        value="friendly",
        trace_id=str(seen["trace_id"]),
        data_type="CATEGORICAL",
        metadata={"reviewer": "bot"},
    )
    return "ok"


answer()
production = langfuse.get_prompt("support-reply", cache_ttl_seconds=0)
staging = langfuse.get_prompt("support-reply", label="staging", cache_ttl_seconds=0)
first = langfuse.get_prompt("support-reply", version=1, cache_ttl_seconds=0)
missing = langfuse.get_prompt("no-such-prompt", fallback="Hello {{name}}", cache_ttl_seconds=0)
seen["prompts"] = {
    "production": [production.version, production.compile(name="Ada"), production.labels],
    "staging": [staging.version, staging.compile(name="Ada"), staging.config],
    "first": [first.version, first.prompt],
    "missing": [missing.is_fallback, missing.compile(name="Ada")],
}
langfuse.flush()
langfuse.shutdown()
with open("langfuse_rest.json", "w") as out:
    json.dump(seen, out)
