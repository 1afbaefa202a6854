"""The bounded hand-off between render_video's decoding thread and its encoder (humas.video.handoff)."""
from __future__ import annotations

import threading
import time

import pytest

from humas.video.handoff import handoff


def _alive(name: str) -> bool:
    return any(thread.name == name and thread.is_alive() for thread in threading.enumerate())


def test_items_arrive_in_order_and_the_thread_is_gone_after() -> None:
    with handoff(iter(range(100)), 4, "t-order") as items:
        assert list(items) == list(range(100))
    assert not _alive("t-order")


def test_the_producer_runs_ahead_at_most_the_queue_size() -> None:
    """Memory stays bounded: a fast decoder waits for a slow encoder instead of piling frames up."""
    size, counts, leads = 3, {"made": 0, "taken": 0}, []

    def produce():
        for index in range(40):
            counts["made"] += 1
            leads.append(counts["made"] - counts["taken"])
            yield index

    with handoff(produce(), size, "t-bounded") as items:
        for _ in items:
            counts["taken"] += 1
            deadline = time.monotonic() + 5
            while counts["made"] - counts["taken"] < size and counts["made"] < 40 and time.monotonic() < deadline:
                time.sleep(0.001)  # a slow consumer: the producer gets every chance to run ahead
    assert max(leads) >= size              # it did run ahead...
    assert max(leads) <= size + 2          # ...by the queue, the item waiting to go in and the one being made


def test_an_error_in_the_thread_is_raised_in_the_caller_after_what_came_before() -> None:
    def produce():
        yield from (1, 2, 3)
        raise ValueError("decoder broke")

    got = []
    with pytest.raises(ValueError, match="decoder broke"):
        with handoff(produce(), 2, "t-error") as items:
            got.extend(items)
    assert got == [1, 2, 3]
    assert not _alive("t-error")


def test_a_caller_that_fails_stops_and_closes_the_producer() -> None:
    """An encoder error ends the decoding thread too: nothing reads the source after render_video returns."""
    closed = threading.Event()

    def endless():
        try:
            while True:
                yield "frame"
        finally:
            closed.set()

    with pytest.raises(RuntimeError, match="encoder broke"):
        with handoff(endless(), 2, "t-stop") as items:
            for count, _ in enumerate(items):
                if count == 5:
                    raise RuntimeError("encoder broke")
    assert not _alive("t-stop")
    assert closed.is_set()
