"""Drive the running stack the way users do: drop an item, write approval flags, read the Airflow API."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests
import yaml

from humas import layout
from humas.roster import load_roster
from humas.sop import available_sops
from humas.status import read_status
from humas_dev.sample import draw_poster
from humas_dev.stack import api_token, passwords, wait_for_state
from staff_cli import humas

pytestmark = pytest.mark.e2e

# Who submits items of each SOP in these tests (roster ids: include/rosters/, tests/e2e/rosters/).
SUBMITTERS = {"singkawang": "skw.ayu", "yogyakarta": "ygy.nina", "gunung_mas": "gms.yohanes", "uji_sla": "uji.staf",
              "uji_strategis": "uji.staf"}


def write_item(root: Path, item_id: str, sop: str, channels: list[str], **extra: object) -> Path:
    folder = root / item_id
    folder.mkdir(parents=True)
    draw_poster(folder / "poster.jpg", title=item_id.upper())
    brief = {"title": f"Uji {item_id}", "caption": f"Konten uji {item_id} #HumasUji", "channels": channels,
             "sop": sop, "assets": ["poster.jpg"], "submitter": SUBMITTERS[sop], **extra}
    (folder / "brief.yaml").write_text(yaml.safe_dump(brief, allow_unicode=True))
    return folder


def approver(stack_cfg, sop_id: str, gate: str) -> str:
    """Someone in the SOP's roster who holds the gate's role and did not submit the item."""
    sop = available_sops(stack_cfg.include_dir / "sops")[sop_id]
    step = next(s for s in sop.gates if s.task_id == gate)
    roster = load_roster(sop, stack_cfg.include_dir / "rosters" / f"{sop_id}.yaml")
    return next(p.id for p in roster.holders(step.actor) if p.id != SUBMITTERS[sop_id])


def login_token(stack_cfg, user: str) -> str:
    """The Airflow bearer token of one login (its password from the stack's passwords.json)."""
    resp = requests.post(f"{stack_cfg.airflow_url}/auth/token", timeout=30,
                         json={"username": user, "password": passwords(stack_cfg)[user]})
    resp.raise_for_status()
    return resp.json()["access_token"]


def decide(stack_cfg, store, item_id: str, sop_id: str, action: str = "approve", comment: str = "ok",
           user: str | None = None) -> int:
    """``humas <action> ITEM`` as a person signed in with their own Airflow login (the gate's role by default)."""
    user = user or approver(stack_cfg, sop_id, read_status(store, item_id)["step"])
    os.environ["HUMAS_PASSWORD"] = passwords(stack_cfg)[user]
    try:
        return humas([action, item_id, "--user", user, "--comment", comment])
    finally:
        os.environ.pop("HUMAS_PASSWORD", None)


def approve_every_gate(stack_cfg, store, item_id: str, sop_id: str) -> None:
    """Each gate of the SOP in order: wait until the item waits there, then approve as the gate's role."""
    for gate in available_sops()[sop_id].gates:
        wait_for_state(store, item_id, {"awaiting_approval"}, 240, step=gate.task_id)
        assert decide(stack_cfg, store, item_id, sop_id) == 0


@pytest.mark.parametrize("sop_id,channels", [("singkawang", ["instagram", "facebook", "x"]),
                                             ("yogyakarta", ["instagram", "x"])])
def test_item_runs_its_sop_and_is_published_exactly_once(sop_id, channels, tmp_path, cli_env, store, api,
                                                         sandbox_posts, stack_cfg):
    item_id = f"e2e-{sop_id}"
    folder = write_item(tmp_path, item_id, sop_id, channels)
    assert humas(["submit", str(folder)]) == 0

    approve_every_gate(stack_cfg, store, item_id, sop_id)
    status = wait_for_state(store, item_id, {"published", "publish_failed"}, 300)
    assert status["state"] == "published", status

    mine = [p for p in sandbox_posts() if item_id in (p.get("caption") or p.get("text") or "")]
    assert sorted(p["channel"] for p in mine) == sorted(channels)  # exactly one post per channel
    receipt = store.get_json(layout.receipt_key(item_id))
    assert receipt["complete"] is True
    assert {p["permalink"] for p in receipt["posts"]} == {p["permalink"] for p in mine}
    assert all(not img["exif_gps"] for p in mine for img in p["images"])
    assert store.exists(layout.asset_key(item_id, "poster.jpg"))  # the original stays

    dag_id = available_sops()[sop_id].dag_id
    runs = api(f"/api/v2/dags/{dag_id}/dagRuns?run_id_pattern={item_id}")["dag_runs"]
    assert [r["dag_run_id"] for r in runs] == [layout.run_id_for(item_id)]
    # "published" is recorded by the last task itself; the run finishes a moment later
    deadline = time.monotonic() + 60
    while runs[0]["state"] == "running" and time.monotonic() < deadline:
        time.sleep(2)
        runs = api(f"/api/v2/dags/{dag_id}/dagRuns?run_id_pattern={item_id}")["dag_runs"]
    assert runs[0]["state"] == "success"


def test_dropping_the_same_item_again_starts_no_second_run(tmp_path, cli_env, store, api, stack_cfg):
    item_id = "e2e-redrop"
    folder = write_item(tmp_path, item_id, "singkawang", ["facebook"])
    assert humas(["submit", str(folder)]) == 0
    wait_for_state(store, item_id, {"awaiting_approval"}, 240)
    assert humas(["submit", str(folder)]) == 0  # staff drop it again
    time.sleep(15)  # several dispatcher polls
    runs = api(f"/api/v2/dags/humas_sop_singkawang/dagRuns?run_id_pattern={item_id}")["dag_runs"]
    assert len(runs) == 1

    # A second dispatcher racing the first asks Airflow for the same run id, and is refused.
    second = requests.post(f"{stack_cfg.airflow_url}/api/v2/dags/humas_sop_singkawang/dagRuns", timeout=30,
                           headers={"Authorization": f"Bearer {api_token(stack_cfg)}"},
                           json={"dag_run_id": layout.run_id_for(item_id), "logical_date": None,
                                 "conf": {"item_id": item_id}})
    assert second.status_code == 409, second.text


def test_invalid_brief_is_rejected_with_every_problem_and_nothing_crashes(cli_env, store, api):
    item_id = "e2e-bad-brief"
    store.put_bytes(layout.asset_key(item_id, "poster.jpg"), b"not really a jpeg")
    store.put_bytes(layout.brief_key(item_id), yaml.safe_dump(
        {"title": "", "caption": "x", "channels": ["myspace"], "sop": "atlantis", "assets": ["poster.jpg"],
         "submitter": "skw.ayu"}).encode())
    status = wait_for_state(store, item_id, {"refused"}, 120)
    fields = {p["field"] for p in status["details"]["problems"]}
    assert {"title", "channels", "sop"} <= fields
    rejection = store.get_json(layout.refusal_key(item_id))
    assert rejection["problems"] and all(p["fix"] for p in rejection["problems"])
    assert store.exists(layout.brief_key(item_id))  # nothing is lost

    # the dispatcher keeps working for the next item
    health = api("/api/v2/dags/humas_dispatcher/dagRuns?order_by=-run_after&limit=1")["dag_runs"]
    assert health and health[0]["state"] in ("running", "queued", "success")
