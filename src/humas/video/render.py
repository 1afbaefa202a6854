"""Video renditions with PyAV: one pass, frame by frame, from the original to an MP4 a placement takes.

decode -> rotation applied -> crop or pad to the placement's aspect range -> scaled into the box (never up)
-> constant frame rate within the placement's range -> yuv420p -> H.264 High at the target bit rate (capped by
maxrate/bufsize so the size is predictable) + AAC-LC (<= the placement's sample rate, stereo at most) -> MP4 with
the moov at the front. Only a few frames are held at any time, so memory does not grow with the input.

An animated GIF becomes an MP4 the same way, played again until it lasts the placement's ``min_seconds``.
A silent original gets no audio track: every placement in platforms.yaml takes a video without sound
(Instagram Reels and stories, Facebook Page video and Reels, X), so no silent track is invented.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import av

from humas.video.frames import cover_jpeg, frames_at, video_tile

if TYPE_CHECKING:
    from humas.profiles import Placement

__all__ = ["VideoSpec", "RenderedVideo", "spec_for", "render_video", "cover_jpeg", "frames_at", "video_tile"]

FITS = ("pad", "crop")
DEFAULT_FPS = Fraction(30)
DEFAULT_AUDIO_RATE = 48000
PRESET = "veryfast"          # fits a 2-core worker; the benchmark compares the CLI at the same preset
MAXRATE, BUFSIZE = 1.5, 2.0  # VBV cap and buffer as multiples of the target bit rate: bounded size, steady quality
SIZE_MARGIN = 0.9            # a rendition aims at 90% of the placement's byte limit at most
GOP_SECONDS = 2              # a keyframe every 2 s: platforms cut and seek on them


@dataclass(frozen=True)
class VideoSpec:
    """What a rendition is made to (from a placement's ``video:`` limits, see ``spec_for``)."""

    box_width: int
    box_height: int
    bitrate: int
    audio_bitrate: int
    audio_rate: int
    min_fps: float | None
    max_fps: float | None
    min_aspect: float | None
    max_aspect: float | None
    fit: str
    min_seconds: float
    max_bytes: int | None = None   # the bit rate is lowered for a long video so the file stays under it


@dataclass(frozen=True)
class RenderedVideo:
    path: str
    sha256: str
    bytes: int
    width: int
    height: int
    duration: float
    fps: float
    content_type: str = "video/mp4"


def spec_for(placement: Placement, fit: str) -> VideoSpec:
    """The rendition spec for ``placement``; ``fit`` says how an aspect outside its range is fixed: 'pad' adds
    black bars, 'crop' cuts the middle out."""
    limits = placement.video
    if limits is None:
        raise ValueError(f"spec_for: {placement.channel} {placement.name} takes no video; "
                         "choose a placement with a video: block in include/platforms.yaml")
    if fit not in FITS:
        raise ValueError(f"spec_for: fit {fit!r} is unknown; use 'pad' or 'crop'")
    box_height = min(limits.target_height, limits.max_height or limits.target_height)
    return VideoSpec(
        box_width=min(limits.target_width, limits.max_width), box_height=box_height,
        bitrate=limits.target_bitrate, audio_bitrate=limits.target_audio_bitrate,
        audio_rate=limits.max_audio_rate or DEFAULT_AUDIO_RATE, min_fps=limits.min_fps, max_fps=limits.max_fps,
        min_aspect=limits.min_aspect, max_aspect=limits.max_aspect, fit=fit, min_seconds=limits.min_seconds,
        max_bytes=limits.max_bytes)


# --- geometry -------------------------------------------------------------------------------------------

def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def _target_aspect(aspect: float, spec: VideoSpec) -> float:
    low = spec.min_aspect if spec.min_aspect is not None else aspect
    high = spec.max_aspect if spec.max_aspect is not None else aspect
    return min(max(aspect, low), high)


def geometry_filters(width: int, height: int, spec: VideoSpec) -> tuple[list[tuple[str, str]], int, int]:
    """The crop/pad/scale filters that take a ``width`` x ``height`` picture (rotation applied) into the spec's
    aspect range and box, and the size they make (even sides, as yuv420p needs)."""
    aspect = width / height
    target = _target_aspect(aspect, spec)
    if spec.fit == "crop":
        crop_w, crop_h = (height * target, height) if target < aspect else (width, width / target)
        scale = min(1.0, spec.box_width / crop_w, spec.box_height / crop_h)
        out_w, out_h = _even(crop_w * scale), _even(crop_h * scale)
        crop = [] if target == aspect else [("crop", f"{_even(crop_w)}:{_even(crop_h)}")]
        return crop + [("scale", f"{out_w}:{out_h}")], out_w, out_h
    canvas_w, canvas_h = (height * target, height) if target > aspect else (width, width / target)
    scale = min(1.0, spec.box_width / canvas_w, spec.box_height / canvas_h)
    out_w, out_h = _even(canvas_w * scale), _even(canvas_h * scale)
    inner_w, inner_h = min(out_w, _even(width * scale)), min(out_h, _even(height * scale))
    pad = [] if (inner_w, inner_h) == (out_w, out_h) else [("pad", f"{out_w}:{out_h}:(ow-iw)/2:(oh-ih)/2:black")]
    return [("scale", f"{inner_w}:{inner_h}")] + pad, out_w, out_h


def rotation_filters(rotation: int) -> list[tuple[str, str]]:
    """Filters that turn a frame upright; ``rotation`` is the display matrix's angle (counter-clockwise, as
    PyAV's ``VideoFrame.rotation`` gives it), the same turn the ffmpeg command line applies."""
    clockwise = (-rotation) % 360
    return {90: [("transpose", "clock")], 180: [("hflip", ""), ("vflip", "")],
            270: [("transpose", "cclock")]}.get(clockwise, [])


def output_fps(stream: av.video.stream.VideoStream, spec: VideoSpec) -> Fraction:
    """The source's frame rate held within the spec's range (a GIF or an unknown rate: 30)."""
    rate = stream.average_rate or stream.guessed_rate
    rate = Fraction(rate).limit_denominator(1001) if rate else DEFAULT_FPS
    if rate > 120:
        rate = DEFAULT_FPS
    if spec.min_fps is not None and rate < spec.min_fps:
        rate = Fraction(math.ceil(spec.min_fps))
    if spec.max_fps is not None and rate > spec.max_fps:
        rate = Fraction(math.floor(spec.max_fps))
    return rate


# --- the pipeline -----------------------------------------------------------------------------------------

@dataclass
class _VideoOut:
    """The filter graph and encoder, made when the first frame says its size, format and rotation."""

    graph: av.filter.Graph
    stream: av.video.stream.VideoStream
    time_base: Fraction  # 1/fps, kept: PyAV makes a new Fraction on every read of the codec's
    frames: int = 0


def _build_video(frame: av.VideoFrame, src_stream, out: av.container.OutputContainer, spec: VideoSpec,
                 fps: Fraction, bitrate: int, options: dict[str, str], threads: int) -> _VideoOut:
    upright = (frame.height, frame.width) if (-frame.rotation) % 180 == 90 else (frame.width, frame.height)
    shape, width, height = geometry_filters(*upright, spec)
    graph = av.filter.Graph()
    chain = [graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                              time_base=src_stream.time_base)]
    for name, args in rotation_filters(frame.rotation) + shape + [
            ("setsar", "1"), ("fps", f"fps={fps}"), ("format", "yuv420p")]:
        chain.append(graph.add(name, args))
    chain.append(graph.add("buffersink"))
    graph.link_nodes(*chain).configure()
    stream = out.add_stream("libx264", rate=fps, options=options)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.bit_rate = bitrate
    stream.codec_context.gop_size = int(fps * GOP_SECONDS)
    stream.codec_context.time_base = 1 / fps
    stream.codec_context.thread_count = threads
    # PyAV makes every codec context slice-threaded, which turns x264 to sliced threads (2 slices a frame: slower
    # and a little less compression); frame threads as well is FFmpeg's default and what the command line uses
    stream.codec_context.thread_type = "AUTO"
    return _VideoOut(graph, stream, 1 / fps)


