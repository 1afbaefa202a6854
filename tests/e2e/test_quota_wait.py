"""Through the running stack: an item whose Instagram quota is used up posts on its other channels, waits in the
triggerer (its upload task deferred, holding no executor slot) with a status that says until when, and is
published on Instagram once the window rolls on; never twice, never failed."""
from __future__ import annotations

import time
from collections import Counter
from typing import Iterator

import pytest
import requests

from staff_cli import humas
from humas.platforms import carries_reference
from humas.sop import available_sops
from humas.status import read_events
from humas_dev.stack import api_token, load_secrets, wait_for_state
from test_item_flow import approve_every_gate, write_item

pytestmark = pytest.mark.e2e

WINDOW = 150    # seconds: the sandbox's Instagram window during this test, so it rolls on within the test
SOP = "singkawang"
CHANNELS = ["instagram", "facebook", "x"]


@pytest.fixture()
def one_instagram_post_per_window(stack_cfg) -> Iterator[None]:
    """The sandbox allows one more Instagram post per WINDOW than it holds in the window now; restored after."""
    limits = f"{stack_cfg.sandbox_url}/_sandbox/limits"
    before = requests.get(limits, timeout=10).json()
    requests.post(limits, json={"instagram_quota_duration": WINDOW}, timeout=10).raise_for_status()
    token = load_secrets(stack_cfg)["platform_token"]
    usage = requests.get(f"{stack_cfg.sandbox_url}/v21.0/17841400000000001/content_publishing_limit",
                         params={"fields": "quota_usage"}, headers={"Authorization": f"Bearer {token}"},
                         timeout=10).json()["data"][0]["quota_usage"]
    requests.post(limits, json={"instagram_quota_total": usage + 1}, timeout=10).raise_for_status()
    yield
    requests.post(limits, json=before, timeout=10).raise_for_status()


def _task_state(stack_cfg, item_id: str, task_id: str) -> str:
    dag_id = available_sops()[SOP].dag_id
    resp = requests.get(f"{stack_cfg.airflow_url}/api/v2/dags/{dag_id}/dagRuns/item__{item_id}/taskInstances/"
                        f"{task_id}", headers={"Authorization": f"Bearer {api_token(stack_cfg)}"}, timeout=30)
    resp.raise_for_status()
    return resp.json()["state"]


def _settled_state(stack_cfg, item_id: str, task_id: str, within: float = 60) -> str:
    """The task's state once it is no longer running (or "running" if it still is after ``within`` seconds)."""
    deadline = time.monotonic() + within
    state = _task_state(stack_cfg, item_id, task_id)
    while state == "running" and time.monotonic() < deadline:
        time.sleep(1)
        state = _task_state(stack_cfg, item_id, task_id)
    return state


def test_an_item_out_of_instagram_quota_waits_deferred_and_publishes_when_the_window_rolls_on(
        one_instagram_post_per_window, tmp_path, cli_env, store, sandbox_posts, stack_cfg) -> None:
    upload = next(s for s in available_sops()[SOP].steps if s.kind == "upload").task_id
    items = ["e2e-quota-first", "e2e-quota-second"]
    for item_id in items:
        assert humas(["submit", str(write_item(tmp_path, item_id, SOP, CHANNELS))]) == 0
        approve_every_gate(stack_cfg, store, item_id, SOP)
        if item_id == items[0]:
            assert wait_for_state(store, item_id, {"published", "publish_failed"}, 300)["state"] == "published"

    waiting = wait_for_state(store, items[1], {"waiting_quota", "published", "publish_failed"}, 300)

    assert waiting["state"] == "waiting_quota", waiting
    assert waiting["message"].startswith("Menunggu kuota Instagram, tersedia lagi sekitar ") and \
        waiting["message"].endswith(" WIB")
    # The status is written (and operations told) just before the task hands itself to the triggerer.
    assert _settled_state(stack_cfg, items[1], upload) == "deferred"     # in the triggerer, no slot held
    done = wait_for_state(store, items[1], {"published", "publish_failed"}, WINDOW + 240)
    assert done["state"] == "published", done
    for item_id in items:
        seen = Counter(p["channel"] for p in sandbox_posts() if carries_reference(p["caption"] or "", item_id))
        assert seen == Counter(CHANNELS), (item_id, seen)                # exactly one post per channel
        assert "publish_failed" not in {e["state"] for e in read_events(store, item_id)}
