"""The scheduled DAGs run by the real scheduler: the daily digest (``humas_digest_<sop>``) and the monthly
reports (``humas_monthly_reports``), triggered through the REST API: the digest for a chosen day (its logical
date), the report for a chosen month (the run's ``month`` param).

One Gunung Mas item (no other end-to-end test uses that agency, so its figures are known) waits at the Kabid
PIP's idea gate: the digest of a day reaches the supervisor only, once (a second run that day sends nothing);
the item is then declined, and the report of the month it was received in counts it, in HTML, CSV and XLSX.
"""
from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from openpyxl import load_workbook

from humas import layout
from humas.roster import load_roster
from humas.reports import month_label
from humas.sop import available_sops
from humas.status import read_events
from humas.timetext import WIB
from humas_dev.stack import api_token, wait_for_state
from staff_cli import humas

from test_item_flow import decide, write_item

pytestmark = pytest.mark.e2e

SOP = "gunung_mas"
ITEM = "e2e-terjadwal"
GATE = "step_2_idea_consideration"
SUPERVISOR = {("email", "daniel@gunungmaskab.example"), ("telegram", "700000018"), ("whatsapp", "+628120000018")}


def trigger(stack_cfg, dag_id: str, run_id: str, logical_date: datetime | None,
            conf: dict | None = None) -> requests.Response:
    """POST /api/v2/dags/{dag_id}/dagRuns, as an operator triggering a run by hand."""
    return requests.post(f"{stack_cfg.airflow_url}/api/v2/dags/{dag_id}/dagRuns", timeout=30,
                         headers={"Authorization": f"Bearer {api_token(stack_cfg)}"},
                         json={"dag_run_id": run_id, "logical_date": logical_date and logical_date.isoformat(),
                               "conf": conf or {}})


def run_dag(stack_cfg, api, dag_id: str, run_id: str, logical_date: datetime | None, conf: dict | None = None,
            timeout: float = 120) -> dict:
    """Trigger ``dag_id`` through the REST API and wait until the scheduler ends the run."""
    resp = trigger(stack_cfg, dag_id, run_id, logical_date, conf)
    assert resp.status_code == 200, resp.text
    deadline = time.monotonic() + timeout
    while (run := api(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"))["state"] in ("queued", "running"):
        if time.monotonic() > deadline:  # e.g. a task up for retry (the digest retries after 5 minutes)
            tasks = api(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
            pytest.fail(f"{dag_id} {run_id} still {run['state']} after {timeout:.0f} s: "
                        + ", ".join(f"{t['task_id']} {t['state']} (try {t['try_number']})" for t in tasks))
        time.sleep(2)
    return run


def digests_of_item(stack_cfg) -> set[tuple[str, str]]:
    """(channel, address) of every digest message received that names the test item; fails on a repeat."""
    resp = requests.get(f"{stack_cfg.sandbox_url}/_sandbox/messages", params={"kind": "digest"}, timeout=10)
    resp.raise_for_status()
    got = [(m["channel"], m["to"]) for m in resp.json() if ITEM in m["text"]]
    assert len(got) == len(set(got)), f"a digest was received twice: {sorted(got)}"
    return set(got)


def test_the_digest_and_the_monthly_report_are_made_by_the_scheduler(tmp_path, cli_env, store, api, stack_cfg):
    assert humas(["submit", str(write_item(tmp_path, ITEM, SOP, ["facebook"]))]) == 0
    wait_for_state(store, ITEM, {"awaiting_approval"}, 240, step=GATE)

    # The scheduler itself ran the digest of its latest 00:00 UTC tick when the stack started (catchup=False
    # never runs an earlier one), so the day before its first run is one no scheduled run takes: a missed
    # day's digest an operator sends by hand.
    dag_id = f"humas_digest_{SOP}"
    runs = api(f"/api/v2/dags/{dag_id}/dagRuns?order_by=logical_date&limit=1")["dag_runs"]
    first = min([datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0),
                 *(datetime.fromisoformat(r["logical_date"]) for r in runs if r["logical_date"])])
    day_of = first - timedelta(days=1)
    day = day_of.astimezone(WIB).date().isoformat()
    assert run_dag(stack_cfg, api, dag_id, f"e2e_digest_{day}", day_of)["state"] == "success"

    assert digests_of_item(stack_cfg) == SUPERVISOR  # the Kabid PIP (the roster's supervisor), not the staff
    sop = available_sops()[SOP]
    told = {p.id for p in load_roster(sop).people.values()
            if store.exists(layout.notice_key(layout.digest_folder(SOP, day, p.id)))}
    assert told == {"gms.daniel"}
    notice = store.get_json(layout.notice_key(layout.digest_folder(SOP, day, "gms.daniel")))
    assert notice["subject"] == f"Ringkasan harian {sop.agency}: 1 konten berjalan, 0 terlambat"
    assert ITEM in notice["text"] and "Kabid PIP (Daniel Tuah)" in notice["text"]

    # A second run the same day (an hour later) succeeds and sends nothing again.
    again = run_dag(stack_cfg, api, dag_id, f"e2e_digest_{day}_again", day_of + timedelta(hours=1))
    assert again["state"] == "success"
    assert digests_of_item(stack_cfg) == SUPERVISOR

    assert decide(stack_cfg, store, ITEM, SOP, action="decline", comment="Belum sesuai agenda") == 0
    wait_for_state(store, ITEM, {"declined"}, 120)

    # The month the item was received in (WIB), so far: named by the run (a run dated in the next month would
    # wait for that date); a month that is not YYYY-MM is refused before any run starts.
    received = datetime.fromisoformat(read_events(store, ITEM)[0]["at"])
    month = received.astimezone(WIB).strftime("%Y-%m")
    refused = trigger(stack_cfg, "humas_monthly_reports", "e2e_reports_bad", None, {"month": "11-2026"})
    assert refused.status_code == 400 and "month" in refused.text
    started = datetime.now(timezone.utc)
    run = run_dag(stack_cfg, api, "humas_monthly_reports", f"e2e_reports_{month}", None, {"month": month})
    assert run["state"] == "success"

    keys = {ext: layout.monthly_report_key(SOP, month, ext) for ext in ("html", "csv", "xlsx")}
    for key in keys.values():
        head = store.head(key)
        assert head is not None and head.last_modified >= started.replace(microsecond=0), key
    assert store.head(layout.monthly_report_key("singkawang", month, "xlsx")) is not None  # every agency

    html = store.get_bytes(keys["html"]).decode()
    assert month_label(month) in html and "Diterima 1 · diunggah 0 · tidak disetujui 1" in html
    rows = list(csv.DictReader(io.StringIO(store.get_bytes(keys["csv"]).decode("utf-8-sig"))))
    assert {(r["item_id"], r["number"]) for r in rows} == {(ITEM, "1"), (ITEM, "2")}
    book = load_workbook(io.BytesIO(store.get_bytes(keys["xlsx"])))
    summary = {r[0]: r[1] for r in book["Ringkasan"].iter_rows(min_row=2, max_col=2, values_only=True)}
    assert summary == {"Diterima": 1, "Diunggah": 0, "Tidak disetujui": 1, "Ditolak (brief tidak valid)": 0,
                       "Belum selesai": 0}
    assert [r[0] for r in book["Data"].iter_rows(min_row=2, values_only=True)] == [ITEM, ITEM]
