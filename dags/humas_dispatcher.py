"""Starts exactly one run of the item's SOP DAG for every content item dropped into the bucket's inbox.

The sensor watches the inbox from the triggerer; one task then refuses bad briefs (with the reasons) and
starts every other new item's run through Airflow's API, however many arrived at once. The run id is
derived from the item (``item__<item>``), so dropping an item again, two dispatchers racing, the bucket
webhook (``/humas-intake``) getting there first, or a restart can never start a second run: Airflow
refuses a duplicate run id.
"""
from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from humas_airflow.callbacks import schedule_next_step
from humas_airflow.dispatcher import PlanItemRunsOperator
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
    # A new item's check starts as soon as the sensor sees it, not in the run's turn (see run_app), and
    # ahead of any SOP step waiting for a slot: it is one short task for every new item, and it starts
    # their SLA clocks.
    default_args={"owner": "humas-ops", "on_success_callback": schedule_next_step,
                  "priority_weight": 1000, "weight_rule": "absolute"},
):
    new_items = NewItemsSensor(task_id="wait_for_new_items", task_display_name="Tunggu item baru di inbox",
                               poll_interval=2.0)
    start_runs = PlanItemRunsOperator(task_id="check_briefs", task_display_name="Periksa brief dan mulai proses SOP")
    new_items >> start_runs
