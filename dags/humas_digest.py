"""One daily digest DAG per SOP: at 07:00 WIB the agency's supervisors get what waits on whom and what is late.

The digest is written once per day and person in the bucket (``notices/<sop>/digest/<day>/``), so a retry or a
manual rerun the same day sends nothing twice.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, get_parsing_context
from airflow.timetables.trigger import CronTriggerTimetable

from humas.sop import available_sops

from humas_airflow.digest import DailyDigestOperator

_wanted = get_parsing_context().dag_id
for _sop in available_sops().values():
    _dag_id = f"humas_digest_{_sop.id}"
    if _wanted not in (None, _dag_id):
        continue
    with DAG(
        dag_id=_dag_id,
        dag_display_name=f"Ringkasan harian — {_sop.agency}",
        doc_md=__doc__,
        schedule=CronTriggerTimetable("0 7 * * *", timezone="Asia/Jakarta"),  # 07:00 WIB (00:00 UTC)
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        tags=["humas", "digest", _sop.id],
        default_args={"owner": "humas-ops", "retries": 2, "retry_delay": timedelta(minutes=5)},
    ) as _dag:
        DailyDigestOperator(task_id="send_digest", task_display_name="Kirim ringkasan harian", sop_id=_sop.id)
    globals()[_dag_id] = _dag
