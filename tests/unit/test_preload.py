"""The scheduler's preload (humas_airflow.preload): Airflow's jobs load the SOP steps once; tasks do not."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# A fresh interpreter: the test process has imported the steps' modules long ago.
STARTING = r"""
import json, sys
from humas import resources
from humas_airflow import hooks, preload
component = type(sys.argv[1], (), {})()  # what Airflow passes: a Job, or the task runner's marker
preload.on_starting(component)
print(json.dumps({"steps_loaded": "humas_airflow.operators" in sys.modules,
                  "pillow_loaded": "PIL.JpegImagePlugin" in sys.modules,
                  "s3_model_parsed": bool(hooks.BOTOCORE_MODELS._cache),
                  "sops_read": sorted(i for (_, parser, _), (_, value) in resources._CACHE.items()
                                      if parser.endswith(".load_sops_report") for i in value[0])}))
"""


def _start(component: str) -> dict:
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
           "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", STARTING, component], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_starting_job_loads_the_steps_modules_and_reads_the_sops_for_the_processes_it_forks(sops):
    loaded = _start("Job")
    assert loaded == {"steps_loaded": True, "pillow_loaded": True, "s3_model_parsed": True, "sops_read": sorted(sops)}


def test_a_starting_task_loads_nothing_more():
    assert _start("TaskRunnerMarker") == {"steps_loaded": False, "pillow_loaded": False, "s3_model_parsed": False,
                                          "sops_read": []}
