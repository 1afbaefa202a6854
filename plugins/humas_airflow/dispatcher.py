"""The dispatcher's operator: a task that hands the inbox to its trigger, which starts every new item's run."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from humas_airflow.hooks import API_CONN_ID, BUCKET_CONN_ID
from humas_airflow.triggers import InboxDispatchTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)


class DispatchNewItemsOperator(BaseOperator):
    """Refuse bad briefs (with the reasons) and start the run of every other new item, from the triggerer.

    The task defers at once: ``InboxDispatchTrigger`` watches the inbox for ``max_wait`` seconds and starts
    each item's run through Airflow's REST API with the item's run id (``item__<item>``), so no worker slot
    is held and no task starts per item or per batch. Returns the count of each outcome.
    """

    def __init__(self, *, aws_conn_id: str = BUCKET_CONN_ID, api_conn_id: str = API_CONN_ID,
                 poll_interval: float = 2.0, max_wait: float = 6 * 3600, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id, self.api_conn_id = aws_conn_id, api_conn_id
        self.poll_interval, self.max_wait = poll_interval, max_wait

    def execute(self, context: "Context") -> None:
        self.defer(trigger=InboxDispatchTrigger(self.aws_conn_id, self.api_conn_id, self.poll_interval,
                                                self.max_wait),
                   method_name="execute_complete")

    def execute_complete(self, context: "Context", event: dict[str, Any]) -> dict[str, int]:
        counts = event.get("counts", {})
        if event.get("status") == "failed":
            failed = event["items"]
            raise AirflowException(f"{len(failed)} item runs could not be started (asked again within minutes): "
                                   + "; ".join(f"{i}: {o}" for i, o in list(failed.items())[:5]))
        if event.get("status") != "idle":
            raise AirflowException(f"watching the inbox failed: {event.get('message')}")
        log.info("watched the inbox; item outcomes: %s", counts or "none")
        return counts
