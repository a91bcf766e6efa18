"""Langfuse's batch ingestion API (``POST /api/public/ingestion``): the events the Langfuse
SDK v2 (Python ``langfuse<3``, JS ``langfuse`` 3.x) and many integrations send, validated
(``models``), turned into attribute patches (``patches``), merged per span (``state``), made
into normalized span rows (``rows``) and stored (``ingest``). docs/conventions.md describes
the mapping."""
