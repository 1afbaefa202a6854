"""The daily digest task: one agency's open items, to its supervisors (``humas.digest``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from humas.digest import send_daily_digest
from humas.sop import available_sops
from humas.status import utcnow

from humas_airflow.hooks import BUCKET_CONN_ID, HumasBucketHook
from humas_airflow.notifiers import NotifierTransport

if TYPE_CHECKING:
    from airflow.sdk import Context


class DailyDigestOperator(BaseOperator):
    """Sends SOP ``sop_id``'s digest for the run's day (a retry or a rerun that day sends nothing twice)."""

    def __init__(self, *, sop_id: str, aws_conn_id: str = BUCKET_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sop_id, self.aws_conn_id = sop_id, aws_conn_id

    def execute(self, context: "Context") -> int:
        day_of = context.get("logical_date") or utcnow()
        store = HumasBucketHook(self.aws_conn_id).get_store()
        return send_daily_digest(store, available_sops()[self.sop_id], day_of, utcnow(), NotifierTransport())
