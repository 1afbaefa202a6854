"""A finished step puts its run first in the scheduler's next loop (``humas_airflow.run_app``), checked
through the real API server, scheduler and task callbacks."""
from __future__ import annotations

import time

import pytest
import requests

from humas import layout
from humas_dev.stack import PIPELINE_USER, api_token, wait_for_state
from staff_cli import humas

from test_item_flow import decide, login_token, write_item

pytestmark = pytest.mark.e2e

DAG_ID = "humas_sop_singkawang"


def _set_paused(stack_cfg, paused: bool) -> None:
    resp = requests.patch(f"{stack_cfg.airflow_url}/api/v2/dags/{DAG_ID}", json={"is_paused": paused}, timeout=30,
                          headers={"Authorization": f"Bearer {api_token(stack_cfg)}"})
    resp.raise_for_status()


def _task_log(stack_cfg, api, run_id: str, task_id: str) -> str:
    tries = api(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}")["try_number"]
    resp = requests.get(f"{stack_cfg.airflow_url}/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}"
                        f"/logs/{tries}", timeout=30, headers={"Authorization": f"Bearer {api_token(stack_cfg)}",
                                                               "Accept": "application/json"})
    resp.raise_for_status()
    return str(resp.json().get("content"))


def test_a_run_is_put_first_only_by_a_login_allowed_to_edit_runs_and_every_step_asks_for_it(
        tmp_path, cli_env, store, stack_cfg, api):
    item_id = "e2e-next"
    run_id = layout.run_id_for(item_id)
    assert humas(["submit", str(write_item(tmp_path, item_id, "singkawang", ["facebook"]))]) == 0
    wait_for_state(store, item_id, {"awaiting_approval"}, 240, step="step_3_decision")
    url = f"{stack_cfg.airflow_url}/humas-runs/dags/{DAG_ID}/runs/{run_id}/schedule-next"

    assert requests.post(url, timeout=30).status_code == 401
    viewer = requests.post(url, timeout=30, headers={"Authorization": f"Bearer {login_token(stack_cfg, 'skw.hendra')}"})
    assert viewer.status_code == 403
    service = {"Authorization": f"Bearer {login_token(stack_cfg, PIPELINE_USER)}"}
    unknown = requests.post(url.replace(run_id, "item__no-such-item"), headers=service, timeout=30)
    assert unknown.status_code == 404 and "no-such-item" in unknown.json()["detail"]

    # The scheduler looks at no run of a paused DAG, so the cleared mark stays there to be read.
    _set_paused(stack_cfg, True)
    try:
        assert api(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["last_scheduling_decision"] is not None
        resp = requests.post(url, headers=service, timeout=30)
        assert resp.status_code == 200 and resp.json()["scheduled_next"] is True
        assert api(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["last_scheduling_decision"] is None
    finally:
        _set_paused(stack_cfg, False)
    deadline = time.monotonic() + 60
    while api(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["last_scheduling_decision"] is None:
        assert time.monotonic() < deadline, "the scheduler did not look at the run put first"
        time.sleep(1)

    assert decide(stack_cfg, store, item_id, "singkawang") == 0
    assert wait_for_state(store, item_id, {"published", "publish_failed"}, 240)["state"] == "published"
    # Each step's success callback reached the endpoint from the worker with the pipeline's connection.
    # (The upload's callback runs after the step has told people of the post: a moment after "published".)
    for task_id in ("step_1_concept", "step_3_decision", "step_4_upload"):
        log_deadline = time.monotonic() + 60
        while f"scheduler looks at run {run_id} next" not in _task_log(stack_cfg, api, run_id, task_id):
            assert time.monotonic() < log_deadline, task_id
            time.sleep(2)
    # A finished run has nothing to schedule.
    api_deadline = time.monotonic() + 60
    while api(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"] == "running":
        assert time.monotonic() < api_deadline, "the run did not finish after its last step"
        time.sleep(1)
    done = requests.post(url, headers=service, timeout=30)
    assert done.status_code == 200 and done.json()["scheduled_next"] is False
