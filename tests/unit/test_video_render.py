"""Video renditions (issue 18 item 2): what comes out, read back with PyAV."""
from __future__ import annotations

import io
import struct
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from humas.profiles import load_profiles
from humas.video.frames import length_words
from humas.video.render import (RenderedVideo, VideoSpec, cover_jpeg, frames_at, geometry_filters, render_video,
                                spec_for, video_tile)

RED = (255, 0, 0)


# --- tiny inputs, made here with PyAV -------------------------------------------------------------------

def make_clip(path: Path, width: int = 64, height: int = 36, seconds: float = 1.0, fps: int = 25,
              audio_rate: int | None = 44100, channels: int = 2) -> Path:
    """An H.264 clip with a red top-left quadrant (to see rotation) and, unless ``audio_rate`` is None, a tone."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("aac", rate=audio_rate, layout="stereo" if channels == 2 else "mono") \
            if audio_rate else None
        for index in range(round(seconds * fps)):
            picture = np.zeros((height, width, 3), np.uint8)
            picture[: height // 2, : width // 2] = RED
            picture[height // 2:, :, 2] = index * 9 % 256
            out.mux(video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        out.mux(video.encode(None))
        if audio is not None:
            _tone(out, audio, audio_rate, channels, seconds)
    return path


def _tone(out, audio, rate: int, channels: int, seconds: float) -> None:
    total, done = int(rate * seconds), 0
    while done < total:
        count = min(1024, total - done)
        wave = (0.2 * np.sin(np.arange(done, done + count) * 2 * np.pi * 440 / rate)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.tile(wave, (channels, 1)), format="fltp", layout=audio.layout.name)
        frame.sample_rate, frame.pts = rate, done
        done += count
        out.mux(audio.encode(frame))
    out.mux(audio.encode(None))


def rotate_90(path: Path) -> Path:
    """Writes a phone's 'turn 90 degrees clockwise on display' matrix into the track header (tkhd v0)."""
    data = bytearray(path.read_bytes())
    matrix = data.index(b"tkhd") + 4 + 4 + 20 + 8 + 8
    struct.pack_into(">9I", data, matrix, 0, 0x10000, 0, 0xFFFF0000, 0, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))
    return path


def make_gif(path: Path, frames: int = 5, ms: int = 100) -> Path:
    pictures = [Image.new("RGB", (60, 40), (index * 50, 0, 0)) for index in range(frames)]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=ms, loop=0)
    return path


def top_level_boxes(path: Path) -> list[str]:
    names, data, at = [], path.read_bytes(), 0
    while at + 8 <= len(data):
        size, name = struct.unpack(">I4s", data[at:at + 8])
        names.append(name.decode())
        at += size if size else len(data)
    return names


def read_back(path: str) -> dict:
    with av.open(path) as source:
        video = source.streams.video[0]
        audio = source.streams.audio[0] if source.streams.audio else None
        first = next(source.decode(video=0)).to_ndarray(format="rgb24")
        return {"codec": video.codec_context.name, "profile": video.codec_context.profile,
                "width": video.width, "height": video.height, "fps": float(video.average_rate),
                "frames": video.frames, "duration": float(video.duration * video.time_base),
                "audio": None if audio is None else (audio.codec_context.name, audio.codec_context.profile,
                                                     audio.rate, audio.channels),
                "first": first}


PROFILES = load_profiles()


def placement(channel: str, name: str):
    return PROFILES[channel].placements[name]


def free_spec(**changes) -> VideoSpec:
    base = VideoSpec(box_width=1920, box_height=1920, bitrate=1_000_000, audio_bitrate=96_000, audio_rate=48000,
                     min_fps=None, max_fps=None, min_aspect=None, max_aspect=None, fit="pad", min_seconds=0)
    return replace(base, **changes)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("video")


# --- spec_for ---------------------------------------------------------------------------------------------

def test_spec_for_reads_the_placements_video_limits() -> None:
    reels = spec_for(placement("instagram", "reels"), "pad")
    assert (reels.box_width, reels.box_height, reels.bitrate, reels.audio_bitrate) == (1080, 1920, 5_000_000, 128_000)
    assert (reels.min_fps, reels.max_fps, reels.audio_rate, reels.min_seconds) == (23, 60, 48000, 3)
    fb = spec_for(placement("facebook", "reels"), "crop")
    assert (fb.min_aspect, fb.max_aspect, fb.fit) == (0.5625, 0.5625, "crop")
    x = spec_for(placement("x", "post_video"), "pad")
    assert (x.box_width, x.box_height, x.min_fps, x.max_fps) == (1280, 1024, None, 60)


def test_spec_for_refuses_an_image_placement_and_an_unknown_fit() -> None:
    with pytest.raises(ValueError, match="takes no video"):
        spec_for(placement("facebook", "photo"), "pad")
    with pytest.raises(ValueError, match="'pad' or 'crop'"):
        spec_for(placement("x", "post_video"), "stretch")


