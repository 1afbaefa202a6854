"""The insider corpus: a member of staff holding the bucket credential the stack hands them (their own, from
``.stack/staff/<login>.env``) attacks a running item on the real embedded stack. Every attack of issue 16 and
its variants is refused by the S3 server (AccessDenied) or recorded with a reason, and the sandbox platforms
receive exactly one post per channel, of exactly the approved bytes. Writing into a colleague's item folder,
which the bucket allows every member of staff, is refused by the pipeline with the reason: only the item's
submitter and the people of the step that delivers a file are taken as its deliverers, as the bucket vouches."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import asset_corpus as corpus
from humas import layout
from humas.status import read_events, read_status
from humas.store import Store
from humas_dev import stack
from humas_dev.stack.principals import PIPELINE
from staff_cli import humas

from test_item_flow import decide, write_item

pytestmark = pytest.mark.e2e

ITEM, COLLEAGUES_ITEM, SELF_APPROVED = "e2e-insider", "e2e-insider-colleague", "e2e-insider-self"
SWAPPED = "e2e-insider-swap"
CHANNELS = ["instagram", "facebook", "x"]


def _staff_store(stack_cfg, login: str) -> Store:
    keys = stack.bucket_keys(stack_cfg)[login]
    client = boto3.client("s3", endpoint_url=stack_cfg.s3_url, region_name="us-east-1",
                          aws_access_key_id=keys["access_key"], aws_secret_access_key=keys["secret_key"],
                          config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    return Store(client, stack_cfg.bucket)


def _attacks(item_id: str, bucket: str) -> dict[str, tuple[str, dict]]:
    """Every write of the issue and its variants: name -> (client method, its arguments)."""
    poster = layout.rendition_key(item_id, "instagram", "01-poster.jpg")
    fake = b'{"state": "published", "post": {"permalink": "https://x.com/fake/status/1"}}'
    decision = layout.decision_key(item_id, "step_3_decision", "approve", datetime(2026, 1, 1, tzinfo=timezone.utc))
    attacks = {
        "overwrite the rendition": ("put_object", {"Key": poster, "Body": b"unreviewed"}),
        "copy over the rendition": ("copy_object", {"Key": poster, "CopySource": {"Bucket": bucket,
                                                                               "Key": layout.brief_key(item_id)}}),
        "multipart over the rendition": ("create_multipart_upload", {"Key": poster}),
        "forge publish/x.json": ("put_object", {"Key": layout.publish_key(item_id, "x"), "Body": fake}),
        "delete publish/facebook.json": ("delete_object", {"Key": layout.publish_key(item_id, "facebook")}),
        "delete the brief": ("delete_object", {"Key": layout.brief_key(item_id)}),
        "mark a colleague's item started": ("put_object", {"Key": layout.dispatch_key("started", COLLEAGUES_ITEM),
                                                          "Body": b"{}"}),
        "mark it refused": ("put_object", {"Key": layout.dispatch_key("refused", COLLEAGUES_ITEM), "Body": b"{}"}),
        "write an approval flag": ("put_object", {"Key": layout.approval_key(item_id, "step_3_decision"),
                                                  "Body": b"{}"}),
        "replay an old decision archive": ("copy_object", {"Key": layout.approval_key(item_id, "step_3_decision"),
                                                            "CopySource": {"Bucket": bucket, "Key": decision}}),
        "claim in a colleague's name": ("put_object", {"Key": layout.claim_key(COLLEAGUES_ITEM, "skw.rizki"),
                                                        "Body": b"{}"}),
        "rewrite the status": ("put_object", {"Key": layout.status_key(item_id), "Body": b"{}"}),
        "rewrite the own view": ("put_object", {"Key": layout.progress_key("skw.ayu", item_id,
                                                                           layout.status_key(item_id)), "Body": b"{}"}),
        "suspend versioning": ("put_bucket_versioning", {"VersioningConfiguration": {"Status": "Suspended"}}),
    }
    return attacks


def _refused_by_the_server(store: Store, attacks: dict[str, tuple[str, dict]]) -> dict[str, str]:
    outcomes = {}
    for name, (method, kwargs) in attacks.items():
        try:
            getattr(store.client, method)(Bucket=store.bucket, **kwargs)
            outcomes[name] = "SUCCEEDED"
        except ClientError as exc:
            outcomes[name] = exc.response["Error"]["Code"]
    return outcomes


def test_an_insider_with_a_staff_key_cannot_forge_swap_suppress_or_duplicate(tmp_path, cli_env, store, stack_cfg,
                                                                             sandbox_posts):
    assert humas(["submit", str(write_item(tmp_path, ITEM, "singkawang", CHANNELS))]) == 0
    wait_for = stack.wait_for_state
    wait_for(store, ITEM, {"awaiting_approval"}, 240, step="step_3_decision")
    insider = _staff_store(stack_cfg, "skw.ayu")

    outcomes = _refused_by_the_server(insider, _attacks(ITEM, stack_cfg.bucket))
    assert outcomes == dict.fromkeys(outcomes, "AccessDenied"), outcomes
    bulk = insider.client.delete_objects(Bucket=stack_cfg.bucket, Delete={"Objects": [
        {"Key": o.key} for o in store.list(layout.pipeline_prefix(ITEM))]})
    assert not bulk.get("Deleted") and {e["Code"] for e in bulk["Errors"]} == {"AccessDenied"}

    # approved by the Kepala Bidang; while it publishes the insider races to swap the poster once more
    assert decide(stack_cfg, store, ITEM, "singkawang") == 0
    wait_for(store, ITEM, {"publishing", "published", "publish_failed"}, 240)
    again = _refused_by_the_server(insider, {k: v for k, v in _attacks(ITEM, stack_cfg.bucket).items()
                                             if "rendition" in k or "publish" in k})
    assert set(again.values()) == {"AccessDenied"}, again
    assert wait_for(store, ITEM, {"published", "publish_failed"}, 240)["state"] == "published"

    posts = [p for p in sandbox_posts() if ITEM in (p.get("caption") or "")]
    assert sorted(p["channel"] for p in posts) == sorted(CHANNELS)  # each channel once, none suppressed
    approved = {r["channel"]: r["sha256"] for r in store.get_json(layout.findings_key(ITEM))["renditions"]}
    instagram = next(p for p in posts if p["channel"] == "instagram")
    assert instagram["images"][0]["sha256"] == approved["instagram"]  # exactly the approved bytes
    receipt = store.get_json(layout.receipt_key(ITEM))
    assert receipt["complete"] and not any("fake" in p["permalink"] for p in receipt["posts"])

    # the submitter follows the item through their own view; a colleague may not read it, nor staff the pipeline's
    view = layout.progress_key("skw.ayu", ITEM, layout.status_key(ITEM))
    assert insider.get_json(view)["state"] == "published"
    assert insider.get_json(layout.progress_key("skw.ayu", ITEM, layout.receipt_key(ITEM)))["complete"]
    reads = {"colleague reads the view": (_staff_store(stack_cfg, "skw.hendra"), view),
             "submitter reads pipeline/": (insider, layout.status_key(ITEM))}
    assert {name: _refused_by_the_server(who, {name: ("get_object", {"Key": key})})[name]
            for name, (who, key) in reads.items()} == dict.fromkeys(reads, "AccessDenied")


def test_a_colleague_s_item_still_runs_after_the_insider_tried_to_mark_it(tmp_path, cli_env, store, stack_cfg):
    insider = _staff_store(stack_cfg, "skw.ayu")
    outcome = _refused_by_the_server(insider, {"started": ("put_object", {
        "Key": layout.dispatch_key("started", COLLEAGUES_ITEM), "Body": b"{}"})})
    assert outcome == {"started": "AccessDenied"}
    folder = write_item(tmp_path, COLLEAGUES_ITEM, "singkawang", ["facebook"])
    assert humas(["submit", str(folder)]) == 0
    assert stack.wait_for_state(store, COLLEAGUES_ITEM, {"awaiting_approval"}, 240)["state"] == "awaiting_approval"


def test_a_kepala_bidang_cannot_submit_in_a_colleague_s_name_and_approve_it_himself(tmp_path, store, stack_cfg):
    folder = write_item(tmp_path, SELF_APPROVED, "singkawang", ["facebook"])  # names skw.ayu as submitter
    env = stack.client_env(stack_cfg, stack.load_secrets(stack_cfg), "skw.hendra")  # uploaded by the Kabid
    import os
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        from humas.cli import main as humas_cli
        assert humas_cli(["submit", str(folder), "--user", "skw.hendra"]) == 0
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    status = stack.wait_for_state(store, SELF_APPROVED, {"refused", "awaiting_approval"}, 120)
    assert status["state"] == "refused"
    problems = {p["field"]: p["message"] for p in status["details"]["problems"]}
    assert "skw.hendra" in problems["submitter"] and "skw.ayu" in problems["submitter"]
    assert read_status(store, SELF_APPROVED)["state"] == "refused"


def test_the_pipeline_s_own_key_is_not_the_staff_key(stack_cfg):
    keys = stack.bucket_keys(stack_cfg)
    env = stack.client_env(stack_cfg, stack.load_secrets(stack_cfg))
    assert env["AWS_ACCESS_KEY_ID"] == keys["skw.ayu"]["access_key"] != keys[PIPELINE]["access_key"]
    humas_env = (stack_cfg.home / "humas.env").read_text()
    assert all(k["secret_key"] not in humas_env for name, k in keys.items() if name != "skw.ayu")


def _refusal_saying(store: Store, item_id: str, words: str, timeout: float = 240) -> dict:
    """The item's ``delivery_refused`` event whose reason has ``words``, once it is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in read_events(store, item_id)
                 if e["state"] == "delivery_refused" and words in (e.get("message") or "")]
        if found:
            return found[-1]
        time.sleep(1)
    raise AssertionError(f"item {item_id}: no refusal saying {words!r} in {timeout:.0f}s")


