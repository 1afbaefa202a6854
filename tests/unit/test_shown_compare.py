"""Comparing what a platform shows with the approved rendition: by picture, so a re-encoded, resized copy (what
Instagram, Facebook and X serve) matches and another picture does not; a video by its first frame or its cover."""
from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import urlopen

import pytest
from PIL import Image, ImageOps

from humas.platforms import MediaRef
from humas.verify import compare
from video_corpus import clip


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


@pytest.fixture()
def cover_url(tmp_path: Path) -> Iterator[str]:
    """A decreasing gradient (every difference-hash bit set) served over HTTP as a video's approved cover."""
    (tmp_path / "cover.jpg").write_bytes(_jpeg(_poster().transpose(Image.Transpose.FLIP_LEFT_RIGHT).convert("L")
                                               .convert("RGB")))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/cover.jpg"
    server.shutdown()
    server.server_close()


def test_a_video_matches_by_its_first_frame_or_by_its_cover(tmp_path: Path, cover_url: str) -> None:
    path = clip(tmp_path / "plain.mp4", width=64, height=64, seconds=1, audio_rate=None)   # grey frames: hash 0
    video = MediaRef("reel.mp4", "https://bucket.example/reel.mp4", b"", "video/mp4", path=str(path), kind="video")
    with urlopen(cover_url) as answer:                                                # noqa: S310 - local server
        cover = answer.read()
    assert compare(video, cover)["result"] == "mismatch"                              # no cover: not the frame
    assert compare(replace(video, cover_url=cover_url), cover)["result"] == "match"   # the Reel's own cover
    first_frame = _jpeg(Image.new("RGB", (64, 64), (128, 128, 128)))
    assert compare(replace(video, cover_url=cover_url), first_frame)["result"] == "match"
