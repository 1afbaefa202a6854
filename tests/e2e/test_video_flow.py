"""A video item through its SOP on the running stack: dropped by its submitter, checked and rendered per channel,
approved, posted as an Instagram Reel, a Facebook Page video and an X video (each uploaded in chunks or fetched,
processed by the sandbox, which probes what it receives) and recorded once, with the approver's preview showing
its frames."""
from __future__ import annotations

import io

import pytest
import yaml
from PIL import Image

import video_corpus
from humas import layout
from humas.status import read_events
from humas_dev.stack import wait_for_state
from staff_cli import humas
from test_item_flow import approve_every_gate

pytestmark = pytest.mark.e2e


def test_a_video_goes_through_its_sop_to_reels_facebook_and_x_once(tmp_path, cli_env, store, sandbox_posts,
                                                                    stack_cfg):
    item_id = "e2e-video"
    folder = tmp_path / item_id
    folder.mkdir()
    video_corpus.clip(folder / "klip.mp4", width=540, height=960, seconds=4.0)
    brief = {"title": "Uji video", "caption": f"Video uji {item_id} #HumasUji", "sop": "singkawang",
             "channels": ["instagram", "facebook", "x"], "assets": ["klip.mp4"], "submitter": "skw.ayu"}
    (folder / "brief.yaml").write_text(yaml.safe_dump(brief, allow_unicode=True))
    assert humas(["submit", str(folder)]) == 0

    wait_for_state(store, item_id, {"awaiting_approval"}, 300)
    findings = store.get_json(layout.findings_key(item_id))
    manifest = {r["channel"]: r for r in findings["renditions"]}
    assert {c: v["placement"] for c, v in findings["channels"].items()} == \
        {"instagram": "reels", "facebook": "video", "x": "post_video"}
    assert {r["kind"] for r in manifest.values()} == {"video"}
    assert all(store.exists(r["cover_key"]) for r in manifest.values())
    preview = Image.open(io.BytesIO(store.get_bytes(layout.preview_key(item_id))))
    assert preview.format == "JPEG"

    approve_every_gate(stack_cfg, store, item_id, "singkawang")
    status = wait_for_state(store, item_id, {"published", "publish_failed"}, 420)
    assert status["state"] == "published", status

    mine = [p for p in sandbox_posts() if item_id in (p.get("caption") or "")]
    assert sorted(p["channel"] for p in mine) == ["facebook", "instagram", "x"]   # exactly one post each
    for post in mine:
        [video] = post["images"]
        assert video["video_codec"] == "h264" and abs(video["duration"] - 4.0) < 0.2
        assert video["sha256"] == manifest[post["channel"]]["sha256"]              # exactly what was approved
    assert next(p for p in mine if p["channel"] == "instagram")["placement"] == "reels"
    receipt = store.get_json(layout.receipt_key(item_id))
    assert receipt["complete"] and {p["permalink"] for p in receipt["posts"]} == {p["permalink"] for p in mine}
    # The platforms processed the videos while the upload waited deferred (no worker held), then it came back.
    assert any(e["state"] == "platform_processing" for e in read_events(store, item_id))
    assert not [e for e in read_events(store, item_id) if e["state"] == "publish_failed"]
    assert store.exists(layout.asset_key(item_id, "klip.mp4"))   # the original stays
