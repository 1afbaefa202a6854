"""The design check of items with videos: placements chosen, one transcode per spec, renditions that satisfy the
platform profile, covers, the preview tile, GIFs kept where X takes them; images and videos mixed in a carousel."""
from __future__ import annotations

import hashlib
from pathlib import Path

import av
import pytest

import asset_corpus
import video_corpus
from humas.assets import check_assets
from humas.profiles import load_profiles
from humas.video.checks import rendition_video_problems
from humas.video.probe import probe_video


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {"vertical": video_corpus.clip(folder / "klip.mp4", width=540, height=960, seconds=3.5),
            "short": video_corpus.clip(folder / "pendek.mp4", width=540, height=960, seconds=2.0),
            "gif": video_corpus.animated_gif(folder / "animasi.gif", size=240)}


def test_a_lone_video_goes_to_each_channels_video_placement_and_every_rendition_fits_it(clips, tmp_path):
    review = check_assets("item-video", [("klip.mp4", clips["vertical"])], ["instagram", "facebook", "x"], "Uji",
                          workdir=tmp_path)

    assert review.ok, [f.message_en for f in review.findings if f.blocking]
    assert review.placements == {"instagram": "reels", "facebook": "video", "x": "post_video"}
    profiles = load_profiles()
    for r in review.renditions:
        assert r.kind == "video" and r.content_type == "video/mp4" and r.data == b"" and r.cover
        placement = profiles[r.channel].placements[review.placements[r.channel]]
        assert rendition_video_problems(probe_video(r.name, Path(r.path)), placement) == []
        assert hashlib.sha256(Path(r.path).read_bytes()).hexdigest() == r.sha256
        assert abs(r.duration - 3.5) < 0.1
    assert len({r.path for r in review.renditions}) == 3          # three specs, three transcodes
    assert "data" not in review.to_json()["renditions"][0] and review.to_json()["renditions"][0]["bytes"] > 0
    assert review.preview and review.preview[:2] == b"\xff\xd8"   # the sheet shows the video's tile


def test_a_video_too_short_for_reels_blocks_instagram_only(clips, tmp_path):
    review = check_assets("item-video", [("pendek.mp4", clips["short"])], ["instagram", "x"], None, workdir=tmp_path)

    assert [f.code for f in review.blocking_for("instagram")] == ["VIDEO_TOO_SHORT"]
    assert review.blocking_for("x") == [] and [r.channel for r in review.renditions] == ["x"]


def test_an_animated_gif_stays_a_gif_on_x_and_becomes_an_mp4_elsewhere(clips, tmp_path):
    review = check_assets("item-gif", [("animasi.gif", clips["gif"])], ["x", "facebook"], None, workdir=tmp_path)

    assert review.placements == {"x": "post_image", "facebook": "video"}
    by_channel = {r.channel: r for r in review.renditions}
    assert by_channel["x"].content_type == "image/gif" and by_channel["x"].data == clips["gif"].read_bytes()
    with av.open(by_channel["facebook"].path) as video:
        assert video.streams.video[0].codec_context.name == "h264"


def test_images_and_a_video_make_an_instagram_carousel(clips, tmp_path):
    photo = asset_corpus.camera_photo()
    review = check_assets("item-mix", [("foto.jpg", photo), ("klip.mp4", clips["vertical"])], ["instagram"], "Uji",
                          workdir=tmp_path)

    assert review.placements == {"instagram": "feed"}
    assert [r.kind for r in review.renditions] == ["image", "video"], review.findings
    assert not review.blocking_for("instagram")


def test_a_video_in_memory_without_a_workdir_is_checked_in_a_folder_the_review_keeps(clips):
    review = check_assets("item-video", [("klip.mp4", clips["vertical"])], ["x"], None)

    assert review.ok and Path(review.renditions[0].path).is_file()


@pytest.mark.parametrize("module", ["humas.video.render", "humas.video.frames", "humas.assets", "humas.assets.video"])
def test_each_video_module_imports_first_in_a_fresh_interpreter(module):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-1500:]
