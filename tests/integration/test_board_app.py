"""The inbox thumbnails and the board's item report through the real FastAPI apps, over a real S3 server (only
Airflow's sign-in is replaced by a fixed login)."""
from __future__ import annotations

import io
from datetime import date

import pytest
import yaml
from fastapi.testclient import TestClient
from PIL import Image

from humas import layout
from humas.board import ItemIndex
from humas.reports import write_item_report
from humas.status import record_state

pytestmark = pytest.mark.integration


def _jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (1080, 1350)) -> bytes:
    """A design-sized preview: ``colour`` over its top half, noise (the weight of a photo) below."""
    image = Image.effect_noise(size, 50).convert("RGB")
    image.paste(colour, (0, 0, size[0], size[1] // 2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _item(store, item_id: str, sop: str, submitter: str, preview: bytes | None = None) -> None:
    store.put_bytes(layout.brief_key(item_id), yaml.safe_dump(
        {"title": f"Judul {item_id}", "caption": "Teks", "channels": ["facebook"], "sop": sop,
         "assets": ["poster.jpg"], "submitter": submitter, "event_date": date(2026, 12, 31)}).encode())
    record_state(store, item_id, "awaiting_approval", step="step_3_decision")
    if preview:
        store.put_bytes(layout.preview_key(item_id), preview, "image/jpeg")


@pytest.fixture()
def apps(store, monkeypatch):
    from humas_airflow import approval_app, board_app

    async def person(request):
        return "skw.hendra"

    async def ops(request):
        return "admin"

    index = ItemIndex()
    for module in (approval_app, board_app):
        monkeypatch.setattr(module, "_store", lambda: store)
        monkeypatch.setattr(module, "INDEX", index)
    monkeypatch.setattr(approval_app, "_person", person)
    monkeypatch.setattr(board_app, "_ops", ops)
    monkeypatch.setattr(approval_app, "THUMBNAILS", approval_app.ThumbnailCache())
    return TestClient(approval_app.app), TestClient(board_app.app)


def test_an_inbox_thumbnail_is_small_made_once_per_design_and_only_for_ones_own_agency(store, apps):
    approvals, _ = apps
    preview = _jpeg((200, 30, 30))
    _item(store, "skw-thumb", "singkawang", "skw.ayu", preview)
    _item(store, "kdl-thumb", "kendal", "kdl.dewi", preview)
    first = approvals.get("/approvals/skw-thumb/thumb.jpg")
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(first.content)) as thumb:
        assert thumb.size == (144, 144) and thumb.getpixel((72, 5))[0] > 150  # the design's top half, cropped
    assert len(first.content) * 20 < len(preview)
    again = approvals.get("/approvals/skw-thumb/thumb.jpg", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    store.put_bytes(layout.preview_key("skw-thumb"), _jpeg((30, 30, 200)), "image/jpeg")  # a corrected design
    changed = approvals.get("/approvals/skw-thumb/thumb.jpg", headers={"If-None-Match": first.headers["etag"]})
    with Image.open(io.BytesIO(changed.content)) as thumb:
        assert changed.status_code == 200 and thumb.getpixel((72, 5))[2] > 150
    assert approvals.get("/approvals/kdl-thumb/thumb.jpg").status_code == 404  # another agency's item
    _item(store, "skw-no-design", "singkawang", "skw.ayu")
    assert approvals.get("/approvals/skw-no-design/thumb.jpg").status_code == 404


def test_the_board_serves_the_item_report_with_the_one_stylesheet(store, apps, sops):
    _, board = apps
    _item(store, "rep-pub", "singkawang", "skw.ayu")
    record_state(store, "rep-pub", "published", step="step_4_upload")
    write_item_report(store, "rep-pub", sops["singkawang"])
    page = board.get("/items/rep-pub/report")
    assert page.status_code == 200 and "<style" not in page.text
    assert "href='/humas/static/humas.css'" in page.text and "<h2>Waktu per langkah</h2>" in page.text
    assert "style-src 'self'" in page.headers["content-security-policy"]


def test_a_refused_report_of_an_item_started_after_all_is_not_shown_as_its_state(store, apps):
    _, board = apps
    _item(store, "fixed", "singkawang", "skw.ayu")
    record_state(store, "fixed", "refused", message="Brief item fixed ditolak", details={"problems": []})
    write_item_report(store, "fixed")
    assert "Ditolak: brief tidak valid" in board.get("/items/fixed/report").text
    record_state(store, "fixed", "in_step", step="step_1_concept")  # the brief was fixed: its run started
    page = board.get("/items/fixed/report").text
    assert "Ditolak: brief tidak valid" not in page and "Alasan ditolak" not in page
    assert board.get("/items/nothing-here/report").status_code == 404
