"""Collector outage: the SDK spools while the collector is down and delivers everything later.

An application traced with ``loopwise.Client`` keeps making spans while its collector (a
``loopwise collect`` process) is SIGKILLed mid-stream and stays down for a few seconds; the
SDK's background exporter finds it away and spools to disk; once the collector is back the
spool is delivered. Every span the application made is stored exactly once.
"""

from __future__ import annotations

import statistics
import time

import pytest

import loopwise

SPANS_BEFORE, SPANS_DURING, SPANS_AFTER = 3000, 3000, 1000
DOWN_S = 5.0


def make_spans(client: loopwise.Client, start: int, count: int, pace_s: float) -> list[float]:
    """``count`` traces of two spans each; per-call microseconds in the application thread."""
    costs = []
    for n in range(start, start + count):
        began = time.perf_counter()
        with client.span("handle", kind="chain") as root:
            root.set_input(f"ticket {n}")
            with client.span("draft_reply", kind="llm") as llm:
                llm.set_output(f"reply {n}")
        costs.append((time.perf_counter() - began) * 1e6)
        time.sleep(pace_s)
    return costs


@pytest.mark.slow
def test_outage_spans_are_spooled_then_delivered_exactly_once(
    collector_process, tmp_path, until
) -> None:
    collector = collector_process()
    collector.start()
    client = loopwise.Client()
    client.init("outage", endpoint=collector.url, spool_dir=tmp_path / "spool", set_global=False)
    up = make_spans(client, 0, SPANS_BEFORE, 0.0005)
    collector.kill9()  # mid-stream: the batch being exported is cut
    down_until = time.monotonic() + DOWN_S
    down = make_spans(client, SPANS_BEFORE, SPANS_DURING, DOWN_S / SPANS_DURING)
    time.sleep(max(0.0, down_until - time.monotonic()))
    assert client.flush()
    spooled = len(client.exporter.spooled_files())  # type: ignore[union-attr]
    collector.start()
    make_spans(client, SPANS_BEFORE + SPANS_DURING, SPANS_AFTER, 0.0005)
    assert client.flush()
    # The replay thread delivers the spool within a few retry intervals.
    assert until(lambda: not client.exporter.spooled_files(), 120, 0.5)  # type: ignore[union-attr]
    client.shutdown()
    collector.stop()

    made = 2 * (SPANS_BEFORE + SPANS_DURING + SPANS_AFTER)
    stored, distinct, tickets = collector.read(
        "SELECT count(*), count(DISTINCT (trace_id, span_id)), "
        "count(DISTINCT input) FILTER (WHERE name = 'handle') FROM spans "
        "WHERE project = 'outage'"
    )[0]
    assert spooled > 0
    assert (stored, distinct) == (made, made)
    assert tickets == SPANS_BEFORE + SPANS_DURING + SPANS_AFTER
    print(
        f"\ncollector outage: {made} spans, collector killed and down {DOWN_S:.0f} s, "
        f"{spooled} requests spooled; stored {stored} (distinct {distinct}); app-thread cost "
        f"per traced call median {statistics.median(up):.0f} µs up, "
        f"{statistics.median(down):.0f} µs down"
    )
