"""A stand-in for ``AirflowApiHook.run_starter()``: Airflow's dagRuns endpoint, callable from several threads."""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class FakeRunStarter:
    """Creates runs in memory; a taken run id is refused, as Airflow's 409 does.

    ``fail``: run ids whose request raises (the API server cannot be reached). ``meet``: the first ``meet``
    callers wait for one another before going on (at most 10 s), so a caller that asks one run at a time sees
    them fail instead of passing by luck. ``calls`` counts the requests per run id; ``most_inside`` is the
    most callers that were inside at once.
    """

    def __init__(self, fail: set[str] = frozenset(), meet: int = 1) -> None:
        self.runs: dict[str, tuple[str, dict[str, Any]]] = {}
        self.fail = fail
        self.calls: Counter[str] = Counter()
        self.inside = self.most_inside = 0
        self._lock = threading.Lock()
        self._meeting = threading.Barrier(meet, timeout=10) if meet > 1 else None

    def __call__(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> str:
        with self._lock:
            self.calls[run_id] += 1
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            meets = self._meeting is not None and self.calls.total() <= self._meeting.parties
        try:
            if meets:
                self._meeting.wait()
            return self._start(dag_id, run_id, conf)
        finally:
            with self._lock:
                self.inside -= 1

    def _start(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> str:
        if run_id in self.fail:
            raise ConnectionError("API server unreachable")
        with self._lock:
            if run_id in self.runs:
                return "exists"
            self.runs[run_id] = (dag_id, conf)
            return "created"
