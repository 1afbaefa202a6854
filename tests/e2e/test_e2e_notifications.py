"""Notifications through the running stack: an item waits at a gate and its approver's messages arrive (email,
Telegram, WhatsApp, at the sandbox's receivers); a person without contact details is skipped with a note; the
80% reminder (counted from when the gate started waiting), the miss and the escalation arrive once even though
the scheduler and the triggerer restart while the item waits; the decision and the published post reach the
submitter. Nothing is received twice, and no notice is left unsent."""
from __future__ import annotations

import os
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
import requests
import yaml

from staff_cli import humas
from humas import layout
from humas.status import read_events
from humas_dev.sample import draw_poster
from humas_dev.stack import passwords, restart, wait_for_state

pytestmark = pytest.mark.e2e

ITEM = "e2e-notify"


def messages(stack_cfg, **query: str) -> list[dict]:
    resp = requests.get(f"{stack_cfg.sandbox_url}/_sandbox/messages", params={"item": ITEM, **query}, timeout=10)
    resp.raise_for_status()
    return resp.json()


def wait_for_messages(stack_cfg, kind: str, count: int, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = messages(stack_cfg, kind=kind)
        if len(got) >= count:
            return got
        time.sleep(2)
    pytest.fail(f"{kind}: {len(messages(stack_cfg, kind=kind))} of {count} messages after {timeout:.0f} s")


def test_people_are_told_once_through_a_wait_a_miss_a_restart_and_a_decision(tmp_path, cli_env, store, stack_cfg):
    folder = tmp_path / ITEM
    folder.mkdir()
    draw_poster(folder / "poster.jpg", title="UJI PEMBERITAHUAN")
    (folder / "brief.yaml").write_text(yaml.safe_dump(
        {"title": "Uji pemberitahuan", "caption": "Konten uji #HumasUji", "channels": ["facebook"],
         "sop": "uji_notify", "assets": ["poster.jpg"], "submitter": "uji.staf"}))
    assert humas(["submit", str(folder)]) == 0
    wait_for_state(store, ITEM, {"awaiting_approval"}, 240, step="step_3_decision")

    asked = wait_for_messages(stack_cfg, "approval_request", 3, 240)
    assert sorted((m["channel"], m["to"]) for m in asked) == [
        ("email", "kabid@uji.example"), ("telegram", "900000001"), ("whatsapp", "+628990000001")]
    assert "Uji pemberitahuan" in asked[0]["text"] and " WIB" in asked[0]["text"]
    assert f"{stack_cfg.airflow_url}/humas/approvals/{ITEM}" in asked[0]["text"]
    skipped = [e for e in read_events(store, ITEM) if e["state"] == "notice_skipped"]
    assert len(skipped) == 1 and "Tamu Uji" in skipped[0]["message"]

    restart(stack_cfg, "scheduler")   # while the item waits: nothing may be sent twice
    restart(stack_cfg, "triggerer")
    reminded = wait_for_messages(stack_cfg, "reminder", 3, 300)
    escalated = wait_for_messages(stack_cfg, "escalation", 1, 240)
    assert {m["to"] for m in reminded} == {"kabid@uji.example", "900000001", "+628990000001"}
    # 80% of the gate's own minute, counted from when it started waiting (it asked then): its wait woke for it
    assert _at(reminded) - _at(asked) >= timedelta(seconds=40)
    assert [m["to"] for m in escalated] == ["kadis@uji.example"] and "terlambat" in escalated[0]["text"]
    assert {m["to"] for m in messages(stack_cfg, kind="missed")} == {"kabid@uji.example", "900000001",
                                                                       "+628990000001"}

    os.environ["HUMAS_PASSWORD"] = passwords(stack_cfg)["uji.kabid"]
    try:
        assert humas(["approve", ITEM, "--user", "uji.kabid", "--comment", "Bagus"]) == 0
    finally:
        os.environ.pop("HUMAS_PASSWORD", None)
    [approved] = wait_for_messages(stack_cfg, "approved", 1, 240)
    assert approved["to"] == "900000003" and "Kabid Uji" in approved["text"] and "Bagus" in approved["text"]
    assert wait_for_state(store, ITEM, {"published", "publish_failed"}, 240)["state"] == "published"
    [published] = wait_for_messages(stack_cfg, "published", 1, 240)
    assert "facebook: http" in published["text"]

    time.sleep(10)  # anything late or repeated would show now
    repeated = {k: n for k, n in Counter((m["kind"], m["channel"], m["to"]) for m in messages(stack_cfg)).items()
                if n > 1}
    assert repeated == {}
    # Nothing of this item is left marked unsent: the senders finished, or the dispatcher's sweep (every minute, for
    # notices marked over two minutes ago) did. (Other tests share the stack; their markers are theirs.)
    def left() -> dict[str, dict]:
        markers = {o.key: store.get_json(o.key) or {} for o in store.list(layout.OUTBOX_PENDING)}
        return {k: m for k, m in markers.items() if str(m.get("folder", "")).startswith(layout.pipeline_prefix(ITEM))}

    deadline = time.monotonic() + 240
    while left() and time.monotonic() < deadline:
        time.sleep(5)
    assert left() == {}


def _at(got: list[dict]) -> datetime:
    return min(datetime.fromisoformat(m["at"]) for m in got)