def test_a_file_dropped_into_a_colleague_s_item_after_the_run_started_is_refused_with_the_reason(
        tmp_path, cli_env, store, stack_cfg):
    folder = write_item(tmp_path, SWAPPED, "singkawang", ["facebook"])
    (folder / "poster.jpg").write_bytes(corpus.pdf_bytes())  # a bad design: the step waits for its designer
    assert humas(["submit", str(folder)]) == 0
    stack.wait_for_state(store, SWAPPED, {"assets_failed", "awaiting_delivery"}, 240, step="step_2_design")
    poster = tmp_path / "insider" / "poster.jpg"
    poster.parent.mkdir()
    poster.write_bytes(corpus.camera_photo((1800, 1200), seed=11))

    # the Kepala Bidang drops one straight into the bucket, naming the designer in the object's metadata
    insider = _staff_store(stack_cfg, "skw.hendra")
    insider.put_bytes(layout.asset_key(SWAPPED, "poster.jpg"), corpus.camera_photo((1800, 1200), seed=12),
                      "image/jpeg", metadata={"humas-by": "skw.rizki"})
    refused = _refusal_saying(store, SWAPPED, "mengaku diserahkan oleh skw.rizki (metadata berkas), tetapi tidak")
    assert refused["step"] == "step_2_design" and read_status(store, SWAPPED)["state"] == "delivery_refused"
    # then delivers one under his own name (his own key): not the submitter nor the step's designer
    assert humas(["deliver", SWAPPED, str(poster), "--user", "skw.hendra"]) == 0
    _refusal_saying(store, SWAPPED, "diserahkan oleh skw.hendra, bukan pengaju item atau Perancang Grafis")
    assert not any(e["state"] in ("assets_passed", "awaiting_approval") for e in read_events(store, SWAPPED))

    # the designer delivers: that one is taken, and recorded as theirs
    poster.write_bytes(corpus.camera_photo((1800, 1200), seed=13))
    assert humas(["deliver", SWAPPED, str(poster), "--user", "skw.rizki"]) == 0
    stack.wait_for_state(store, SWAPPED, {"awaiting_approval"}, 240, step="step_3_decision")
    delivered = [e for e in read_events(store, SWAPPED) if e["state"] == "delivered"][-1]
    assert delivered["details"]["delivery"]["by"] == {"poster.jpg": "skw.rizki"}
