"""What a video file is, read from its headers with bounded work; hostile files refused before FFmpeg decodes.

Order (each step refuses with a stable code, docs/asset-checks.md "Video"):
1. length (VIDEO_EMPTY, VIDEO_INPUT_TOO_LARGE) and the first bytes (VIDEO_NOT_VIDEO: a zip or JPEG named .mp4);
2. our own walk of the MP4/MOV boxes (humas.video.boxes): a box past the end of the file or no index is
   VIDEO_TRUNCATED, an index over the cap VIDEO_HEADER_TOO_LARGE, a declared 20,000 px or 10 hours
   VIDEO_DIMENSIONS_REFUSED / VIDEO_DURATION_REFUSED, no video track VIDEO_NO_VIDEO_STREAM;
3. PyAV (FFmpeg's libraries) with the demuxer named (no format guessing), probing capped by probesize,
   analyzeduration, max_probe_packets and a timeout; then the timestamps of at most `probe_packets` video
   packets (read, never decoded) give the frame rate and whether it varies. Any FFmpeg error is VIDEO_CORRUPT.

An animated GIF is a video too (`is_video`): it is published as MP4, except on a placement with
`max_gif_bytes` (X's post_image), which takes the GIF itself (humas.video.checks.gif_kept).
"""
from __future__ import annotations

import os
import statistics
import struct
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from pathlib import Path

import av

from humas.assets.codes import Text, finding, seconds_text, size_text
from humas.assets.model import Finding
from humas.assets.probe import AssetRefused, signature_format
from humas.assets.sniff import VIDEO_EXTENSIONS, describe_unreadable, extension, iso_media, sniff
from humas.video.boxes import QUICKTIME_TOP, BoxError, Movie, read_movie

_SUGGESTED = {"MP4": ".mp4", "MOV": ".mov", "GIF": ".gif"}
_NAMES = {"MP4": Text("video MP4", "an MP4 video"), "MOV": Text("video MOV (QuickTime)", "a MOV (QuickTime) video"),
          "GIF": Text("animasi GIF", "an animated GIF")}
_OTHER_VIDEO = Text("video dalam format lain (misalnya WebM, MKV atau AVI)",
                    "a video in another format (e.g. WebM, MKV or AVI)")


@dataclass(frozen=True)
class VideoSafety:
    """Caps that keep probing a hostile file fast and small; not platform limits (those are in platforms.yaml)."""

    max_bytes: int = 16 * 1024 ** 3
    """Bigger inputs are refused unopened (Facebook Page video, the largest placement, takes 10 GB)."""
    max_gif_bytes: int = 64 * 1024 ** 2
    """An animated GIF is read whole by the demuxer; the image intake limit applies."""
    max_side: int = 8192
    """Declared width or height above this (8K is 7680x4320) is refused from the header."""
    max_seconds: float = 5 * 3600
    """A declared duration above this (the longest placement, Facebook Page video, takes 4 hours) is refused."""
    max_index_bytes: int = 64 * 1024 ** 2
    """The moov box is read whole; a 4-hour 60 fps file's index is about 15 MB."""
    max_top_boxes: int = 10_000
    """Top-level boxes walked (a fragmented MP4 has one moof+mdat pair per fragment)."""
    probe_packets: int = 120
    """Video packets whose timestamps give the frame rate and whether it varies (4 s at 30 fps)."""
    max_gif_frames: int = 20_000
    max_fps: int = 240
    """With max_seconds, caps the frames a video track may declare (FFmpeg indexes every one of them)."""
    probesize: int = 2 * 1024 ** 2
    analyzeduration_us: int = 2_000_000
    timeout_seconds: float = 10.0

    def av_options(self) -> dict[str, str]:
        return {"probesize": str(self.probesize), "analyzeduration": str(self.analyzeduration_us),
                "max_probe_packets": "60", "fpsprobesize": "0", "threads": "1"}


DEFAULT_SAFETY = VideoSafety()
HEAD_BYTES = 64 * 1024   # what is_video/media_kind need of a file's start


