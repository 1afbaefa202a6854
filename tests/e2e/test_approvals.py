"""Approvals through the running stack: people sign in as themselves, a revise loops back to the design in
the same run, a conditional gate applies only to labelled briefs, spoofed flags are refused, and an edit
after approval goes back to the gate instead of being published unreviewed."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from humas import layout
from humas.status import read_events
from humas_dev.sample import draw_poster
from humas_dev.stack import api_token, wait_for_state
from staff_cli import humas

from test_item_flow import decide, login_token, write_item

pytestmark = pytest.mark.e2e


def _posts_of(sandbox_posts, item_id: str) -> list[dict]:
    return [p for p in sandbox_posts() if item_id in (p.get("caption") or p.get("text") or "")]


def _task_tries(stack_cfg, dag_id: str, item_id: str) -> dict[str, int]:
    resp = requests.get(f"{stack_cfg.airflow_url}/api/v2/dags/{dag_id}/dagRuns/{layout.run_id_for(item_id)}"
                        "/taskInstances", headers={"Authorization": f"Bearer {api_token(stack_cfg)}"}, timeout=30)
    resp.raise_for_status()
    return {ti["task_id"]: ti["try_number"] for ti in resp.json()["task_instances"]}


def test_revise_sends_the_run_back_to_the_design_and_the_correction_is_approved(tmp_path, cli_env, store,
                                                                               stack_cfg, sandbox_posts, api):
    item_id = "e2e-revise"
    assert humas(["submit", str(write_item(tmp_path, item_id, "singkawang", ["facebook"]))]) == 0
    wait_for_state(store, item_id, {"awaiting_approval"}, 240, step="step_3_decision")
    first_review = store.get_json(layout.review_key(item_id))["digest"]

    assert decide(stack_cfg, store, item_id, "singkawang", "revise", "Judul kurang besar") == 0
    status = wait_for_state(store, item_id, {"revision_requested"}, 240, step="step_2_design")
    assert "Judul kurang besar" in status["message"] and "Hendra Wijaya" in status["message"]
    time.sleep(20)  # the design step runs again and waits for the designer, nothing is published meanwhile
    assert not _posts_of(sandbox_posts, item_id)
    assert not store.exists(layout.approval_key(item_id, "step_3_decision"))  # the decision is archived
    assert [o.key for o in store.list(layout.pipeline_prefix(item_id) + "decisions/")][0].endswith("-revise.json")

    corrected = tmp_path / "v2" / "poster.jpg"
    corrected.parent.mkdir()
    draw_poster(corrected, title="JUDUL BESAR")
    assert humas(["deliver", item_id, str(corrected), "--user", "skw.rizki"]) == 0  # the designer, as themselves
    wait_for_state(store, item_id, {"awaiting_approval"}, 240, step="step_3_decision")
    assert store.get_json(layout.review_key(item_id))["digest"] != first_review  # a new review to decide on

    assert decide(stack_cfg, store, item_id, "singkawang") == 0
    assert wait_for_state(store, item_id, {"published", "publish_failed"}, 240)["state"] == "published"
    assert len(_posts_of(sandbox_posts, item_id)) == 1
    tries = _task_tries(stack_cfg, "humas_sop_singkawang", item_id)
    assert tries["step_1_concept"] == 1 and tries["step_2_design"] >= 2 and tries["step_3_decision"] >= 2
    runs = api(f"/api/v2/dags/humas_sop_singkawang/dagRuns?run_id_pattern={item_id}")["dag_runs"]
    assert len(runs) == 1  # the same run went round the loop


@pytest.mark.parametrize("labels,gates", [([], ["step_3_correction"]),
                                          (["isu_strategis"], ["step_3_correction", "step_4_decision"])])
def test_a_conditional_gate_applies_only_when_the_brief_says_so(labels, gates, tmp_path, cli_env, store,
                                                               stack_cfg, sandbox_posts):
    item_id = f"e2e-cond-{len(labels)}"
    folder = write_item(tmp_path, item_id, "uji_strategis", ["x"], **({"labels": labels} if labels else {}))
    assert humas(["submit", str(folder)]) == 0
    for gate in gates:
        wait_for_state(store, item_id, {"awaiting_approval"}, 240, step=gate)
        assert decide(stack_cfg, store, item_id, "uji_strategis") == 0
    assert wait_for_state(store, item_id, {"published", "publish_failed"}, 240)["state"] == "published"
    decided = [o.key.rsplit("/", 1)[1] for o in store.list(layout.pipeline_prefix(item_id) + "decisions/")]
    assert [name.split("-", 1)[1] for name in decided] == [f"{g}-approve.json" for g in gates]
    skipped = [e for e in read_events(store, item_id) if e["state"] == "gate_not_required"]
    assert [e["step"] for e in skipped] == ([] if labels else ["step_4_decision"])


def test_spoofed_flags_and_self_approval_are_refused_and_the_item_keeps_waiting(tmp_path, cli_env, store,
                                                                                stack_cfg, sandbox_posts):
    item_id = "e2e-spoof"
    assert humas(["submit", str(write_item(tmp_path, item_id, "singkawang", ["facebook"]))]) == 0
    wait_for_state(store, item_id, {"awaiting_approval"}, 240, step="step_3_decision")
    digest = store.get_json(layout.review_key(item_id))["digest"]
    key = layout.approval_key(item_id, "step_3_decision")

    # A bucket writer forges a flag with every field right but no valid signature.
    forged = {"item_id": item_id, "gate": "step_3_decision", "decision": "approve", "person": "skw.hendra",
              "role": "kepala_bidang", "comment": "", "review_digest": digest, "at": "2026-11-23T00:00:00Z",
              "signature": "00" * 32}
    store.put_bytes(key, json.dumps(forged).encode(), "application/json")
    status = wait_for_state(store, item_id, {"approval_flag_invalid"}, 240)
    assert "signature" in {p["field"] for p in status["details"]["problems"]}

    # The submitter signs in as herself and tries to approve her own item: the service refuses to sign.
    assert decide(stack_cfg, store, item_id, "singkawang", user="skw.ayu") == 1
    # Someone without the gate's role is refused too.
    assert decide(stack_cfg, store, item_id, "singkawang", user="skw.sari") == 1
    # A wrong password gets no token at all.
    login = requests.post(f"{stack_cfg.airflow_url}/auth/token", json={"username": "skw.hendra", "password": "x"},
                          timeout=30)
    assert login.status_code in (401, 403)
    time.sleep(10)
    assert not _posts_of(sandbox_posts, item_id)

    # The Kepala Bidang's own decision goes through.
    assert decide(stack_cfg, store, item_id, "singkawang") == 0
    assert wait_for_state(store, item_id, {"published", "publish_failed"}, 240)["state"] == "published"


def test_the_approval_page_needs_airflow_sign_in_and_shows_what_is_reviewed(tmp_path, cli_env, store, stack_cfg):
    item_id = "e2e-page"
    assert humas(["submit", str(write_item(tmp_path, item_id, "singkawang", ["facebook"]))]) == 0
    wait_for_state(store, item_id, {"awaiting_approval"}, 240, step="step_3_decision")
    page = f"{stack_cfg.airflow_url}/humas/approvals/{item_id}"
    anonymous = requests.get(page, allow_redirects=False, timeout=30)
    assert anonymous.status_code in (302, 303, 307) and "login" in anonymous.headers["location"]

    token = login_token(stack_cfg, "skw.hendra")
    shown = requests.get(page, cookies={"_token": token}, timeout=30)
    assert shown.status_code == 200
    assert f"Konten uji {item_id}" in shown.text and "data:image/jpeg;base64," in shown.text
    assert "name='decision' value='approve'" in shown.text and "value='revise'" in shown.text
    # A cross-site form post (no form token from the page) is refused.
    digest = store.get_json(layout.review_key(item_id))["digest"]
    forged_post = requests.post(page, cookies={"_token": token}, timeout=30, data={
        "gate": "step_3_decision", "decision": "approve", "review_digest": digest, "form_token": "0" * 64})
    assert forged_post.status_code == 403
    assert not store.exists(layout.approval_key(item_id, "step_3_decision"))


def test_an_edit_after_approval_goes_back_to_the_gate_and_only_the_approved_caption_is_posted(
        tmp_path, cli_env, store, stack_cfg, sandbox_posts):
    item_id = "e2e-edited"
    publish_at = (datetime.now(timezone.utc) + timedelta(seconds=150)).isoformat(timespec="seconds")
    folder = write_item(tmp_path, item_id, "singkawang", ["facebook"], publish_at=publish_at)
    assert humas(["submit", str(folder)]) == 0
    wait_for_state(store, item_id, {"awaiting_approval"}, 240, step="step_3_decision")
    assert decide(stack_cfg, store, item_id, "singkawang") == 0
    wait_for_state(store, item_id, {"in_step"}, 120, step="step_4_upload")  # scheduled, waiting for publish_at

    # the submitter edits the narration as themselves (an edit by another hand goes back to the work step)
    edited = f"Konten uji {item_id} DIUBAH SETELAH DISETUJUI"
    assert humas(["deliver", item_id, "--caption", edited, "--user", "skw.ayu"]) == 0
    status = wait_for_state(store, item_id, {"awaiting_approval"}, 240, step="step_3_decision")
    events = [e["state"] for e in read_events(store, item_id)]
    assert "changed_after_approval" in events
    assert not _posts_of(sandbox_posts, item_id)  # nothing went out unreviewed

    assert decide(stack_cfg, store, item_id, "singkawang") == 0  # the new caption is reviewed and approved
    assert wait_for_state(store, item_id, {"published", "publish_failed"}, 300)["state"] == "published"
    posts = _posts_of(sandbox_posts, item_id)
    assert len(posts) == 1 and "DIUBAH SETELAH DISETUJUI" in (posts[0].get("caption") or posts[0].get("text"))
    assert status["step"] == "step_3_decision"