def _drain(graph: av.filter.Graph) -> Iterator[av.VideoFrame]:
    while True:
        try:
            yield graph.vpull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return


def _encode_video(vout: _VideoOut, out, frame: av.VideoFrame | None) -> None:
    vout.graph.vpush(frame)
    for shaped in _drain(vout.graph):
        shaped.pts, shaped.time_base = vout.frames, vout.time_base
        shaped.pict_type = av.video.frame.PictureType.NONE
        vout.frames += 1
        out.mux(vout.stream.encode(shaped))


@dataclass
class _AudioOut:
    stream: av.audio.stream.AudioStream
    resampler: av.AudioResampler
    time_base: Fraction  # 1/rate: a chunk's time stamp counts samples
    samples: int = 0


def _build_audio(src_stream, out, spec: VideoSpec, threads: int) -> _AudioOut:
    rate = min(src_stream.rate or spec.audio_rate, spec.audio_rate)
    layout = "mono" if src_stream.channels == 1 else "stereo"
    stream = out.add_stream("aac", rate=rate, layout=layout)
    stream.bit_rate = spec.audio_bitrate
    stream.codec_context.thread_count = threads
    return _AudioOut(stream, av.AudioResampler(format="fltp", layout=layout, rate=rate, frame_size=1024),
                     Fraction(1, rate))


def _encode_audio(aout: _AudioOut, out, frame: av.AudioFrame | None) -> None:
    for chunk in aout.resampler.resample(frame):
        chunk.pts, chunk.time_base = aout.samples, aout.time_base
        aout.samples += chunk.samples
        out.mux(aout.stream.encode(chunk))


def _bitrate_for(spec: VideoSpec, seconds: float | None) -> int:
    """The target bit rate, lowered when the spec's byte limit would be passed at ``maxrate``."""
    if not spec.max_bytes or not seconds:
        return spec.bitrate
    budget = spec.max_bytes * 8 * SIZE_MARGIN / seconds - spec.audio_bitrate
    return max(100_000, min(spec.bitrate, int(budget / MAXRATE)))


