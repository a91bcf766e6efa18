"""Query-string parameters read one way by every route: out of range is refused, never
clamped, with a message naming the parameter and its bounds."""

from __future__ import annotations

from starlette.requests import Request

from .decode import BadRequest


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """The integer query parameter ``name`` (``default`` when absent or empty); BadRequest
    (400) when it is not an integer or outside ``low``..``high``."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(400, f"{name} must be an integer, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise BadRequest(400, f"{name} must be between {low} and {high}, got {value}")
    return value
