"""People in the loop through the running stack: a Yogyakarta item entered as an idea is considered (Terima)
before any concept or design exists, then waits, deferred, for the Tim Konten's narration and the designer's
files (delivered with ``humas deliver``), each wait timed from its start and its deliverer recorded, and goes
through the correction and the decision to one post."""
from __future__ import annotations

import time
from datetime import datetime

import pytest
import yaml

from humas import layout
from staff_cli import humas
from humas.status import read_events
from humas_dev.sample import draw_poster
from humas_dev.stack import wait_for_state

from test_item_flow import decide

pytestmark = pytest.mark.e2e

ITEM = "e2e-ide-yogya"
DAG = "humas_sop_yogyakarta"
CAPTION = f"Pasar rakyat baru diresmikan {ITEM} #Jogja"


def _task_state(api, task_id: str) -> str:
    return api(f"/api/v2/dags/{DAG}/dagRuns/{layout.run_id_for(ITEM)}/taskInstances/{task_id}")["state"]


def _await_delivery(store, api, task_id: str) -> dict:
    """The item waits at work step ``task_id`` for its person, its task deferred (no worker slot held)."""
    status = wait_for_state(store, ITEM, {"awaiting_delivery"}, 240, step=task_id)
    for _ in range(60):  # the status is written just before the task defers
        if _task_state(api, task_id) == "deferred":
            return status
        time.sleep(1)
    raise AssertionError(f"{task_id} waits for its person but its task is {_task_state(api, task_id)}, not deferred")


def test_an_idea_is_considered_first_then_waits_for_the_narration_and_the_design(tmp_path, cli_env, store, api,
                                                                                 stack_cfg, sandbox_posts):
    folder = tmp_path / ITEM
    folder.mkdir()
    idea = {"title": "Peresmian Pasar Rakyat", "description": "Wali Kota meresmikan pasar rakyat baru",
            "channels": ["facebook"], "sop": "yogyakarta", "submitter": "ygy.nina"}
    (folder / "brief.yaml").write_text(yaml.safe_dump(idea, allow_unicode=True))
    assert humas(["submit", str(folder), "--user", "ygy.nina"]) == 0

    wait_for_state(store, ITEM, {"awaiting_approval"}, 240, step="step_2_idea_consideration")
    assert decide(stack_cfg, store, ITEM, "yogyakarta") == 0  # Terima, by the team lead

    concept = _await_delivery(store, api, "step_3_concept")
    assert "Tim Konten" in concept["message"] and "narasi" in concept["message"]
    assert humas(["deliver", ITEM, "--caption", CAPTION, "--user", "ygy.tari"]) == 0

    design = _await_delivery(store, api, "step_4_design")
    assert "Desainer/Editor" in design["message"]
    draw_poster(tmp_path / "poster.jpg", title="PASAR RAKYAT")
    assert humas(["deliver", ITEM, str(tmp_path / "poster.jpg"), "--user", "ygy.yoga"]) == 0

    for gate in ("step_5_correction", "step_6_decision"):
        wait_for_state(store, ITEM, {"awaiting_approval"}, 240, step=gate)
        assert decide(stack_cfg, store, ITEM, "yogyakarta") == 0
    assert wait_for_state(store, ITEM, {"published", "publish_failed"}, 240)["state"] == "published"
    assert len([p for p in sandbox_posts() if ITEM in (p.get("caption") or p.get("text") or "")]) == 1

    events = read_events(store, ITEM)
    delivered = {e["step"]: e["details"]["delivery"] for e in events if e["state"] == "delivered"}
    assert delivered["step_3_concept"]["by"] == {"caption": "ygy.tari"}
    assert delivered["step_4_design"]["by"] == {"poster.jpg": "ygy.yoga"}
    assert [step for step, d in delivered.items() if d["already"]] == []
    # Each work step is timed from when it started waiting (after the step before it ended) to its delivery.
    considered = next(e for e in events if e["state"] == "approved" and e["step"] == "step_2_idea_consideration")
    steps = ["step_3_concept", "step_4_design"]
    records = [store.get_json(layout.work_key(ITEM, step)) for step in steps]
    since = [datetime.fromisoformat(r["since"]) for r in records]
    done = [datetime.fromisoformat(r["delivered_at"]) for r in records]
    assert datetime.fromisoformat(considered["at"]) <= since[0] < done[0] <= since[1] < done[1]
    for step, start, end in zip(steps, since, done):
        assert delivered[step]["waited_seconds"] == int((end - start).total_seconds())
    assert not [e for e in events if e["state"] == "sla_missed" and e["step"] in steps]  # well within 90 min
