"""The in-flight byte budget follows the measured drain rate (a clock the test moves)."""

from __future__ import annotations

import pytest

from loopwise.collector.server.admission import Admission, Overloaded

MIB = 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def serve(admission: Admission, clock: Clock, size: int, seconds: float, count: int) -> None:
    """``count`` requests of ``size`` bytes, one after another, each taking ``seconds``."""
    for _ in range(count):
        with admission.enter() as ticket:
            ticket.add(size)
            clock.now += seconds


def test_the_budget_is_the_maximum_until_work_is_measured() -> None:
    clock = Clock()
    admission = Admission(32 * MIB, 64, 1.0, min_bytes=MIB // 4, clock=clock)
    assert admission.drain_rate is None
    assert admission.budget_bytes == 32 * MIB
    serve(admission, clock, MIB // 2, 0.25, 1)  # half a MiB: not enough to trust a rate
    assert admission.budget_bytes == 32 * MIB


def test_the_budget_is_what_drains_in_the_target_time() -> None:
    clock = Clock()
    admission = Admission(32 * MIB, 64, 1.0, min_bytes=MIB // 4, clock=clock)
    serve(admission, clock, MIB, 0.5, 8)  # 2 MiB per busy second
    assert admission.drain_rate == pytest.approx(2 * MIB, rel=1e-6)
    assert admission.budget_bytes == pytest.approx(2 * MIB, rel=1e-6)
    # Idle time is not busy time: waiting a minute does not make the collector look slower.
    clock.now += 60
    assert admission.drain_rate == pytest.approx(2 * MIB, rel=1e-6)

    holder = admission.enter()
    holder.add(int(1.5 * MIB))
    other = admission.enter()
    with pytest.raises(Overloaded, match=r"1\.5 MiB of requests are in flight"):
        other.add(MIB)  # 2.5 MiB would take 1.25 s to drain
    other.close(answered=False)
    holder.close()
    assert admission.refused == 1


def test_a_faster_collector_gets_a_bigger_budget_up_to_the_maximum() -> None:
    clock = Clock()
    admission = Admission(32 * MIB, 64, 1.0, min_bytes=MIB // 4, clock=clock)
    serve(admission, clock, 4 * MIB, 0.01, 50)  # 400 MiB/s
    assert admission.budget_bytes == 32 * MIB
    slow = Admission(32 * MIB, 64, 1.0, min_bytes=MIB, clock=clock)
    serve(slow, clock, MIB, 4.0, 4)  # 0.25 MiB/s: the floor holds
    assert slow.budget_bytes == MIB


def test_refused_or_failed_work_does_not_count_as_drained() -> None:
    clock = Clock()
    admission = Admission(32 * MIB, 64, 1.0, min_bytes=MIB // 4, clock=clock)
    serve(admission, clock, MIB, 0.5, 4)
    before = admission.drain_rate
    with pytest.raises(RuntimeError), admission.enter() as ticket:
        ticket.add(8 * MIB)
        clock.now += 0.5
        raise RuntimeError("the write failed")
    assert admission.drain_rate is not None and before is not None
    assert admission.drain_rate < before  # busy time passed, no bytes answered


def test_one_request_alone_is_always_admitted_and_a_fixed_budget_stays_fixed() -> None:
    clock = Clock()
    admission = Admission(32 * MIB, 64, 1.0, min_bytes=MIB // 4, clock=clock)
    serve(admission, clock, MIB, 1.0, 4)  # 1 MiB/s
    with admission.enter() as ticket:
        ticket.add(16 * MIB)  # over the budget, but nothing else is in flight
    fixed = Admission(32 * MIB, 64, None, clock=clock)
    serve(fixed, clock, MIB, 1.0, 4)
    assert fixed.budget_bytes == 32 * MIB
