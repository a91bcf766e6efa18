"""How a client presents an API key to a collector: one header, built in one place (the SDK's
exporters, the collector client and the hold-and-review guard all send it)."""

from __future__ import annotations


def auth_headers(api_key: str | None) -> dict[str, str]:
    """The Authorization header that carries ``api_key`` (none without a key)."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}
