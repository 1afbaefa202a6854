"""Laporan kepatuhan SOP bulanan: on the first day of each month, every agency's report of the month before.

Per agency: items received, published, declined and refused; per step and per role the median time and the
share within the SOP's standard time; every miss listed; a chart. Written to the bucket as
``reports/<sop>/<YYYY-MM>.html``, ``.csv`` and ``.xlsx`` (``humas report --sop <sop> --month <YYYY-MM>`` makes
one on demand). A manual run may name the month (param ``month``), e.g. the month so far: a run dated in the
next month would wait for that date.
"""
from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG, Param

from humas.layout import MONTH_PATTERN

from humas_airflow.reports import MonthlyReportOperator

with DAG(
    dag_id="humas_monthly_reports",
    dag_display_name="Humas: laporan kepatuhan SOP bulanan",
    doc_md=__doc__,
    schedule="0 1 1 * *",  # 01:00 UTC (08:00 WIB) on the first of the month
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["humas", "laporan"],
    default_args={"owner": "humas-ops"},
    params={"month": Param("", type="string", pattern=f"^$|{MONTH_PATTERN.pattern}", title="Bulan (YYYY-MM)",
                           description="Kosongkan untuk bulan sebelum tanggal run (WIB).")},
):
    MonthlyReportOperator(task_id="write_monthly_reports", task_display_name="Tulis laporan bulanan setiap instansi",
                          month="{{ params.month }}")
