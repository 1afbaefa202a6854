"""The operator of the monthly compliance reports: each agency's report of the month before the run's date."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from humas.reports import previous_month, write_monthly_report
from humas.sop import available_sops

from humas_airflow.hooks import BUCKET_CONN_ID, HumasBucketHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class MonthlyReportOperator(BaseOperator):
    """Writes every agency's (or ``sop_ids``') report of ``month`` (default: the month before the run's
    logical date, in WIB) under ``reports/<sop>/<month>.html|csv|xlsx``."""

    template_fields = ("month",)

    def __init__(self, *, month: str = "", sop_ids: list[str] | None = None, aws_conn_id: str = BUCKET_CONN_ID,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.month, self.sop_ids, self.aws_conn_id = month, sop_ids, aws_conn_id

    def execute(self, context: "Context") -> dict[str, dict[str, str]]:
        month = self.month or previous_month(context.get("logical_date") or context["dag_run"].run_after)
        store = HumasBucketHook(self.aws_conn_id).get_store()
        sops = available_sops()
        written = {}
        for sop_id in self.sop_ids or sorted(sops):
            written[sop_id] = write_monthly_report(store, sops[sop_id], month)
            self.log.info("report %s %s: %s", sop_id, month, ", ".join(written[sop_id].values()))
        return written