def _x264_options(bitrate: int, preset: str) -> dict[str, str]:
    return {"preset": preset, "profile": "high", "maxrate": str(int(bitrate * MAXRATE)),
            "bufsize": str(int(bitrate * BUFSIZE))}


def render_video(src: str | Path, dst: str | Path, spec: VideoSpec, *, preset: str = PRESET,
                 threads: int = 0) -> RenderedVideo:
    """Transcode ``src`` into the MP4 ``dst`` made to ``spec`` (see the module docstring); ``threads`` 0 lets
    the codecs choose. A file that cannot be decoded raises ValueError naming it, and leaves no ``dst``."""
    try:
        with av.open(str(src)) as source:
            state = _start(source, Path(src).name, spec, preset, threads)
            with av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
                state.out = out
                state.run(source, _first_frame(src), loop=source.format.name == "gif")
    except av.error.FFmpegError as exc:  # its text names the server path: only its reason is passed on
        Path(dst).unlink(missing_ok=True)
        raise ValueError(f"render_video: {Path(src).name} could not be transcoded ({exc.strerror}); export the "
                         "video again (H.264 MP4) and upload it again") from exc
    except ValueError:
        Path(dst).unlink(missing_ok=True)
        raise
    return _describe(Path(dst), state)


def _start(source: av.container.InputContainer, name: str, spec: VideoSpec, preset: str,
           threads: int) -> _Render:
    if not source.streams.video:
        raise ValueError(f"render_video: {name} has no video stream; give a video file (MP4, MOV or an "
                         "animated GIF)")
    seconds = source.duration / av.time_base if source.duration else None
    if seconds and source.format.name == "gif":
        seconds = max(seconds, spec.min_seconds)
    bitrate = _bitrate_for(spec, seconds)
    return _Render(spec, bitrate, _x264_options(bitrate, preset), threads)


def _first_frame(src: str | Path) -> av.VideoFrame:
    """The first video frame: its size, pixel format and rotation shape the filter graph."""
    with av.open(str(src)) as source:
        for frame in source.decode(video=0):
            return frame
    raise ValueError(f"render_video: {Path(src).name} has no video frame that can be decoded; export the video "
                     "again (H.264 MP4) and upload it again")


class _Render:
    """One rendition in progress: decodes, shapes and encodes frame by frame."""

    def __init__(self, spec: VideoSpec, bitrate: int, options: dict[str, str], threads: int) -> None:
        self.spec, self.bitrate, self.options, self.threads = spec, bitrate, options, threads
        self.out: av.container.OutputContainer | None = None
        self.video: _VideoOut | None = None
        self.audio: _AudioOut | None = None
        self.fps = DEFAULT_FPS

    def run(self, source: av.container.InputContainer, first: av.VideoFrame, loop: bool) -> None:
        """Every stream is added to the output before the first packet is written (the MP4 header needs them)."""
        vstream = source.streams.video[0]
        vstream.thread_type = "AUTO"  # frame threads, set before this container's first decode opens the decoder
        vstream.codec_context.thread_count = self.threads
        self.fps = output_fps(vstream, self.spec)
        self.video = _build_video(first, vstream, self.out, self.spec, self.fps, self.bitrate, self.options,
                                  self.threads)
        astream = source.streams.audio[0] if source.streams.audio and not loop else None
        if astream is not None:
            self.audio = _build_audio(astream, self.out, self.spec, self.threads)
        offset, first_pts = 0, None
        while True:
            end = offset
            for frame in self._frames(source, vstream, astream):
                if isinstance(frame, av.AudioFrame):
                    _encode_audio(self.audio, self.out, frame)
                    continue
                if frame.pts is None:  # a frame without a time stamp follows the one before it
                    frame.pts = end - offset + (first_pts or 0)
                first_pts = frame.pts if first_pts is None else first_pts
                frame.pts = frame.pts - first_pts + offset
                end = frame.pts + (frame.duration or 1)
                _encode_video(self.video, self.out, frame)
            if not loop or end == offset or float(end * vstream.time_base) >= self.spec.min_seconds:
                break
            offset = end
            source.seek(0, stream=vstream)
        self._flush()

    @staticmethod
    def _frames(source, vstream, astream) -> Iterator[av.VideoFrame | av.AudioFrame]:
        streams = [s for s in (vstream, astream) if s is not None]
        for packet in source.demux(streams):
            yield from packet.decode()

    def _flush(self) -> None:
        _encode_video(self.video, self.out, None)
        self.out.mux(self.video.stream.encode(None))
        if self.audio is not None:
            _encode_audio(self.audio, self.out, None)
            self.out.mux(self.audio.stream.encode(None))


def _describe(path: Path, state: _Render) -> RenderedVideo:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    stream = state.video.stream
    return RenderedVideo(path=str(path), sha256=digest.hexdigest(), bytes=path.stat().st_size, width=stream.width,
                         height=stream.height, duration=float(state.video.frames / state.fps),
                         fps=float(state.fps))