# --- the rendition ------------------------------------------------------------------------------------

def test_rendition_is_h264_high_aac_lc_faststart(media: Path) -> None:
    src = make_clip(media / "plain.mp4", 64, 36, seconds=1.0, fps=25)
    made = render_video(src, media / "plain_x.mp4", spec_for(placement("x", "post_video"), "pad"))
    got = read_back(made.path)
    assert (got["codec"], got["profile"]) == ("h264", "High")
    assert got["audio"] == ("aac", "LC", 44100, 2)
    boxes = top_level_boxes(Path(made.path))
    assert boxes.index("moov") < boxes.index("mdat")
    assert (got["width"], got["height"], got["fps"]) == (64, 36, 25.0)
    assert abs(got["duration"] - 1.0) <= 1 / 25
    assert isinstance(made, RenderedVideo) and made.content_type == "video/mp4"
    assert (made.width, made.height, made.fps, made.bytes) == (64, 36, 25.0, Path(made.path).stat().st_size)
    assert abs(made.duration - 1.0) <= 1 / 25 and len(made.sha256) == 64


def x264_settings(path: Path) -> dict[str, str]:
    """The options x264 wrote into the stream (its SEI text: 'x264 - core ... - options: a=1 b=2 ...')."""
    data = path.read_bytes()
    text = data[data.index(b"options: ") + 9:].split(b"\x00", 1)[0].decode("ascii", "replace")
    return dict(part.split("=", 1) for part in text.split() if "=" in part)


def test_encoder_uses_frame_threads_like_the_command_line(media: Path) -> None:
    """PyAV's default (slice threads) would make x264 cut every frame into slices: slower, and not the
    settings `ffmpeg -c:v libx264 -threads N` uses."""
    src = make_clip(media / "threads.mp4", 640, 360, seconds=0.2, audio_rate=None)
    made = render_video(src, media / "threads_x.mp4", spec_for(placement("x", "post_video"), "pad"), threads=2)
    options = x264_settings(Path(made.path))
    assert (options["threads"], options["sliced_threads"]) == ("2", "0")
    assert (options["rc"], options["bitrate"], options["vbv_maxrate"]) == ("abr", "5000", "7500")


def test_audio_is_resampled_to_the_placements_rate_and_mono_stays_mono(media: Path) -> None:
    src = make_clip(media / "hifi.mp4", seconds=0.5, audio_rate=96000, channels=1)
    made = render_video(src, media / "hifi_reels.mp4", spec_for(placement("instagram", "reels"), "pad"))
    assert read_back(made.path)["audio"] == ("aac", "LC", 48000, 1)


def test_silent_original_gets_no_audio_track(media: Path) -> None:
    src = make_clip(media / "silent.mp4", seconds=0.5, audio_rate=None)
    made = render_video(src, media / "silent_x.mp4", spec_for(placement("x", "post_video"), "pad"))
    assert read_back(made.path)["audio"] is None


def test_scaled_into_the_box_never_up(media: Path) -> None:
    src = make_clip(media / "wide.mp4", 320, 180, seconds=0.2, audio_rate=None)
    down = read_back(render_video(src, media / "wide_small.mp4", free_spec(box_width=160, box_height=160)).path)
    assert (down["width"], down["height"]) == (160, 90)
    same = read_back(render_video(src, media / "wide_big.mp4", free_spec()).path)
    assert (same["width"], same["height"]) == (320, 180)


