"""The findings report (JSON, Markdown, log lines), the preview sheet and the code catalogue."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from humas.assets import CODES, check_assets
from humas.assets.model import SEVERITIES

import asset_corpus as corpus

CHANNELS = ["instagram", "facebook", "x"]
DOC = Path(__file__).resolve().parents[2] / "docs" / "asset-checks.md"


@pytest.fixture(scope="module")
def review():
    assets = [("foto.jpg", corpus.camera_photo()), ("bom.png", corpus.png_bomb()),
              ("logo.png", corpus.transparent_palette_png())]
    return check_assets("2026-11-22-hut-kota", assets, CHANNELS, "x" * 300)


def test_json_report_is_machine_readable_and_carries_no_image_bytes(review):
    report = json.loads(json.dumps(review.to_json()))

    assert report["item_id"] == "2026-11-22-hut-kota" and report["ok"] is False
    assert report["summary"]["error"] == 2
    assert report["channels"]["x"]["blocking"] == ["ASSET_DECOMPRESSION_BOMB", "CAPTION_TOO_LONG"]
    assert [a["name"] for a in report["assets"]] == ["foto.jpg", "bom.png", "logo.png"]
    assert report["assets"][1]["codes"] == ["ASSET_DECOMPRESSION_BOMB"] and report["assets"][1]["ok"] is False
    assert {f["code"] for f in report["findings"]} >= {"ASSET_DECOMPRESSION_BOMB", "ASSET_GPS_REMOVED"}
    assert report["preview"] is True
    assert "data" not in json.dumps(report["renditions"])


def test_markdown_report_is_in_bahasa_indonesia_and_says_what_to_do(review):
    text = review.to_markdown()

    assert text.startswith("# Pemeriksaan desain: 2026-11-22-hut-kota")
    assert "PERLU PERBAIKAN" in text and "## Harus diperbaiki" in text
    bomb = next(f for f in review.findings if f.code == "ASSET_DECOMPRESSION_BOMB")
    assert bomb.message_id in text and "`ASSET_DECOMPRESSION_BOMB`" in text
    assert review.asset_digests["foto.jpg"] in text


def test_log_lines_are_english(review):
    lines = review.log_lines()

    assert lines[0].startswith("item 2026-11-22-hut-kota: sent back to the designer; 2 error(s)")
    assert any(line.startswith("ERROR ASSET_DECOMPRESSION_BOMB asset=bom.png channel=*:") for line in lines)


def test_preview_is_a_jpeg_contact_sheet(review):
    sheet = Image.open(io.BytesIO(review.preview))

    assert sheet.format == "JPEG" and sheet.mode == "RGB"
    assert sheet.width >= 3 * 300 and sheet.height > 300


def test_review_of_a_good_item_is_publishable():
    good = check_assets("item", [("foto.jpg", corpus.camera_photo())], CHANNELS, "Info layanan")

    assert good.ok and good.publishable() == CHANNELS
    assert "SIAP TERBIT" in good.to_markdown()
    assert good.to_json()["channels"]["instagram"]["renditions"] == ["01-foto.jpg"]


def test_every_code_is_well_formed():
    for code, spec in CODES.items():
        assert re.fullmatch(r"(ASSET|CAPTION|ITEM|VIDEO)_[A-Z0-9_]+", code)
        assert spec.severity in SEVERITIES and spec.fix
        if spec.scope in ("asset", "channel") and code != "ASSET_TOO_MANY_ITEMS":
            assert "{asset}" in spec.message_id and "{asset}" in spec.message_en, code


def test_every_code_is_documented():
    text = DOC.read_text(encoding="utf-8")

    missing = [code for code in CODES if f"`{code}`" not in text]
    assert missing == []
