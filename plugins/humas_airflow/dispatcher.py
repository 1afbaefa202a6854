"""The dispatcher's operator: one task decides every new item and starts their runs, however many there are."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from humas.dispatch import actionable_items, start_item_runs
from humas.profiles import channel_ids
from humas.sop import available_sops

from humas_airflow.hooks import API_CONN_ID, BUCKET_CONN_ID, AirflowApiHook, HumasBucketHook

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)


def max_items_per_run() -> int:
    """At most Airflow's ``[core] max_map_length`` items per dispatcher run; the rest go in the next one."""
    from airflow.sdk.configuration import conf

    return conf.getint("core", "max_map_length", fallback=1024)


class PlanItemRunsOperator(BaseOperator):
    """Refuse bad briefs (with the reasons) and start the run of every other new item, all in this one task.

    Each run is created through Airflow's REST API with the item's run id (``item__<item>``): Airflow's 409
    on a taken run id keeps one run per item, whoever asks. Returns item id -> outcome.
    """

    def __init__(self, *, aws_conn_id: str = BUCKET_CONN_ID, api_conn_id: str = API_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id, self.api_conn_id = aws_conn_id, api_conn_id

    def execute(self, context: "Context") -> dict[str, str]:
        store = HumasBucketHook(self.aws_conn_id).get_store()
        sops = available_sops()
        decisions = actionable_items(store, sops, channel_ids())
        limit = max_items_per_run()
        batch = decisions[:limit]
        if len(decisions) > limit:
            log.info("%d items to dispatch; %d now, the rest in the next dispatcher run", len(decisions), limit)
        dag_ids = {sop_id: sop.dag_id for sop_id, sop in sops.items()}
        outcomes = start_item_runs(store, batch, dag_ids, AirflowApiHook(self.api_conn_id).run_starter())
        for item_id, outcome in outcomes.items():
            (log.warning if outcome.startswith(("failed", "rejected")) else log.info)("item %s: %s", item_id, outcome)
        failed = {i: o for i, o in outcomes.items() if o.startswith("failed")}
        if failed:
            raise AirflowException(f"{len(failed)} of {len(outcomes)} item runs could not be started (asked again "
                                   f"within minutes): " + "; ".join(f"{i}: {o}" for i, o in list(failed.items())[:5]))
        return outcomes