@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_aspect_is_brought_into_the_placements_range(media: Path, fit: str) -> None:
    src = make_clip(media / f"land_{fit}.mp4", 320, 180, seconds=0.2, audio_rate=None)
    got = read_back(render_video(src, media / f"fb_reels_{fit}.mp4",
                                 spec_for(placement("facebook", "reels"), fit)).path)
    assert abs(got["width"] / got["height"] - 9 / 16) < 0.01
    assert got["width"] <= 1080 and got["height"] <= 1920
    top_row = got["first"][1, got["width"] // 2]
    if fit == "pad":  # black bars above and below the picture
        assert (got["width"], got["height"]) == (320, 568) and top_row.max() < 20
    else:             # the middle of the picture, full height
        assert got["height"] == 180


def test_geometry_rounds_to_even_sides_for_yuv420p() -> None:
    _, width, height = geometry_filters(333, 187, free_spec(box_width=101, box_height=101))
    assert width % 2 == 0 and height % 2 == 0 and width <= 102 and height <= 102


@pytest.mark.parametrize("fps, spec, expected", [(15, "reels", 23.0), (50, "capped", 30.0)])
def test_frame_rate_is_held_within_the_range(media: Path, fps: int, spec: str, expected: float) -> None:
    src = make_clip(media / f"fps{fps}.mp4", seconds=1.0, fps=fps, audio_rate=None)
    chosen = spec_for(placement("instagram", "reels"), "pad") if spec == "reels" else free_spec(max_fps=30)
    got = read_back(render_video(src, media / f"fps{fps}_out.mp4", chosen).path)
    assert got["fps"] == expected
    assert abs(got["duration"] - 1.0) <= 1 / expected + 1e-6


def test_rotation_is_applied(media: Path) -> None:
    src = rotate_90(make_clip(media / "phone.mp4", 64, 36, seconds=0.2, audio_rate=None))
    got = read_back(render_video(src, media / "phone_out.mp4", free_spec()).path)
    assert (got["width"], got["height"]) == (36, 64)
    first = got["first"]
    assert first[2, -3, 0] > 200 and first[2, 2, 0] < 60  # red top-left quadrant turned to the top right


def test_animated_gif_becomes_mp4_looped_to_the_minimum(media: Path) -> None:
    gif = make_gif(media / "anim.gif", frames=5, ms=100)  # 0.5 s
    made = render_video(gif, media / "anim.mp4", spec_for(placement("instagram", "reels"), "pad"))
    got = read_back(made.path)
    assert got["codec"] == "h264" and got["audio"] is None
    assert (got["width"], got["height"], got["fps"]) == (60, 40, 23.0)
    assert 3.0 <= got["duration"] <= 3.0 + 0.5 + 1 / 23
    assert top_level_boxes(Path(made.path))[:2] == ["ftyp", "moov"]


def test_long_video_bit_rate_is_lowered_to_fit_the_byte_limit() -> None:
    from humas.video import render
    lowered = render._bitrate_for(free_spec(max_bytes=10_000_000), 100.0)  # 1 Mbit/s for 100 s would not fit
    assert lowered < 1_000_000
    assert (lowered * render.MAXRATE + 96_000) * 100 / 8 <= 10_000_000
    assert render._bitrate_for(free_spec(max_bytes=10**9), 10.0) == 1_000_000


# --- stills -------------------------------------------------------------------------------------------------

def test_cover_and_frames_are_upright_and_bounded(media: Path) -> None:
    src = rotate_90(make_clip(media / "stills.mp4", 64, 36, seconds=1.0, audio_rate=None))
    cover = Image.open(io.BytesIO(cover_jpeg(src, 0.5, max_width=18)))
    assert cover.format == "JPEG" and cover.size == (18, 32)
    past_end = Image.open(io.BytesIO(cover_jpeg(src, 60.0)))
    assert past_end.size == (36, 64)
    frames = frames_at(src, width=18)
    assert [f.size for f in frames] == [(18, 32)] * 4
    assert frames[0].getpixel((15, 2))[0] > 200 and frames[0].getpixel((2, 2))[0] < 60
    assert frames[0].getpixel((2, 30)) != frames[3].getpixel((2, 30))  # later frames, not the first again


def test_video_tile_shows_four_frames_and_the_length_in_words(media: Path) -> None:
    frames = [Image.new("RGB", (32, 18), colour) for colour in (RED, (0, 255, 0), (0, 0, 255), (255, 255, 0))]
    tile = video_tile(frames, 65.2, 200)
    assert tile.size == (200, 200)
    assert tile.getpixel((50, 45)) == RED and tile.getpixel((150, 45))[1] > 200
    assert length_words(65.2) == "1 menit 5 detik"
    assert length_words(42) == "42 detik" and length_words(120) == "2 menit" and length_words(0.2) == \
        "kurang dari 1 detik"


def make_vfr(path: Path, gaps_ms: list[int]) -> Path:
    """A clip whose frames come at uneven moments (a phone's variable frame rate)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for index, gap in enumerate(gaps_ms):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), index * 20 % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            pts += gap
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path


def test_variable_frame_rate_becomes_constant(media: Path) -> None:
    src = make_vfr(media / "vfr.mp4", [20, 60, 15, 45, 33, 80, 10, 70, 40, 40] * 3)  # 1.26 s
    made = render_video(src, media / "vfr_out.mp4", free_spec(max_fps=30, min_fps=24))
    with av.open(made.path) as back:
        stamps = [frame.pts for frame in back.decode(video=0)]
        step = back.streams.video[0].time_base
    gaps = {round(float((b - a) * step), 4) for a, b in zip(stamps, stamps[1:])}
    assert gaps == {round(1 / made.fps, 4)}
    assert abs(made.duration - 1.26) <= 1 / made.fps + 1e-6


def test_undecodable_input_is_named_and_leaves_no_output(media: Path) -> None:
    whole = make_clip(media / "whole.mp4", seconds=0.2, audio_rate=None).read_bytes()
    cut = media / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 3])  # the moov atom is at the end: gone
    with pytest.raises(ValueError, match="cut.mp4 could not be transcoded") as refused:
        render_video(cut, media / "cut_out.mp4", free_spec())
    assert str(media) not in str(refused.value)
    assert not (media / "cut_out.mp4").exists()
