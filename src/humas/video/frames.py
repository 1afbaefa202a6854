"""Still frames from a video, for covers and the approver's preview: seek, decode the nearest frame, done.

Each grab seeks to the keyframe before the moment and decodes forward at most ``MAX_DECODE`` frames, so a
long keyframe interval costs bounded time and memory. Frames come out upright (the rotation is applied).
"""
from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import av
from PIL import Image

from humas.assets.colour import SRGB_ICC
from humas.assets.preview import frame_grid
from humas.timetext import duration_words

MAX_DECODE = 300           # frames decoded after a seek before the last one seen is taken
_TURNS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


def _picture(frame: av.VideoFrame, max_width: int) -> Image.Image:
    """``frame`` as an upright RGB picture at most ``max_width`` wide (never scaled up)."""
    turned = (frame.rotation % 180) != 0
    upright_w, upright_h = (frame.height, frame.width) if turned else (frame.width, frame.height)
    scale = min(1.0, max_width / upright_w)
    width, height = max(1, round(upright_w * scale)), max(1, round(upright_h * scale))
    picture = frame.to_image(width=height if turned else width, height=width if turned else height)
    turn = _TURNS.get(frame.rotation % 360)
    return picture.transpose(turn) if turn is not None else picture


def _duration(source: av.container.InputContainer) -> float:
    stream = source.streams.video[0]
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return source.duration / av.time_base if source.duration else 0.0


def _frame_near(source: av.container.InputContainer, seconds: float) -> av.VideoFrame | None:
    """The first frame at or after ``seconds`` (or the last one decoded within ``MAX_DECODE``)."""
    stream = source.streams.video[0]
    source.seek(int(max(0.0, seconds) / stream.time_base), stream=stream, backward=True)
    found = None
    for count, frame in enumerate(source.decode(stream)):
        found = frame
        if frame.time is None or frame.time >= seconds - 1e-3 or count >= MAX_DECODE:
            break
    return found


def cover_jpeg(src: str | Path, at_seconds: float, max_width: int = 1080) -> bytes:
    """A JPEG of the frame at ``at_seconds`` (the first frame when that is past the end), at most
    ``max_width`` wide."""
    with av.open(str(src)) as source:
        frame = _frame_near(source, at_seconds)
        if frame is None and at_seconds > 0:
            frame = _frame_near(source, 0)
    if frame is None:
        raise ValueError(f"cover_jpeg: {Path(src).name} has no video frame that can be decoded; export the "
                         "video again (H.264 MP4) and upload it again")
    buf = io.BytesIO()
    _picture(frame, max_width).save(buf, "JPEG", quality=88, icc_profile=SRGB_ICC)
    return buf.getvalue()


def frames_at(src: str | Path, fractions: tuple[float, ...] = (0, 0.25, 0.5, 0.75),
              width: int = 320) -> list[Image.Image]:
    """Upright pictures at these fractions of the video's length, each at most ``width`` wide; a moment
    that cannot be decoded repeats the picture before it."""
    pictures: list[Image.Image] = []
    with av.open(str(src)) as source:
        source.streams.video[0].thread_type = "AUTO"
        length = _duration(source)
        for fraction in fractions:
            frame = _frame_near(source, fraction * length)
            if frame is not None:
                pictures.append(_picture(frame, width))
            elif pictures:
                pictures.append(pictures[-1])
    return pictures


def length_words(seconds: float) -> str:
    """A clip's length as staff read it: ``45 detik``, ``1 menit 5 detik`` (minutes and up by
    ``duration_words``, which leaves seconds out; a clip's seconds matter)."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} detik" if whole else "kurang dari 1 detik"
    rest = whole % 60
    return duration_words(timedelta(seconds=whole)) + (f" {rest} detik" if rest else "")


def video_tile(frames: list[Image.Image], duration_seconds: float, tile: int) -> Image.Image:
    """The approver's preview tile of a video: up to four frames in a 2x2 grid and its length in words."""
    return frame_grid(frames, f"Video {length_words(duration_seconds)}", tile)
