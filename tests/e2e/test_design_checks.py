"""Design-asset checks in the running pipeline: a bad file is sent back to the designer, a corrected one
passes in the same run, renditions satisfy their profiles, and nothing published carries GPS."""
from __future__ import annotations

import pytest

import asset_corpus as corpus
from humas import layout
from humas.assets.conformance import rendition_problems
from humas.profiles import load_profiles
from humas_dev.stack import wait_for_state
from staff_cli import humas

from test_item_flow import decide, write_item

pytestmark = pytest.mark.e2e


def test_a_bad_design_is_sent_back_and_its_correction_passes_in_the_same_run(tmp_path, cli_env, store, api,
                                                                            sandbox_posts, stack_cfg):
    item_id = "e2e-design"
    folder = write_item(tmp_path, item_id, "singkawang", ["instagram", "x"])
    (folder / "poster.jpg").write_bytes(corpus.pdf_bytes())  # a PDF saved as .jpg
    assert humas(["submit", str(folder)]) == 0

    status = wait_for_state(store, item_id, {"assets_failed"}, 240)
    assert "poster.jpg" in status["message"] and "PDF" in status["message"]  # Bahasa Indonesia, names the file
    codes = {f["code"] for f in store.get_json(layout.findings_key(item_id))["findings"]}
    assert codes & {"ASSET_FORMAT_MISMATCH", "ASSET_NOT_IMAGE"}

    # The designer drops a corrected camera photo (with the GPS position in its EXIF) under the same name.
    corrected = corpus.camera_photo((1800, 1200), seed=7)
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "poster.jpg").write_bytes(corrected)
    assert humas(["deliver", item_id, str(tmp_path / "v2" / "poster.jpg"), "--user", "skw.rizki"]) == 0
    wait_for_state(store, item_id, {"awaiting_approval"}, 240, step="step_3_decision")
    assert store.get_bytes(layout.asset_key(item_id, "poster.jpg")) == corrected  # originals intact

    report = store.get_json(layout.findings_key(item_id))
    profiles = load_profiles()
    for rendition in report["renditions"]:
        data = store.get_bytes(rendition["key"])
        placement = profiles[rendition["channel"]].default
        assert rendition_problems(data, placement) == [], rendition
    assert store.exists(layout.preview_key(item_id))

    assert decide(stack_cfg, store, item_id, "singkawang") == 0
    assert wait_for_state(store, item_id, {"published", "publish_failed"}, 240)["state"] == "published"
    mine = [p for p in sandbox_posts() if item_id in (p.get("caption") or p.get("text") or "")]
    assert sorted(p["channel"] for p in mine) == ["instagram", "x"]
    assert all(not image["exif_gps"] for post in mine for image in post["images"])
    runs = api(f"/api/v2/dags/humas_sop_singkawang/dagRuns?run_id_pattern={item_id}")["dag_runs"]
    assert len(runs) == 1