@dataclass(frozen=True)
class VideoInfo:
    """One video as read from its headers. width x height is as displayed (rotation applied); rotation is the
    clockwise turn (0/90/180/270) the player applies to the stored picture; fps is the median frame interval's."""

    name: str
    container: str            # 'MP4' | 'MOV' | 'GIF'
    video_codec: str          # FFmpeg's name: h264, hevc, gif, ...
    video_profile: str | None  # FFmpeg's profile name: High, Main, ...
    width: int
    height: int
    rotation: int
    fps: float
    vfr: bool
    duration: float           # seconds
    bit_rate: int             # bit/s, the whole file
    bytes: int
    audio_codec: str | None
    audio_profile: str | None
    audio_rate: int | None
    audio_channels: int | None
    faststart: bool           # the index (moov) is before the media data
    is_gif: bool = False

    @property
    def aspect(self) -> float:
        return self.width / self.height


def _refuse(code: str, name: str, **params: object) -> AssetRefused:
    return AssetRefused(finding(code, asset=name, **params))


# --- what the first bytes say ------------------------------------------------------------------------

def gif_frames(head: bytes, enough: int = 2) -> tuple[int, bool]:
    """(image frames seen in `head`, up to `enough`; whether it has a looping NETSCAPE2.0 block) of a GIF."""
    if len(head) < 13 or head[:6] not in (b"GIF87a", b"GIF89a"):
        return 0, False
    flags = head[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames, loops = 0, False
    while position < len(head) and frames < enough:
        block = head[position]
        if block == 0x2C:                                        # image descriptor
            frames += 1
            if position + 10 > len(head):
                break
            local = head[position + 9]
            position += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0) + 1   # + LZW minimum code size
        elif block == 0x21 and position + 2 <= len(head):        # extension: label, then sub-blocks
            loops = loops or head[position + 3:position + 14] == b"NETSCAPE2.0"
            position += 2
        else:
            break
        while position < len(head) and head[position]:           # skip data sub-blocks
            position += head[position] + 1
        position += 1
    return frames, loops


