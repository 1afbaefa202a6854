"""Video probe and checks on the generated corpus (tests/video_corpus.py): every file with its expected codes."""
from __future__ import annotations

import dataclasses
import tracemalloc

import pytest

import video_corpus
from humas.assets import check_assets
from humas.assets.checks import channel_label
from humas.assets.probe import AssetRefused
from humas.profiles import load_profiles
from humas.video import probe as video_probe
from humas.video.checks import asset_findings, gif_kept, rendition_video_problems, video_findings
from humas.video.probe import HEAD_BYTES, is_video, media_kind, probe_video

PLACEMENTS = (("instagram", "reels"), ("instagram", "story"), ("facebook", "reels"), ("facebook", "video"),
              ("x", "post_video"), ("x", "post_image"))
SMALL = {"facebook/reels": ["VIDEO_TOO_SMALL"]}   # 324x576 is under Facebook Reels' 540x960
NO_VIDEO = {"x/post_image": ["VIDEO_PLACEMENT_NO_VIDEO"]}

# name -> (findings once per video, {placement: codes} for the placements not listed as clean)
EXPECTED: dict[str, tuple[list[str], dict[str, list[str]]]] = {
    "good.mp4": ([], {**NO_VIDEO}),
    "base.mp4": ([], {**SMALL, **NO_VIDEO}),
    "hevc.mp4": ([], {**SMALL, **NO_VIDEO, "x/post_video": ["VIDEO_CODEC_CONVERTED"]}),
    "clip.mov": ([], {**SMALL, **NO_VIDEO}),
    "mov_named.mp4": (["VIDEO_EXTENSION_MISMATCH"], {**SMALL, **NO_VIDEO}),
    "video.jpg": (["VIDEO_EXTENSION_MISMATCH"], {**SMALL, **NO_VIDEO}),
    "vfr.mp4": (["VIDEO_VFR_CONVERTED"], {**NO_VIDEO, "instagram/reels": ["VIDEO_FPS_CONVERTED"],
                                          "instagram/story": ["VIDEO_FPS_CONVERTED"],
                                          "facebook/reels": ["VIDEO_TOO_SMALL", "VIDEO_FPS_CONVERTED"],
                                          "facebook/video": ["VIDEO_FPS_CONVERTED"]}),
    "rotated.mp4": (["VIDEO_ROTATION_APPLIED"], {**SMALL, **NO_VIDEO}),
    "moov_end.mp4": (["VIDEO_FASTSTART_APPLIED"], {**SMALL, **NO_VIDEO}),
    "audio64k.mp4": ([], {**NO_VIDEO, "instagram/reels": ["VIDEO_AUDIO_CONVERTED"],
                          "instagram/story": ["VIDEO_AUDIO_CONVERTED"],
                          "facebook/reels": ["VIDEO_TOO_SMALL", "VIDEO_AUDIO_CONVERTED"],
                          "facebook/video": ["VIDEO_AUDIO_CONVERTED"], "x/post_video": ["VIDEO_AUDIO_CONVERTED"]}),
    "surround.mp4": ([], {**SMALL, **NO_VIDEO, "x/post_video": ["VIDEO_AUDIO_CONVERTED"]}),
    "no_audio.mp4": (["VIDEO_NO_AUDIO"], {**SMALL, **NO_VIDEO}),
    "high444.mp4": ([], {**SMALL, **NO_VIDEO, "x/post_video": ["VIDEO_CODEC_CONVERTED"]}),
    "short.mp4": ([], {**NO_VIDEO, "instagram/reels": ["VIDEO_TOO_SHORT"], "instagram/story": ["VIDEO_TOO_SHORT"],
                       "facebook/reels": ["VIDEO_TOO_SHORT", "VIDEO_TOO_SMALL"]}),
    "narrow.mp4": ([], {**NO_VIDEO, "instagram/reels": ["VIDEO_TOO_SMALL"], "instagram/story": ["VIDEO_TOO_SMALL"],
                        "facebook/reels": ["VIDEO_TOO_SMALL"]}),
    "fps22.mp4": ([], {**NO_VIDEO, "instagram/reels": ["VIDEO_FPS_CONVERTED"], "instagram/story": ["VIDEO_FPS_CONVERTED"],
                       "facebook/reels": ["VIDEO_TOO_SMALL", "VIDEO_FPS_CONVERTED"],
                       "facebook/video": ["VIDEO_FPS_CONVERTED"]}),
    "wide.mp4": ([], {**NO_VIDEO, "facebook/reels": ["VIDEO_TOO_SMALL"]}),
    "over3to1.mp4": ([], {**NO_VIDEO, "instagram/reels": ["VIDEO_TOO_SHORT"], "instagram/story": ["VIDEO_TOO_SHORT"],
                          "facebook/reels": ["VIDEO_TOO_SHORT", "VIDEO_TOO_SMALL"],
                          "facebook/video": ["VIDEO_ASPECT_ADJUSTED"],   # Page video: 9:16 to 16:9
                          "x/post_video": ["VIDEO_ASPECT_ADJUSTED"]}),
    "x1282.mp4": ([], {**NO_VIDEO, "instagram/reels": ["VIDEO_TOO_SHORT", "VIDEO_SCALED_DOWN"],
                       "instagram/story": ["VIDEO_TOO_SHORT", "VIDEO_SCALED_DOWN"],
                       "facebook/reels": ["VIDEO_TOO_SHORT", "VIDEO_TOO_SMALL", "VIDEO_SCALED_DOWN"],
                       "x/post_video": ["VIDEO_SCALED_DOWN"]}),
    "fb_reels_91s.mp4": ([], {**NO_VIDEO, "instagram/story": ["VIDEO_TOO_LONG"], "facebook/reels": ["VIDEO_TOO_LONG"]}),
    "story_61s.mp4": ([], {**SMALL, **NO_VIDEO, "instagram/story": ["VIDEO_TOO_LONG"]}),
    "x_141s.mp4": ([], {**NO_VIDEO, "instagram/story": ["VIDEO_TOO_LONG"],
                        "facebook/reels": ["VIDEO_TOO_LONG", "VIDEO_TOO_SMALL"], "x/post_video": ["VIDEO_TOO_LONG"]}),
    "reels_901s.mp4": ([], {**NO_VIDEO, "instagram/reels": ["VIDEO_TOO_LONG", "VIDEO_BITRATE_LOWERED"],
                            "instagram/story": ["VIDEO_TOO_LONG", "VIDEO_RENDITION_TOO_LARGE"],
                            "facebook/reels": ["VIDEO_TOO_LONG", "VIDEO_TOO_SMALL"],
                            "x/post_video": ["VIDEO_TOO_LONG", "VIDEO_BITRATE_LOWERED"]}),
    "animated.gif": ([], {"x/post_image": [],
                          **{p: ["VIDEO_GIF_LOOPED", "VIDEO_TOO_SMALL", "VIDEO_CODEC_CONVERTED", "VIDEO_FPS_CONVERTED"]
                             for p in ("instagram/reels", "instagram/story", "facebook/reels")},
                          "facebook/video": ["VIDEO_TOO_SMALL", "VIDEO_CODEC_CONVERTED", "VIDEO_FPS_CONVERTED"],
                          "x/post_video": ["VIDEO_CODEC_CONVERTED"]}),
}
REFUSED = {
    "still.gif": "VIDEO_NOT_VIDEO", "empty.mp4": "VIDEO_EMPTY", "truncated.mp4": "VIDEO_TRUNCATED",
    "unfinished.mp4": "VIDEO_TRUNCATED", "huge_dims.mp4": "VIDEO_DIMENSIONS_REFUSED",
    "ten_hours.mp4": "VIDEO_DURATION_REFUSED", "billion_frames.mp4": "VIDEO_CORRUPT",
    "zip.mp4": "VIDEO_NOT_VIDEO", "jpeg.mp4": "VIDEO_NOT_VIDEO",
    "huge_moov.mp4": "VIDEO_HEADER_TOO_LARGE", "audio_only.mp4": "VIDEO_NO_VIDEO_STREAM",
    "garbage_index.mp4": "VIDEO_CORRUPT", "webm.mp4": "VIDEO_NOT_VIDEO",
}
NOT_VIDEO = {"still.gif", "empty.mp4", "zip.mp4", "jpeg.mp4", "webm.mp4"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return video_corpus.build(tmp_path_factory.mktemp("video"))


@pytest.fixture(scope="module")
def infos(corpus):
    return {name: probe_video(name, corpus[name]) for name in EXPECTED}


def _head(path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(HEAD_BYTES)


def test_the_corpus_is_fully_covered(corpus):
    assert set(corpus) == set(EXPECTED) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_video_gets_its_expected_codes(name, infos):
    info = infos[name]
    profiles = load_profiles()
    once, by_placement = EXPECTED[name]
    got = {}
    for channel, placement_name in PLACEMENTS:
        placement = profiles[channel].placements[placement_name]
        found = video_findings(name, info, channel, channel_label(profiles[channel], placement), placement)
        assert all(f.channel == channel and f.asset == name for f in found)
        got[f"{channel}/{placement_name}"] = [f.code for f in found]
    assert [f.code for f in asset_findings(name, info)] == once
    assert got == {f"{c}/{p}": by_placement.get(f"{c}/{p}", []) for c, p in PLACEMENTS}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_hostile_files_are_refused_with_a_stable_code(name, corpus):
    with pytest.raises(AssetRefused) as refused:
        probe_video(name, corpus[name])
    assert refused.value.finding.code == REFUSED[name]
    assert refused.value.finding.severity == "error" and name in refused.value.finding.message_id


@pytest.mark.parametrize("name", ["huge_moov.mp4", "ten_hours.mp4", "huge_dims.mp4", "truncated.mp4",
                                  "billion_frames.mp4"])
def test_hostile_headers_are_refused_in_bounded_memory(name, corpus):
    tracemalloc.start()
    try:
        with pytest.raises(AssetRefused):
            probe_video(name, corpus[name])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024     # the 200 MB index of huge_moov.mp4 is never read


def test_videos_are_told_by_their_bytes_not_their_names(corpus):
    assert {name for name, path in corpus.items() if not is_video(name, _head(path))} == NOT_VIDEO
    assert is_video("clip.jpg", _head(corpus["video.jpg"]))
    kinds = {name: media_kind(name, _head(corpus[name])) for name in ("animated.gif", "still.gif", "clip.mov")}
    assert kinds == {"animated.gif": "gif", "still.gif": "image", "clip.mov": "video"}


def test_probe_reads_what_the_file_is(infos):
    good, rotated, gif = infos["good.mp4"], infos["rotated.mp4"], infos["animated.gif"]
    assert (good.container, good.video_codec, good.video_profile, good.width, good.height, good.fps) == \
        ("MP4", "h264", "High", 540, 960, 24.0)
    assert (good.audio_codec, good.audio_profile, good.audio_rate, good.audio_channels) == ("aac", "LC", 48000, 2)
    assert good.faststart and not good.vfr and 3.1 < good.duration < 3.3
    assert (rotated.rotation, rotated.width, rotated.height) == (90, 324, 576)   # stored 576x324, shown upright
    assert infos["clip.mov"].container == "MOV" and infos["mov_named.mp4"].container == "MOV"
    assert infos["hevc.mp4"].video_codec == "hevc" and infos["vfr.mp4"].vfr
    assert not infos["moov_end.mp4"].faststart
    assert infos["audio64k.mp4"].audio_rate == 64000 and infos["surround.mp4"].audio_channels == 6
    assert infos["no_audio.mp4"].audio_codec is None
    assert 91 <= round(infos["fb_reels_91s.mp4"].duration) and infos["fb_reels_91s.mp4"].fps == 24.0
    assert gif.is_gif and gif.container == "GIF" and abs(gif.duration - 1.2) < 0.01 and gif.fps == 10.0


def test_messages_say_what_to_fix(infos):
    profiles = load_profiles()
    reels = profiles["instagram"].placements["reels"]
    short = video_findings("short.mp4", infos["short.mp4"], "instagram", "Instagram reels", reels)
    assert short[0].message_id == "Durasi short.mp4 2,9 detik; Instagram reels perlu minimal 3 detik: perpanjang video."
    long = video_findings("reels_901s.mp4", infos["reels_901s.mp4"], "instagram", "Instagram reels", reels)
    assert "15 menit 1 detik" in long[0].message_id and "potong video menjadi paling lama 15 menit" in long[0].message_id
    post_image = profiles["x"].placements["post_image"]
    nowhere = video_findings("good.mp4", infos["good.mp4"], "x", "X post_image", post_image)
    assert nowhere[0].message_id.endswith("pilih penempatan yang menerima video: post_video.")


def test_wide_video_is_too_far_from_facebook_reels_ratio(infos):
    profiles = load_profiles()
    fb_reels = profiles["facebook"].placements["reels"]
    tall_enough = dataclasses.replace(infos["wide.mp4"], width=1920, height=1080)
    found = video_findings("wide.mp4", tall_enough, "facebook", "Facebook reels", fb_reels)
    assert [f.code for f in found] == ["VIDEO_ASPECT_OUT_OF_RANGE", "VIDEO_SCALED_DOWN"]
    assert "9:16" in found[0].message_id and "16:9" in found[0].message_id


def test_a_gif_too_large_for_x_names_the_video_placement(infos):
    post_image = dataclasses.replace(load_profiles()["x"].placements["post_image"], max_gif_bytes=1000)
    gif = infos["animated.gif"]
    assert gif_kept(gif, post_image)
    found = video_findings("animated.gif", gif, "x", "X post_image", post_image)
    assert [f.code for f in found] == ["VIDEO_GIF_TOO_LARGE"] and "post_video" in found[0].message_id
    assert rendition_video_problems(gif, post_image) != []


def test_rendition_self_check_is_strict(infos):
    profiles = load_profiles()
    for channel, placement_name in PLACEMENTS[:-1]:
        assert rendition_video_problems(infos["good.mp4"], profiles[channel].placements[placement_name]) == []
    reels = profiles["instagram"].placements["reels"]
    assert rendition_video_problems(infos["moov_end.mp4"], reels) == ["index (moov) after the media data"]
    assert rendition_video_problems(infos["rotated.mp4"], reels) == ["turned 90 degrees"]
    assert rendition_video_problems(infos["vfr.mp4"], reels) == ["frame rate 18.87 fps is below 23 fps",
                                                                 "variable frame rate"]
    assert rendition_video_problems(infos["audio64k.mp4"], reels) == ["audio at 64000 Hz is over 48000 Hz"]
    assert rendition_video_problems(infos["high444.mp4"], profiles["x"].placements["post_video"])
    assert rendition_video_problems(infos["good.mp4"], profiles["x"].placements["post_image"])


def test_an_ffmpeg_failure_is_a_finding_not_a_crash(corpus, monkeypatch):
    def broken(*args, **kwargs):
        raise MemoryError("hostile stream")
    monkeypatch.setattr(video_probe.av, "open", broken)
    with pytest.raises(AssetRefused) as refused:
        probe_video("good.mp4", corpus["good.mp4"])
    assert refused.value.finding.code == "VIDEO_CORRUPT"


def test_an_image_for_a_video_only_placement_is_a_finding(corpus):
    review = check_assets("i", [("poster.jpg", video_corpus.jpeg_bytes())], ["instagram", "x"], "Halo",
                          placement_overrides={"instagram": "reels"})
    codes = {(f.code, f.channel) for f in review.findings}
    assert ("ASSET_VIDEO_ONLY_PLACEMENT", "instagram") in codes
    assert "ASSET_CHECK_FAILED" not in {c for c, _ in codes}
    assert review.publishable() == ["x"] and {r.channel for r in review.renditions} == {"x"}
    message = next(f.message_id for f in review.findings if f.code == "ASSET_VIDEO_ONLY_PLACEMENT")
    assert "feed, story" in message


def test_a_still_image_named_mp4_is_flagged_on_the_image_path():
    review = check_assets("i", [("poster.mp4", video_corpus.jpeg_bytes())], ["facebook"], "Halo")
    assert "ASSET_EXTENSION_MISMATCH" in [f.code for f in review.findings] and review.ok


def test_a_ten_minute_reel_is_made_at_a_lower_bit_rate_and_only_a_far_longer_one_must_be_cut(infos):
    reels = load_profiles()["instagram"].placements["reels"]
    ten_minutes = dataclasses.replace(infos["good.mp4"], duration=600.0)
    [lowered] = [f for f in video_findings("good.mp4", ten_minutes, "instagram", "Instagram reels", reels)
                 if f.code.startswith("VIDEO_B") or f.code == "VIDEO_RENDITION_TOO_LARGE"]
    assert lowered.code == "VIDEO_BITRATE_LOWERED" and lowered.severity == "warning"

    story = load_profiles()["instagram"].placements["story"]   # 100 MB: 10 minutes would need under 40% of 5 Mbit/s
    found = video_findings("good.mp4", ten_minutes, "instagram", "Instagram story", story)
    assert "VIDEO_RENDITION_TOO_LARGE" in [f.code for f in found if f.blocking]
