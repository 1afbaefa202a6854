"""The scheduler's preload (humas_airflow.preload): Airflow's jobs load the SOP steps once; tasks do not."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

from humas_airflow import preload
from humas_dev.stack.config import CELERY_CONFIG

REPO = Path(__file__).resolve().parents[2]

# A fresh interpreter: the test process has imported the steps' modules long ago. It starts what Airflow starts,
# as Airflow starts it, so the test fails if Airflow stops calling the listener with the components we expect:
# a Job (its __init__ calls on_starting through Airflow's listener manager, which loads our plugin), or the
# task runner's marker (what airflow.sdk.execution_time.task_runner.main passes through the SDK's manager).
STARTING = r"""
import json, sys
from humas import resources
from humas_airflow import hooks
if sys.argv[1] == "Job":
    from airflow.jobs.job import Job
    Job()
elif sys.argv[1] == "CeleryWorker":  # as `airflow celery worker` makes one, without starting its pool
    from airflow.providers.celery.executors.celery_executor_utils import app
    app.WorkController(app=app, queues=["light"], concurrency=1)
else:
    from airflow.sdk.execution_time.task_runner import TaskRunnerMarker
    from airflow.sdk.listener import get_listener_manager
    get_listener_manager().hook.on_starting(component=TaskRunnerMarker())
print(json.dumps({"plugin_loaded": "humas_plugin" in sys.modules,
                  "steps_loaded": "humas_airflow.operators" in sys.modules,
                  "pillow_loaded": "PIL.JpegImagePlugin" in sys.modules,
                  "s3_model_parsed": bool(hooks.BOTOCORE_MODELS._cache),
                  "sops_read": sorted(i for (_, parser, _), (_, value) in resources._CACHE.items()
                                      if parser.endswith(".load_sops_report") for i in value[0]),
                  "profiles_read": any(parser.endswith("._read_profiles") for (_, parser, _) in resources._CACHE)}))
"""


def _start(component: str, **settings: str) -> dict:
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
           "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), os.environ.get("PYTHONPATH", "")]), **settings}
    out = subprocess.run([sys.executable, "-c", STARTING, component], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_starting_job_loads_the_steps_modules_and_reads_the_sops_for_the_processes_it_forks(sops):
    loaded = _start("Job")
    assert loaded == {"plugin_loaded": True, "steps_loaded": True, "pillow_loaded": True, "s3_model_parsed": True,
                      "sops_read": sorted(sops), "profiles_read": True}


def test_a_celery_worker_loads_them_before_it_forks_its_pool(sops):
    # Airflow makes its Celery app with the settings the stacks give it (docker-compose.yml, the embedded one).
    loaded = _start("CeleryWorker", AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=CELERY_CONFIG)
    assert loaded == {"plugin_loaded": True, "steps_loaded": True, "pillow_loaded": True, "s3_model_parsed": True,
                      "sops_read": sorted(sops), "profiles_read": True}


def test_a_starting_task_loads_nothing_more():
    # Loading the plugins imports the steps' modules in a task anyway; what the preload adds is not done.
    loaded = _start("TaskRunnerMarker")
    assert loaded["plugin_loaded"]
    assert (loaded["s3_model_parsed"], loaded["sops_read"], loaded["profiles_read"]) == (False, [], False)


def test_the_modules_preloaded_for_the_tasks_exist():
    for name in preload.TASK_MODULES:
        importlib.import_module(name)  # a renamed Airflow module fails here, not only in the scheduler's log
    assert "airflow.sdk.execution_time.task_runner" in preload.TASK_MODULES