def container_of(head: bytes) -> str | None:
    """'MP4', 'MOV' or 'GIF' (animated only) from a file's first bytes; None for anything else."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        frames, loops = gif_frames(head)
        return "GIF" if frames >= 2 or loops else None
    if head[4:8] == b"ftyp":
        if iso_media(head) != "video":
            return None                                          # HEIC/AVIF photos
        return "MOV" if head[8:12] == b"qt  " else "MP4"
    declared = int.from_bytes(head[:4], "big")
    if len(head) >= 8 and head[4:8] in QUICKTIME_TOP and (declared in (0, 1) or declared >= 8):
        return "MOV"                                             # an old QuickTime file: no ftyp
    return None


def is_video(name: str, head: bytes) -> bool:
    """True when `head`, the first HEAD_BYTES of the file, is an MP4/MOV or an animated GIF, whatever the name says.

    A still GIF is an image. An animated GIF goes the video way: MP4 renditions, except where the placement
    takes GIFs as such (``max_gif_bytes``: X's post_image). A GIF's animation block comes after its colour table
    (up to 781 bytes in) and its second frame after the first: 64 bytes cannot tell, so pass HEAD_BYTES."""
    return container_of(head) is not None


def media_kind(name: str, head: bytes) -> str:
    """'video', 'gif' (an animated GIF) or 'image', from `head` (the first HEAD_BYTES of the file)."""
    container = container_of(head)
    return "image" if container is None else "gif" if container == "GIF" else "video"


def _kind_text(head: bytes, name: str) -> Text:
    kind = sniff(head, name)
    if kind is not None:
        return _OTHER_VIDEO if kind.key == "video" else kind.label
    fmt = signature_format(head)
    if fmt == "GIF":
        return Text("gambar GIF diam (tanpa animasi)", "a still GIF image")
    if fmt is not None:
        return Text(f"gambar {fmt}", f"a {fmt} image")
    return describe_unreadable(head).label


# --- MP4/MOV ---------------------------------------------------------------------------------------

def _movie(name: str, path: str | Path, size: int, safety: VideoSafety) -> Movie:
    try:
        with open(path, "rb") as fh:
            movie = read_movie(fh, size, safety.max_index_bytes, safety.max_top_boxes)
    except BoxError as exc:
        raise _refuse("VIDEO_TRUNCATED" if exc.truncated else "VIDEO_CORRUPT", name, detail=str(exc)) from exc
    except (struct.error, IndexError) as exc:
        raise _refuse("VIDEO_CORRUPT", name, detail=f"{type(exc).__name__}: {exc}"[:200]) from exc
    if movie.moov is None:
        raise _refuse("VIDEO_TRUNCATED", name, detail="no index (moov box): the recording or copy did not finish")
    if movie.moov.size > safety.max_index_bytes:
        raise _refuse("VIDEO_HEADER_TOO_LARGE", name, size=size_text(movie.moov.size),
                      limit=size_text(safety.max_index_bytes))
    return movie


def _screen(name: str, movie: Movie, safety: VideoSafety) -> None:
    """Refuse from what the index declares: no video track, too many pixels, too long."""
    videos = [t for t in movie.tracks if t.handler == b"vide"]
    if not videos:
        sound = any(t.handler == b"soun" for t in movie.tracks)
        raise _refuse("VIDEO_NO_VIDEO_STREAM", name,
                      streams=Text("suara", "sound") if sound else Text("data lain", "other data"))
    for track in videos:
        width = max(round(track.width), track.coded_width)
        height = max(round(track.height), track.coded_height)
        if max(width, height) > safety.max_side:
            raise _refuse("VIDEO_DIMENSIONS_REFUSED", name, width=width, height=height, limit=safety.max_side)
        if track.samples > safety.max_seconds * safety.max_fps:
            raise _refuse("VIDEO_CORRUPT", name, detail=f"the video track declares {track.samples} frames")
    seconds = max([movie.seconds] + [t.seconds for t in movie.tracks])
    if seconds > safety.max_seconds:
        raise _refuse("VIDEO_DURATION_REFUSED", name, duration=seconds_text(seconds),
                      limit=seconds_text(safety.max_seconds))


def _rate(dts: list[int], time_base: Fraction | None) -> tuple[float | None, bool]:
    """(fps from the median interval, variable) from packet decode timestamps in stream order."""
    deltas = [b - a for a, b in zip(dts, dts[1:]) if b > a]
    if not deltas or not time_base:
        return None, False
    middle = statistics.median(deltas)
    vfr = any(abs(d - middle) > max(1, 0.1 * middle) for d in deltas)
    return float(1 / (middle * time_base)), vfr


def _open(path: str | Path, fmt: str, safety: VideoSafety):
    return av.open(str(path), format=fmt, options=safety.av_options(), timeout=safety.timeout_seconds)


def _av_facts(name: str, path: str | Path, fmt: str, safety: VideoSafety, packets: int) -> dict:
    with _open(path, fmt, safety) as container:
        video = next((s for s in container.streams if s.type == "video"), None)
        if video is None:
            raise _refuse("VIDEO_NO_VIDEO_STREAM", name, streams=Text("data lain", "other data"))
        audio = next((s for s in container.streams if s.type == "audio"), None)
        stamps = [(p.dts, p.duration) for p in islice(container.demux(video), packets) if p.dts is not None]
        context = video.codec_context
        seconds = (container.duration / 1_000_000 if container.duration
                   else float((video.duration or 0) * (video.time_base or 0)))
        fps, vfr = _rate([d for d, _ in stamps], video.time_base)
        sar = context.sample_aspect_ratio
        return {
            "codec": context.name, "profile": video.profile,
            "width": round(context.width * sar) if sar and sar > 0 else context.width, "height": context.height,
            "fps": fps or float(video.average_rate or video.guessed_rate or 0), "vfr": vfr,
            "seconds": seconds, "bit_rate": container.bit_rate or 0, "stamps": stamps,
            "time_base": video.time_base,
            "audio": None if audio is None else (audio.codec_context.name, audio.profile,
                                                 audio.codec_context.sample_rate, audio.codec_context.channels),
        }


def _read(name: str, path: str | Path, fmt: str, safety: VideoSafety, packets: int) -> dict:
    """PyAV's view of the file; any FFmpeg/PyAV failure on hostile bytes becomes VIDEO_CORRUPT."""
    try:
        facts = _av_facts(name, path, fmt, safety, packets)
    except AssetRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - FFmpeg raises many kinds of error on hostile bytes
        raise _refuse("VIDEO_CORRUPT", name, detail=f"{type(exc).__name__}: {exc}"[:200]) from exc
    if facts["width"] <= 0 or facts["height"] <= 0:
        raise _refuse("VIDEO_CORRUPT", name, detail="the video stream has no picture size")
    if max(facts["width"], facts["height"]) > safety.max_side:
        raise _refuse("VIDEO_DIMENSIONS_REFUSED", name, width=facts["width"], height=facts["height"],
                      limit=safety.max_side)
    if facts["seconds"] > safety.max_seconds:
        raise _refuse("VIDEO_DURATION_REFUSED", name, duration=seconds_text(facts["seconds"]),
                      limit=seconds_text(safety.max_seconds))
    return facts


def _info(name: str, container: str, facts: dict, size: int, rotation: int, faststart: bool,
          is_gif: bool = False) -> VideoInfo:
    width, height = facts["width"], facts["height"]
    if rotation in (90, 270):
        width, height = height, width
    audio = facts["audio"] or (None, None, None, None)
    seconds = facts["seconds"]
    bit_rate = facts["bit_rate"] or (round(size * 8 / seconds) if seconds else 0)
    return VideoInfo(
        name=name, container=container, video_codec=facts["codec"], video_profile=facts["profile"],
        width=width, height=height, rotation=rotation, fps=round(facts["fps"], 3), vfr=facts["vfr"],
        duration=seconds, bit_rate=bit_rate, bytes=size, audio_codec=audio[0], audio_profile=audio[1],
        audio_rate=audio[2], audio_channels=audio[3], faststart=faststart, is_gif=is_gif)


def _probe_movie(name: str, path: str | Path, container: str, size: int, safety: VideoSafety) -> VideoInfo:
    movie = _movie(name, path, size, safety)
    _screen(name, movie, safety)
    if movie.brand == b"qt  " or not movie.brand:
        container = "MOV"
    facts = _read(name, path, "mov", safety, safety.probe_packets)
    rotation = next((t.rotation for t in movie.tracks if t.handler == b"vide"), 0)
    return _info(name, container, facts, size, rotation, movie.faststart)


# --- animated GIF ------------------------------------------------------------------------------------

def _probe_gif(name: str, path: str | Path, head: bytes, size: int, safety: VideoSafety) -> VideoInfo:
    if size > safety.max_gif_bytes:
        raise _refuse("VIDEO_INPUT_TOO_LARGE", name, size=size_text(size), limit=size_text(safety.max_gif_bytes))
    width, height = struct.unpack("<HH", head[6:10])
    if max(width, height) > safety.max_side:
        raise _refuse("VIDEO_DIMENSIONS_REFUSED", name, width=width, height=height, limit=safety.max_side)
    facts = _read(name, path, "gif", safety, safety.max_gif_frames)
    stamps, time_base = facts["stamps"], facts["time_base"]
    if stamps and time_base:   # a GIF's length is the sum of its frame delays (the demuxer does not say)
        last_dts, last_duration = stamps[-1]
        facts["seconds"] = float((last_dts - stamps[0][0] + (last_duration or 0)) * time_base)
        durations = {d for _, d in stamps[:-1]}
        facts["vfr"] = len(durations) > 1
        facts["fps"] = len(stamps) / facts["seconds"] if facts["seconds"] else facts["fps"]
    return _info(name, "GIF", facts, size, 0, True, is_gif=True)


# --- the entry point ---------------------------------------------------------------------------------

def _extension_claim(name: str) -> str | None:
    return VIDEO_EXTENSIONS.get(extension(name))


def probe_video(name: str, path: str | Path, safety: VideoSafety = DEFAULT_SAFETY) -> VideoInfo:
    """Read `path` (the file `name` as staff named it); raise AssetRefused(finding) for a hostile or unreadable
    file. Bounded: box headers, an index under `max_index_bytes`, FFmpeg's capped probe and `probe_packets`."""
    size = os.path.getsize(path)
    if size == 0:
        raise _refuse("VIDEO_EMPTY", name)
    if size > safety.max_bytes:
        raise _refuse("VIDEO_INPUT_TOO_LARGE", name, size=size_text(size), limit=size_text(safety.max_bytes))
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    container = container_of(head)
    if container is None:
        raise _refuse("VIDEO_NOT_VIDEO", name, kind=_kind_text(head, name))
    if container == "GIF":
        return _probe_gif(name, path, head, size, safety)
    return _probe_movie(name, path, container, size, safety)


def extension_finding(name: str, info: VideoInfo) -> Finding | None:
    """A warning when the name promises another kind of file than the bytes hold (a MOV named .mp4, an MP4
    named .jpg); MP4 and MOV are both taken, so this never blocks."""
    ext = extension(name)
    claimed = _extension_claim(name)
    if claimed == info.container:
        return None
    return finding("VIDEO_EXTENSION_MISMATCH", asset=name, real=_NAMES[info.container], ext=ext or "(tanpa ekstensi)",
                   suggested=_SUGGESTED[info.container])
