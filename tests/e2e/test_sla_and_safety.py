"""SLA deadlines through the real scheduler, a declined item, and no duplicate post after a platform timeout."""
from __future__ import annotations

import time

import pytest
import requests

from humas import layout
from humas.status import read_events
from humas_dev.stack import api_token, wait_for_state
from staff_cli import humas

from test_item_flow import decide, write_item

pytestmark = pytest.mark.e2e


def wait_for_events(store, item_id: str, state: str, count: int, timeout: float, containing: str = "") -> list[dict]:
    deadline = time.monotonic() + timeout
    found: list[dict] = []
    while time.monotonic() < deadline:
        found = [e for e in read_events(store, item_id) if e["state"] == state and containing in e["message"]]
        if len(found) >= count:
            return found
        time.sleep(2)
    raise AssertionError(f"{item_id}: {len(found)} {state} event(s) after {timeout}s, wanted {count}")


def test_an_open_step_past_its_sop_time_raises_an_sla_miss_shown_in_the_ui(tmp_path, cli_env, store, api,
                                                                          stack_cfg):
    item_id = "e2e-sla"
    assert humas(["submit", str(write_item(tmp_path, item_id, "uji_sla", ["facebook"]))]) == 0
    wait_for_state(store, item_id, {"awaiting_approval"}, 240, step="step_1_idea_consideration")

    # Nobody decides: the run's deadline for step 1 (queued + 1 minute) passes while the gate is open.
    miss = wait_for_events(store, item_id, "sla_missed", 1, 240)[0]
    assert miss["step"] == "step_1_idea_consideration"
    assert "Kepala Bidang" in miss["message"] and "belum selesai" in miss["message"]
    token = api_token(stack_cfg)
    deadlines = requests.get(f"{stack_cfg.airflow_url}/ui/dags/humas_sop_uji_sla/dagRuns/"
                             f"{layout.run_id_for(item_id)}/deadlines",
                             headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    assert any(d.get("missed") for d in deadlines["deadlines"]), deadlines

    # When the step finally ends, its own duration is checked against its standard time too.
    assert decide(stack_cfg, store, item_id, "uji_sla") == 0
    # (A later step's run deadline may pass first: a miss of its own, recorded on this step too.)
    [late] = wait_for_events(store, item_id, "sla_missed", 1, 120, containing="melewati waktu baku")
    assert late["step"] == "step_1_idea_consideration" and "Kepala Bidang" in late["message"]
    opened = [e for e in read_events(store, item_id)
              if e["state"] == "sla_missed" and e["details"].get("deadline_step") == "step_1_idea_consideration"]
    assert len(opened) == 1, opened  # the run's deadline and the step's own time saw one miss: recorded once
    assert wait_for_state(store, item_id, {"published", "publish_failed"}, 240)["state"] == "published"


def test_a_declined_item_is_not_published(tmp_path, cli_env, store, sandbox_posts, stack_cfg):
    item_id = "e2e-declined"
    assert humas(["submit", str(write_item(tmp_path, item_id, "singkawang", ["facebook"]))]) == 0
    wait_for_state(store, item_id, {"awaiting_approval"}, 240, step="step_3_decision")
    assert decide(stack_cfg, store, item_id, "singkawang", "decline", "Data acara belum benar") == 0
    status = wait_for_state(store, item_id, {"declined"}, 120)
    assert "Hendra Wijaya" in status["message"] and "Data acara belum benar" in status["message"]
    time.sleep(5)
    assert not [p for p in sandbox_posts() if item_id in (p.get("caption") or p.get("text") or "")]
    assert not store.exists(layout.receipt_key(item_id))


def test_a_post_whose_confirmation_was_lost_is_found_not_sent_again(tmp_path, cli_env, store, stack_cfg,
                                                                    sandbox_posts):
    item_id = "e2e-timeout"
    # X makes the post, then the connection hangs past the client's timeout: the outcome is unknown.
    requests.post(f"{stack_cfg.sandbox_url}/_sandbox/faults", timeout=10,
                  json={"channel": "x", "operation": "tweets", "mode": "timeout_after_commit", "count": 1,
                        "delay_seconds": 15}).raise_for_status()
    assert humas(["submit", str(write_item(tmp_path, item_id, "singkawang", ["x", "facebook"]))]) == 0
    wait_for_state(store, item_id, {"awaiting_approval"}, 240, step="step_3_decision")
    assert decide(stack_cfg, store, item_id, "singkawang") == 0
    assert wait_for_state(store, item_id, {"published", "publish_failed"}, 300)["state"] == "published"

    mine = [p for p in sandbox_posts() if item_id in (p.get("caption") or p.get("text") or "")]
    assert sorted(p["channel"] for p in mine) == ["facebook", "x"]
    record = store.get_json(layout.publish_key(item_id, "x"))
    assert record["state"] == "published" and "found on platform" in record["confirmed_by"]
