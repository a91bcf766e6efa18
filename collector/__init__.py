"""loopwise.collector: the SDK, the OTLP receiver, semantic-convention normalizers and the
DuckDB store. Imports nothing from evals, feedback or dashboard."""
