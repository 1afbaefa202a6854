"""Starts exactly one run of the item's SOP DAG for every content item dropped into the bucket's inbox.

The run id is derived from the item (``item__<item>``), so dropping an item again, two dispatchers
racing, or a restart can never start a second run: Airflow refuses a duplicate run id and the
trigger task is skipped.
"""
from __future__ import annotations

from datetime import datetime, timezone

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG

from humas_airflow.operators import PlanItemRunsOperator
from humas_airflow.sensors import NewItemsSensor

with DAG(
    dag_id="humas_dispatcher",
    dag_display_name="Humas: pengambil item baru (dispatcher)",
    doc_md=__doc__,
    schedule="@continuous",
    max_active_runs=1,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["humas", "dispatcher"],
    default_args={"owner": "humas-ops"},
):
    new_items = NewItemsSensor(task_id="wait_for_new_items", task_display_name="Tunggu item baru di inbox")
    run_requests = PlanItemRunsOperator(task_id="check_briefs", task_display_name="Periksa brief item baru")
    start_runs = TriggerDagRunOperator.partial(
        task_id="start_item_run",
        task_display_name="Mulai proses SOP item",
        skip_when_already_exists=True,
        wait_for_completion=False,
    ).expand_kwargs(run_requests.output)
    new_items >> run_requests
