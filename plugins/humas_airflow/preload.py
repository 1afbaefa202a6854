"""Loads what every SOP step needs once, in the scheduler, before its executor forks the task processes.

LocalExecutor runs each task in a process forked from the scheduler, so a task starts with the scheduler's
imports and nothing more. Left to itself every step imported our modules (Pillow, the provider's hooks, the
plugin's web apps), loaded Airflow's plugins, read and validated every SOP file and parsed botocore's
description of S3: most of a step's CPU, paid again by each of the five or so task runs of every item.
Loaded here once, the forked processes share it. What is cached stays checked: the SOP and roster caches
compare each file's signature on every use, so an edited file is read again; a change to our code needs a
restart, as it always did.

A plugin listener, because ``on_starting`` is the one hook Airflow calls in the scheduler before its executor
starts. The DAG processor (which forks its parsers) and the triggerer start the same way and get the same.

Airflow internals relied on (Airflow 3.3 has no public way to tell the components apart or to name what a task
process imports); tests/unit/test_preload.py starts a real ``Job`` and a real task runner's marker and fails
when any of these changes:
- the component: ``airflow.jobs.job.Job.__init__`` calls ``on_starting(component=self)``, and a task's runner
  calls it with ``airflow.sdk.execution_time.task_runner.TaskRunnerMarker()``. We preload for a class named
  ``Job`` (by name: importing ``airflow.jobs`` in a task process would cost what we save). If Airflow renamed
  the class or passed something else, nothing would be loaded ahead and nothing would say so: the steps would
  just take their old CPU again.
- ``airflow.sdk.execution_time.task_runner`` in ``TASK_MODULES``, the module a forked task process runs. If it
  moved, ``preload`` would fail at once and the job would log "preloading the SOP steps' modules failed"
  (the job still starts; its tasks load everything themselves).
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import time
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)

# The modules of the SOP steps, the dispatcher, the triggers and the callbacks, what they import, and Airflow's
# task runner (a private module: see the module's notes).
TASK_MODULES = ("humas_airflow.dag_factory", "humas_airflow.dispatcher", "humas_airflow.triggers",
                "airflow.sdk.execution_time.task_runner")


@hookimpl
def on_starting(component: Any) -> None:
    # Tasks announce their start too (a TaskRunnerMarker): they have what they need. By class name, see the notes.
    if type(component).__name__ == "Job":
        preload_for("the processes this job forks")


def preload_for(forked: str) -> None:
    """``preload``, timed and logged; a failure is logged, never raised: it only makes the tasks slower, and the
    job (or Celery worker) that preloads must start anyway."""
    started = time.monotonic()
    try:
        preload()
    except Exception:  # noqa: BLE001 - see above
        log.warning("preloading the SOP steps' modules failed; each task loads them itself", exc_info=True)
        return
    log.info("SOP steps' modules, plugins and SOP files loaded in %.1f s for %s", time.monotonic() - started,
             forked)


def preload() -> None:
    from PIL import Image

    from airflow.sdk.listener import get_listener_manager

    from humas.exceptions import HumasError
    from humas.profiles import load_profiles
    from humas.roster import load_roster
    from humas.sop import available_sops

    from humas_airflow.hooks import preload_botocore_models

    for name in TASK_MODULES:
        importlib.import_module(name)
    Image.preinit()  # the image formats the design checks open
    preload_botocore_models()
    get_listener_manager()  # what each task's runner builds at start: it loads every plugin
    load_profiles()  # include/platforms.yaml: every brief is checked against its channels
    for sop in available_sops().values():
        with contextlib.suppress(HumasError):  # a broken roster is reported by the steps that need it
            load_roster(sop)
