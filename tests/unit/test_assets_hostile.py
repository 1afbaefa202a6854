"""Hostile and broken files: each gives its own code, in both languages, and nothing crashes or decodes."""
from __future__ import annotations

import io
import random

import pytest
from PIL import ImageFile

from humas.assets import Limits, check_assets

import asset_corpus as corpus

CHANNELS = ["instagram", "facebook", "x"]


def _review(name: str, data: bytes, **kwargs):
    return check_assets("2026-11-22-hut-kota", [(name, data)], CHANNELS, None, **kwargs)


def _codes(review) -> set[str]:
    return {f.code for f in review.findings}


HOSTILE = [
    ("bom-10gp.png", corpus.png_bomb, "ASSET_DECOMPRESSION_BOMB"),
    ("bom-144mp.png", corpus.png_real_bomb, "ASSET_DECOMPRESSION_BOMB"),
    ("bom-3600mp.jpg", corpus.jpeg_bomb, "ASSET_DECOMPRESSION_BOMB"),
    ("foto-terpotong.jpg", corpus.truncated_jpeg, "ASSET_TRUNCATED"),
    ("rusak.png", corpus.corrupt_png, "ASSET_CORRUPT"),
    ("poster.jpg", corpus.pdf_bytes, "ASSET_FORMAT_MISMATCH"),
    ("foto.png", corpus.exe_bytes, "ASSET_FORMAT_MISMATCH"),
    ("catatan.jpg", lambda: b"Poster belum jadi, menyusul besok.\n", "ASSET_FORMAT_MISMATCH"),
    ("brief.pdf", corpus.pdf_bytes, "ASSET_NOT_IMAGE"),
    ("IMG_0001.HEIC", corpus.heic_bytes, "ASSET_UNSUPPORTED_FORMAT"),
    ("IMG_0001.jpg", corpus.heic_bytes, "ASSET_UNSUPPORTED_FORMAT"),
    ("kosong.jpg", lambda: b"", "ASSET_EMPTY"),
    ("logo.png", lambda: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "ASSET_UNSUPPORTED_FORMAT"),
    ("album.zip", lambda: b"PK\x03\x04" + bytes(40), "ASSET_NOT_IMAGE"),
    ("garbage.jpg", lambda: b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9", "ASSET_CORRUPT"),
    ("cut-header.jpg", lambda: corpus.camera_photo()[:300], "ASSET_TRUNCATED"),
]


@pytest.mark.parametrize(("name", "make", "code"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_file_gets_its_code_and_blocks_every_channel(name, make, code):
    review = _review(name, make())

    assert code in _codes(review)
    refusal = next(f for f in review.findings if f.code == code)
    assert refusal.severity == "error" and refusal.asset == name and refusal.channel is None
    assert name in refusal.message_id and name in refusal.message_en
    assert not review.ok and review.renditions == []
    assert all(review.blocking_for(c) for c in CHANNELS)


def test_pdf_named_jpg_is_refused_as_what_it_is():
    finding = _review("poster.jpg", corpus.pdf_bytes()).findings[0]

    assert "dokumen PDF" in finding.message_id and "PDF document" in finding.message_en
    assert "JPEG atau PNG" in finding.message_id


def test_executable_named_png_is_named_as_a_program():
    finding = _review("foto.png", corpus.exe_bytes()).findings[0]

    assert "program Windows" in finding.message_id


@pytest.mark.parametrize("make", [corpus.png_bomb, corpus.png_real_bomb, corpus.jpeg_bomb])
def test_bomb_is_refused_from_its_header_without_decoding(make, monkeypatch):
    def decoded(self):
        raise AssertionError("a decompression bomb was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)
    review = _review("bom.png", make())

    assert [f.code for f in review.findings] == ["ASSET_DECOMPRESSION_BOMB"]
    assert "ditolak tanpa dibuka" in review.findings[0].message_id
    assert "MP" in review.findings[0].message_en


def test_bomb_message_gives_the_declared_size():
    finding = _review("bom.jpg", corpus.jpeg_bomb(60_000, 60_000)).findings[0]

    assert "60000x60000" in finding.message_en and "3,600.0 MP" in finding.message_en
    assert "60000×60000" in finding.message_id and "3.600,0 MP" in finding.message_id


def test_our_pixel_limit_governs_not_pillows():
    review = _review("foto.jpg", corpus.camera_photo(), limits=Limits(max_pixels=1_000_000))

    assert _codes(review) == {"ASSET_DECOMPRESSION_BOMB"}


def test_file_over_the_intake_limit_is_refused_unparsed():
    review = _review("besar.jpg", corpus.camera_photo(), limits=Limits(max_input_bytes=100_000))

    assert _codes(review) == {"ASSET_INPUT_TOO_LARGE"}


def test_truncated_jpeg_says_upload_again():
    finding = _review("foto.jpg", corpus.truncated_jpeg()).findings[0]

    assert finding.code == "ASSET_TRUNCATED"
    assert "Unggah ulang" in finding.message_id


def test_png_named_jpg_is_processed_with_a_warning():
    data = corpus.png(corpus.scene((1200, 1200), seed=9, noise=0))
    review = _review("poster.jpg", data)

    mismatch = next(f for f in review.findings if f.code == "ASSET_EXTENSION_MISMATCH")
    assert mismatch.severity == "warning" and ".png" in mismatch.message_id
    assert review.ok and len(review.renditions) == 3


def test_one_bad_asset_blocks_the_item_but_the_good_one_is_still_checked():
    review = check_assets("item", [("foto.jpg", corpus.camera_photo()), ("bom.png", corpus.png_bomb())],
                          CHANNELS, None)

    assert {f.asset for f in review.findings if f.blocking} == {"bom.png"}
    assert "ASSET_GPS_REMOVED" in {f.code for f in review.findings_for("foto.jpg")}
    assert review.renditions == []  # every channel is blocked by the bomb


def test_corrected_file_passes_on_the_next_check():
    bad = check_assets("item", [("poster.jpg", corpus.truncated_jpeg())], CHANNELS, "Info HUT Kota")
    fixed = check_assets("item", [("poster.jpg", corpus.camera_photo((1800, 1200), seed=5))], CHANNELS,
                         "Info HUT Kota")

    assert not bad.ok and "ASSET_TRUNCATED" in {f.code for f in bad.findings}
    assert fixed.ok and [r.channel for r in fixed.renditions] == CHANNELS


def test_item_without_assets_is_sent_back():
    review = check_assets("item", [], CHANNELS, "Info")

    assert [(f.code, f.severity, f.channel) for f in review.findings] == [("ITEM_NO_ASSETS", "error", None)]
    assert review.preview is None and not review.ok


def _mutations(seed: int, count: int):
    """Damaged variants of valid files: flipped bytes, cut tails, inserted junk."""
    rng = random.Random(seed)
    picture = corpus.scene((320, 240), seed=seed)
    bases = {}
    for fmt in ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"):
        buf = io.BytesIO()
        picture.save(buf, fmt)
        bases[fmt] = buf.getvalue()
    for _ in range(count):
        fmt = rng.choice(sorted(bases))
        data = bytearray(bases[fmt])
        roll = rng.random()
        if roll < 0.4:
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif roll < 0.7:
            data = data[:rng.randrange(1, len(data))]
        else:
            at = rng.randrange(len(data))
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 50)))
        yield fmt, bytes(data)


def test_damaged_files_never_crash_and_get_known_codes():
    from humas.assets import CODES

    for fmt, data in _mutations(seed=7, count=150):
        review = _review(f"rusak.{fmt.lower()}", data)
        assert {f.code for f in review.findings} <= set(CODES)
        assert review.ok == (not any(f.blocking for f in review.findings))


def test_an_internal_failure_on_one_file_is_reported_not_raised(monkeypatch):
    from humas.assets import renditions

    def broken(self, fit):
        raise RuntimeError("resize exploded")

    monkeypatch.setattr(renditions.Renderer, "picture", broken)
    review = check_assets("item", [("foto.jpg", corpus.camera_photo())], CHANNELS, None)

    failed = next(f for f in review.findings if f.code == "ASSET_CHECK_FAILED")
    assert failed.severity == "error" and "resize exploded" in failed.message_en
    assert "kesalahan sistem" in failed.message_id and review.renditions == []
