"""The stack benchmark's arithmetic: where py-spy's samples went, and the CPU per message of the waiting windows."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench import burst, pyspy

RAW = (
    'process 1:"airflow triggerer";Thread.run (threading.py:982);remind_or_escalate (humas/notify.py:175);'
    "_api_call (/v/lib/python3.11/site-packages/botocore/client.py:60) 30\n"
    'process 1:"airflow triggerer";Thread.run (threading.py:982);remind_or_escalate (humas/notify.py:175);'
    "send (humas_airflow/notifiers.py:20) 10\n"
    'process 1:"airflow triggerer";TriggerRunnerSupervisor.run_once (airflow/jobs/triggerer_job_runner.py:700) 60\n'
)


def test_samples_are_told_by_source_by_function_on_the_stack_and_innermost(tmp_path: Path) -> None:
    raw = tmp_path / "w00.triggerer.txt"
    raw.write_text(RAW)
    got = pyspy.summarise(raw)
    assert got["total"]["samples"] == 100
    assert got["inclusive"]["remind_or_escalate (humas/notify.py)"] == 40
    assert got["self"]["_api_call (botocore)"] == 30
    assert got["source"] == {"botocore": 30, "humas_airflow/notifiers.py": 10, "airflow/jobs/triggerer_job_runner.py": 60}


def _window(cores: float, messages: int, callbacks: int = 0) -> dict:
    return {"seconds": 30.0, "cores": {"triggerer": cores, "s3": 0.1}, "deadline_callbacks": callbacks,
            "messages": {"reminder": messages} if messages else {}}


def test_cpu_per_message_is_what_the_busy_windows_spent_over_the_quiet_ones() -> None:
    got = burst.notification_cost([_window(0.1, 0), _window(0.4, 90), _window(0.3, 0), _window(0.7, 180)])
    # quiet mean 0.3 cores; busy: (0.5 - 0.3) * 30 + (0.8 - 0.3) * 30 = 21 CPU-s for 270 messages
    assert got["cpu_s_per_message"] == pytest.approx(21 / 270)
    assert got["cpu_s_per_message_by_component"]["s3"] == 0
    assert got["quiet_windows"] == 2 and got["busy_windows"] == 2


def test_no_quiet_window_is_no_figure() -> None:
    assert burst.notification_cost([_window(0.4, 90), _window(0.2, 0, callbacks=5)])["measured"] is False


def test_cpu_per_message_by_slope_is_not_fooled_by_a_host_that_slows_down() -> None:
    # 0.02 CPU-s a message; the same waits cost 0.01 cores more each window (a host slowing down)
    counts = [0, 0, 0, 0, 30, 90, 150, 90, 30, 0, 0, 0, 0, 0, 0, 0]
    windows = [_window(0.1 + 0.01 * t + 0.02 * n / 30 - 0.1, n) for t, n in enumerate(counts)]
    assert burst.wave_slope(windows) == pytest.approx(0.02, rel=0.15)
    assert burst.notification_cost(windows)["cpu_s_per_message"] < 0.015  # the quiet mean, drifting, misleads
    assert burst.wave_slope([_window(0.2, 0), _window(0.2, 0)]) is None
