"""The thin Airflow adapters: what they derive from a SOP, and how they turn trigger events into results."""
from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk.exceptions import AirflowException

from humas_airflow.dag_factory import deadlines
from humas_airflow.dispatcher import DispatchNewItemsOperator
from humas_airflow.sensors import ApprovalFlagSensor
from humas_airflow.steps import step_kwargs


def test_deadlines_are_cumulative_standard_times_with_one_callback_per_timed_step(sops):
    sop = sops["singkawang"]
    alerts = deadlines(sop)
    assert [a.interval for a in alerts] == [timedelta(minutes=m) for m in (30, 210, 225, 240)]
    assert [a.callback.kwargs for a in alerts] == [{"sop_id": "singkawang", "step_number": n} for n in (1, 2, 3, 4)]
    assert all(a.callback.path == "humas_airflow.callbacks.step_deadline_missed" for a in alerts)


def test_a_flexible_step_gets_no_deadline(sops):
    sop = sops["kendal"]  # step 1 is event-relative, step 5 "Menyesuaikan"
    assert [a.name for a in deadlines(sop)] == ["sla_step_2_assignment", "sla_step_3_design", "sla_step_4_decision"]


def test_step_tasks_carry_the_sops_words_and_roles(sops):
    sop = sops["yogyakarta"]
    kwargs = step_kwargs(sop, sop.steps[5])
    assert kwargs["task_id"] == "step_6_decision"
    assert kwargs["task_display_name"].startswith("6. Memutuskan apakah konten dapat diunggah")
    assert kwargs["owner"] == sop.role(sop.steps[5].actor).name
    assert sop.steps[5].time.text in kwargs["doc_md"]


def test_the_dispatcher_ends_green_after_its_watch_and_red_naming_what_failed():
    dispatcher = DispatchNewItemsOperator(task_id="start_item_runs")
    assert dispatcher.execute_complete({}, {"status": "idle", "counts": {"created": 3}}) == {"created": 3}
    with pytest.raises(AirflowException, match="watching the inbox failed: ConnectTimeout"):
        dispatcher.execute_complete({}, {"status": "error", "message": "ConnectTimeout"})
    with pytest.raises(AirflowException, match="1 item runs could not be started .*item-1: failed: HumasError"):
        dispatcher.execute_complete({}, {"status": "failed", "items": {"item-1": "failed: HumasError: 404"}})


def test_the_approval_sensor_reports_a_failed_wait_clearly():
    sensor = ApprovalFlagSensor(task_id="step_3_decision", sop_id="singkawang", step_number=3)
    with pytest.raises(AirflowException, match="approval flag failed: EndpointConnectionError"):
        sensor.execute_complete({}, {"status": "error", "message": "EndpointConnectionError"})


def test_the_rerun_trigger_serializes_its_target_and_keeps_it_when_the_triggerer_binds_it():
    from humas_airflow.triggers import RerunFromTrigger

    trigger = RerunFromTrigger("humas_sop_singkawang", "item__x", "step_2_design", "revisi", "humas_airflow_api",
                               "step_3_decision", 1)
    assert trigger.serialize() == ("humas_airflow.triggers.RerunFromTrigger",
                                   {"dag_id": "humas_sop_singkawang", "run_id": "item__x",
                                    "to_task_id": "step_2_design", "note": "revisi",
                                    "api_conn_id": "humas_airflow_api", "from_task_id": "step_3_decision",
                                    "from_try": 1})
    trigger.task_id = "step_3_decision"  # what the triggerer sets: the deferring task's own id
    assert trigger.serialize()[1]["to_task_id"] == "step_2_design"


def test_a_wait_woken_for_its_reminder_looks_again_and_waits_on_with_the_wake_moment(monkeypatch):
    from datetime import datetime, timezone

    from airflow.sdk.exceptions import TaskDeferred

    from humas.steps.base import WaitForChange

    sensor = ApprovalFlagSensor(task_id="step_3_decision", sop_id="singkawang", step_number=3)
    wake = datetime(2026, 11, 30, 11, 40, tzinfo=timezone.utc)
    monkeypatch.setattr(sensor, "item_step", lambda context: None)
    monkeypatch.setattr(sensor, "run_step", lambda item: WaitForChange("approvals/a/", {}, timedelta(days=1), wake))
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute_complete({}, {"status": "wake"})
    assert deferred.value.trigger.serialize()[1]["wake_at"] == wake.isoformat()
