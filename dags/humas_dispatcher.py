"""Starts exactly one run of the item's SOP DAG for every content item dropped into the bucket's inbox.

Its one task hands the inbox to a trigger that watches it from the triggerer for hours: each new item's
brief is refused (with the reasons) or its run is started through Airflow's API the moment it is seen,
however many arrive at once. The run id is derived from the item (``item__<item>``), so dropping an item
again, two dispatchers racing, the bucket webhook (``/humas-intake``) getting there first, or a restart can
never start a second run: Airflow refuses a duplicate run id.
"""
from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from humas_airflow.dispatcher import DispatchNewItemsOperator

with DAG(
    dag_id="humas_dispatcher",
    dag_display_name="Humas: pengambil item baru (dispatcher)",
    doc_md=__doc__,
    schedule="@continuous",
    max_active_runs=1,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["humas", "dispatcher"],
    # When one watch ends, the next run's task takes a slot ahead of any SOP step waiting for one.
    default_args={"owner": "humas-ops", "priority_weight": 1000, "weight_rule": "absolute"},
):
    DispatchNewItemsOperator(task_id="start_item_runs", task_display_name="Periksa item baru dan mulai proses SOP",
                             poll_interval=2.0)
