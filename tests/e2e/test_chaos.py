"""Chaos through the shared stack, with the script the benchmark runs (``bench.chaos``) at a test's scale: faults
on the platforms, the running uploads SIGKILLed, the scheduler and the triggerer restarted, the S3 server hung
for 30 s; afterwards one post per item per channel, every item published or failed with its reason, receipts
complete, the waiting items still waiting, no notification received twice. (The issue's scale, 100 items x 3
channels with 200 waiting: ``python -m bench.chaos``, figures in docs/scale-out.md.)"""
from __future__ import annotations

import pytest

from bench.burst import Bench
from bench.chaos import arm_faults, disarm_faults, run_chaos
from humas_dev.sample import draw_poster

pytestmark = pytest.mark.e2e

ITEMS, WAITING = 6, 4


def test_faults_kills_restarts_and_a_hung_s3_server_lose_nothing_and_post_nothing_twice(stack_cfg, tmp_path):
    bench = Bench(stack_cfg, draw_poster(tmp_path / "poster.jpg", title="Uji kacau").read_bytes())
    waiting = [f"chaos-wait-{n}" for n in range(WAITING)]
    for item_id in waiting:
        bench.drop(item_id, "yogyakarta")
    bench.wait_states(waiting, {"awaiting_approval"}, 300, "waiting items at their gate", quiet=True)
    armed = arm_faults(stack_cfg.sandbox_url, ITEMS, 0.2)
    try:
        result = run_chaos(bench, [f"chaos-{n}" for n in range(ITEMS)], waiting, "singkawang",
                           waiting_sop="yogyakarta", timeout=900)
    finally:
        disarm_faults(stack_cfg.sandbox_url)

    assert armed >= 18 and [d["what"] for d in result["disruptions"]] == [
        "SIGKILL of the running uploads", "scheduler restarted", "triggerer restarted", "S3 server hung for 30 s"]
    # problems: an item not done, published without a complete receipt and one post per channel, failed silently
    assert result["duplicates"] == {} and result["problems"] == [], result
    assert set(result["states"]) <= {"published", "publish_failed"} and result["states"].get("published"), result
    assert result["messages"] > 0 and result["messages_sent_twice"] == []
    assert result["waiting_still_waiting"] == WAITING
