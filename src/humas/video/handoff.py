"""A bounded hand-off from a producing thread to the caller's thread.

render_video decodes and shapes frames in one thread while the caller's encodes them: PyAV releases the GIL in
FFmpeg's decode, filter, encode and mux calls, so the two stages overlap the way the ffmpeg command line's
threads do, and at most ``size`` frames wait between them, so memory stays bounded.
"""
from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_END = object()
_POLL_S = 0.05  # how often a producer blocked on a full queue looks whether the caller has stopped


@dataclass(frozen=True)
class _Failed:
    error: BaseException


@contextmanager
def handoff(items: Iterable[T], size: int, name: str = "humas-handoff") -> Iterator[Iterator[T]]:
    """Runs ``items`` in a thread and yields an iterator over what it produces, in order. An exception in the
    thread is raised again in the caller's; when the caller leaves the block (done, or by an exception of its own)
    the thread is stopped and joined, so nothing touches the source after the block."""
    waiting: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            else:
                put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            put(_Failed(exc))
        finally:
            getattr(items, "close", lambda: None)()  # a generator's own cleanup runs here, in its thread

    def consume() -> Iterator[T]:
        while (item := waiting.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()
