"""Comparing what a platform shows with the approved rendition: by picture, so a re-encoded, resized copy (what
Instagram, Facebook and X serve) matches and another picture does not."""
from __future__ import annotations

import io

from PIL import Image, ImageOps

from humas.platforms import MediaRef
from humas.verify import compare


def _jpeg(picture: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _poster() -> Image.Image:
    ramp = Image.linear_gradient("L").rotate(90).resize((1080, 1350))
    return Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_TOP_BOTTOM), ramp))


APPROVED = MediaRef("01-poster.jpg", "https://bucket.example/01-poster.jpg", _jpeg(_poster()))


def test_the_same_bytes_match_and_say_so() -> None:
    row = compare(APPROVED, APPROVED.data)
    assert row["result"] == "match" and row["distance"] == 0 and row["same_bytes"]


def test_a_re_encoded_smaller_copy_matches_without_the_same_bytes() -> None:
    shown = _jpeg(_poster().resize((720, 900)), quality=40)
    row = compare(APPROVED, shown)
    assert row["result"] == "match" and not row["same_bytes"]


def test_another_picture_is_a_mismatch() -> None:
    row = compare(APPROVED, _jpeg(ImageOps.invert(_poster())))
    assert row["result"] == "mismatch" and row["distance"] > 6


def test_nothing_readable_is_unreadable_not_a_mismatch() -> None:
    assert compare(APPROVED, b"")["result"] == "unreadable"
    assert compare(APPROVED, b"<html>not found</html>")["result"] == "unreadable"
